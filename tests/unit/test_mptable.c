/* The MP 1.4 floating pointer and configuration table, decoded from guest
 * memory at the spec's offsets (MP spec 1.4, chapter 4). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/mptable.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define EBDA 0x9fc00ULL

static uint8_t mp_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void check_tables(const struct boot_fixture *f, uint32_t n)
{
	const uint8_t *fps = fix_at(f, EBDA), *t, *e;
	uint16_t len, count;
	unsigned cpus = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0;

	assert_memory_equal(fps, "_MP_", 4);
	assert_int_equal(fix_le32(fps + 4), EBDA + 16);
	assert_int_equal(fps[8], 1);
	assert_int_equal(fps[9], 4);
	assert_int_equal(mp_sum(fps, 16), 0);
	for (int i = 11; i < 16; i++)
		assert_int_equal(fps[i], 0); /* config table present; no IMCR */

	t = fix_at(f, EBDA + 16);
	assert_memory_equal(t, "PCMP", 4);
	len = fix_le16(t + 4);
	assert_int_equal(len, 44 + 20 * n + 8 + 8 + 8 * 24 + 8 * 2);
	assert_true(EBDA + 16 + len <= 0xa0000);
	assert_int_equal(t[6], 4);
	assert_int_equal(mp_sum(t, len), 0);
	assert_memory_equal(t + 8, "EMBER   ", 8);
	assert_memory_equal(t + 16, "MICROVM     ", 12);
	assert_int_equal(fix_le32(t + 28), 0);  /* no OEM table */
	assert_int_equal(fix_le16(t + 32), 0);
	count = fix_le16(t + 34);
	assert_int_equal(fix_le32(t + 36), 0xfee00000);
	assert_int_equal(fix_le16(t + 40), 0);  /* no extended table */
	assert_int_equal(t[42], 0);

	e = t + 44;
	for (unsigned i = 0; i < count; i++) {
		assert_true(e < t + len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);               /* APIC id */
			assert_int_equal(e[2], 0x14);
			assert_int_equal(e[3], cpus == 0 ? 3 : 1);  /* enabled, BSP */
			assert_int_equal(fix_le32(e + 4), 0x600);
			assert_int_equal(fix_le32(e + 8), 0x201);
			assert_int_equal(fix_le64(e + 12), 0);
			cpus++;
			e += 20;
			break;
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2:
			assert_int_equal(e[1], n);                 /* IOAPIC id past the APIC ids */
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3], 1);
			assert_int_equal(fix_le32(e + 4), 0xfec00000);
			ioapics++;
			e += 8;
			break;
		case 3:
			assert_int_equal(e[1], 0);                 /* INT */
			assert_int_equal(fix_le16(e + 2), 0);      /* conforms to ISA */
			assert_int_equal(e[4], 0);
			assert_int_equal(e[5], ioints);            /* IRQ n -> pin n, IRQ 0 too */
			assert_int_equal(e[6], n);
			assert_int_equal(e[7], ioints);
			ioints++;
			e += 8;
			break;
		case 4:
			assert_int_equal(e[1], lints == 0 ? 3 : 1); /* ExtINT, then NMI */
			assert_int_equal(fix_le16(e + 2), 0);
			assert_int_equal(e[4], 0);
			assert_int_equal(e[5], 0);
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], lints);             /* LINT0, LINT1 */
			lints++;
			e += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, t + len);
	assert_int_equal(cpus, n);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ioints, 24);
	assert_int_equal(lints, 2);
}

static void test_vcpu_counts(void **state)
{
	static const uint32_t counts[] = { 1, 2, 5, 32 };

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct boot_fixture f;

		boot_fixture_init(&f, 2 * FIX_MiB, 0);
		assert_int_equal(mptable_write(&f.mem, counts[i]), 0);
		check_tables(&f, counts[i]);
		boot_fixture_free(&f);
	}
}

static void test_bad_vcpu_counts(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	err_clear();
	assert_int_equal(mptable_write(&f.mem, 0), -EINVAL);
	assert_non_null(strstr(err_last(), "0 vCPUs"));
	assert_int_equal(mptable_write(&f.mem, 33), -EINVAL);
	assert_int_equal(mptable_write(&f.mem, UINT32_MAX), -EINVAL);
	assert_int_equal(fix_le32(fix_at(&f, EBDA)), 0);
	boot_fixture_free(&f);
}

static void test_memory_without_ebda(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, EBDA + 0x100, 0); /* ends inside the tables */
	err_clear();
	assert_int_equal(mptable_write(&f.mem, 1), -EFAULT);
	assert_non_null(strstr(err_last(), "MP table"));
	assert_int_equal(f.low[EBDA], 0);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_counts),
		cmocka_unit_test(test_bad_vcpu_counts),
		cmocka_unit_test(test_memory_without_ebda),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
