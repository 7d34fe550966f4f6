#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/gdt.h"
#include "boot_fixture.h"

/* Descriptor bytes as the CPU reads them (Intel SDM vol. 3, 3.4.5): limit
 * 15:0, base 23:0, access byte, G/DB/L/AVL + limit 19:16, base 31:24. */
static const uint8_t code64[8] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xaf, 0x00 };
static const uint8_t code32[8] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00 };
static const uint8_t data32[8] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00 };
static const uint8_t tss[8] = { 0x67, 0x00, 0x00, 0x00, 0x00, 0x8b, 0x00, 0x00 };

static void test_entry_packing(void **state)
{
	uint8_t b[8];

	(void)state;
	fix_put64(b, gdt_entry(0xa09b, 0, 0xfffff));
	assert_memory_equal(b, code64, 8);
	/* Every base and limit bit lands in its split field. */
	fix_put64(b, gdt_entry(0x4092, 0x12345678, 0xabcde));
	assert_int_equal(b[0], 0xde);
	assert_int_equal(b[1], 0xbc);
	assert_int_equal(b[2], 0x78);
	assert_int_equal(b[3], 0x56);
	assert_int_equal(b[4], 0x34);
	assert_int_equal(b[5], 0x92);
	assert_int_equal(b[6], 0x4a);
	assert_int_equal(b[7], 0x12);
}

static void test_write_long_mode(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + 0x4f8, 0xaa, 0x40);
	assert_int_equal(gdt_write(&f.mem, BOOT_ENTRY_LINUX64), 0);
	assert_int_equal(fix_le64(fix_at(&f, 0x500)), 0);
	assert_memory_equal(fix_at(&f, 0x508), code64, 8);
	assert_memory_equal(fix_at(&f, 0x510), data32, 8);
	assert_memory_equal(fix_at(&f, 0x518), tss, 8);
	assert_int_equal(fix_le64(fix_at(&f, 0x520)), 0); /* the empty IDT */
	/* Nothing outside the two tables is touched. */
	assert_int_equal(fix_le64(fix_at(&f, 0x4f8)), 0xaaaaaaaaaaaaaaaaULL);
	assert_int_equal(fix_le64(fix_at(&f, 0x528)), 0xaaaaaaaaaaaaaaaaULL);
	boot_fixture_free(&f);
}

static void test_write_pvh(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	assert_int_equal(gdt_write(&f.mem, BOOT_ENTRY_PVH), 0);
	assert_memory_equal(fix_at(&f, 0x508), code32, 8);
	assert_memory_equal(fix_at(&f, 0x510), data32, 8);
	assert_memory_equal(fix_at(&f, 0x518), tss, 8);
	boot_fixture_free(&f);
}

static void test_write_outside_memory(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 0x510, 0);
	assert_int_equal(gdt_write(&f.mem, BOOT_ENTRY_LINUX64), -EFAULT);
	boot_fixture_free(&f);
	boot_fixture_init(&f, 0x524, 0); /* GDT fits, the IDT does not */
	assert_int_equal(gdt_write(&f.mem, BOOT_ENTRY_LINUX64), -EFAULT);
	boot_fixture_free(&f);
}

static void test_segment_decode(void **state)
{
	uint64_t t[GDT_ENTRIES];
	struct kvm_segment s;

	(void)state;
	gdt_table(BOOT_ENTRY_LINUX64, t);
	gdt_segment(t[1], 1, &s);
	assert_int_equal(s.base, 0);
	assert_int_equal(s.limit, 0xffffffff);
	assert_int_equal(s.selector, 0x08);
	assert_int_equal(s.type, 0xb);
	assert_int_equal(s.present, 1);
	assert_int_equal(s.dpl, 0);
	assert_int_equal(s.db, 0);
	assert_int_equal(s.s, 1);
	assert_int_equal(s.l, 1);
	assert_int_equal(s.g, 1);
	assert_int_equal(s.unusable, 0);
	gdt_segment(t[2], 2, &s);
	assert_int_equal(s.selector, 0x10);
	assert_int_equal(s.type, 0x3);
	assert_int_equal(s.db, 1);
	assert_int_equal(s.l, 0);
	gdt_segment(t[3], 3, &s);
	assert_int_equal(s.selector, 0x18);
	assert_int_equal(s.type, 0xb);
	assert_int_equal(s.s, 0);
	assert_int_equal(s.g, 0);
	assert_int_equal(s.limit, 0x67);
	gdt_segment(t[0], 0, &s);
	assert_int_equal(s.present, 0);
	assert_int_equal(s.unusable, 1);
	gdt_table(BOOT_ENTRY_PVH, t);
	gdt_segment(t[1], 1, &s);
	assert_int_equal(s.l, 0);
	assert_int_equal(s.db, 1);
	assert_int_equal(s.limit, 0xffffffff);
	/* Non-zero base and a byte-granular limit decode back exactly. */
	gdt_segment(gdt_entry(0xe0f3, 0xfedcba98, 0x12345), 2, &s);
	assert_int_equal(s.base, 0xfedcba98);
	assert_int_equal(s.limit, 0x12345fff);
	assert_int_equal(s.dpl, 3);
	assert_int_equal(s.avl, 0);
	assert_int_equal(s.l, 1);
	gdt_segment(gdt_entry(0x1093, 0, 0x12345), 2, &s);
	assert_int_equal(s.limit, 0x12345);
	assert_int_equal(s.avl, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_packing),
		cmocka_unit_test(test_write_long_mode),
		cmocka_unit_test(test_write_pvh),
		cmocka_unit_test(test_write_outside_memory),
		cmocka_unit_test(test_segment_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
