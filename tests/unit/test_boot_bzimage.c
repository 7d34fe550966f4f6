#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot/bzimage.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define MiB FIX_MiB
#define IMG_CAP 0x40000

static uint8_t img[IMG_CAP];
static uint8_t zp[4096];

static int setup(void **state)
{
	static struct boot_fixture f;

	boot_fixture_init(&f, 64 * MiB, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	boot_fixture_free(*state);
	return 0;
}

static int load(struct boot_fixture *f, size_t len, struct boot_image *bi)
{
	memset(bi, 0, sizeof(*bi));
	memset(zp, 0xee, sizeof(zp));
	return bzimage_load(&f->mem, img, len, zp, bi);
}

static void test_probe(void **state)
{
	size_t len = fix_bzimage(img, IMG_CAP, 8, 0x1000);

	(void)state;
	assert_true(bzimage_probe(img, len));
	assert_true(bzimage_probe(img, 0x206));
	assert_false(bzimage_probe(img, 0x205));
	img[0x205] = 'T';
	assert_false(bzimage_probe(img, len));
}

static void test_valid_load(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 8, 0x2000);
	struct boot_image bi;

	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	assert_int_equal(bi.entry, 16 * MiB + 0x200);
	assert_int_equal(bi.kernel_end, 16 * MiB + 0x2000 + 0x10000); /* init_size */
	assert_int_equal(bi.cmdline_max, 2047);
	assert_int_equal(bi.initrd_limit, 64 * MiB); /* below initrd_addr_max */
	assert_false(bi.pvh);
	/* The protected-mode payload starts after (8 + 1) * 512 setup bytes. */
	assert_memory_equal(f->low + 16 * MiB, img + 9 * 512, 0x2000);
	assert_int_equal(f->low[16 * MiB - 1], 0);
	/* The zero page holds the setup header [0x1f1, 0x202 + img[0x201]) and
	 * nothing else. */
	for (size_t i = 0; i < 0x1f1; i++)
		assert_int_equal(zp[i], 0);
	assert_memory_equal(zp + 0x1f1, img + 0x1f1, 0x26c - 0x1f1);
	for (size_t i = 0x26c; i < sizeof(zp); i++)
		assert_int_equal(zp[i], 0);
	assert_int_equal(fix_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
}

static void test_setup_sects_zero_means_four(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 0, 0x1000);
	struct boot_image bi;

	assert_int_equal(len, 5 * 512 + 0x1000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_memory_equal(f->low + 16 * MiB, img + 5 * 512, 0x1000);
	assert_int_equal(f->low[16 * MiB], fix_pattern(0));
}

static void test_load_address(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);
	struct boot_image bi;

	/* Relocatable: pref_address rounded up to kernel_alignment. */
	fix_put64(img + 0x258, 0x1100000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 0x1200000);
	assert_int_equal(bi.entry, 0x1200200);
	assert_memory_equal(f->low + 0x1200000, img + 5 * 512, 0x1000);
	fix_put32(img + 0x230, 0x1000000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 0x2000000);
	/* No usable pref_address: the 16 MiB default. */
	fix_put32(img + 0x230, 0x200000);
	fix_put64(img + 0x258, 0);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	fix_put64(img + 0x258, 0x9000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	/* Not relocatable: exactly at pref_address, alignment ignored. */
	img[0x234] = 0;
	fix_put64(img + 0x258, 0x1100000);
	fix_put32(img + 0x230, 0x300000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 0x1100000);
	fix_put64(img + 0x258, 0x9000);
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
}

static void test_initrd_limit(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);
	struct boot_image bi;

	fix_put32(img + 0x22c, 0x1ffffff); /* initrd_addr_max: last byte allowed */
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.initrd_limit, 0x2000000);
	fix_put32(img + 0x22c, 0xffffffff);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.initrd_limit, 64 * MiB);
	/* XLF_CAN_BE_LOADED_ABOVE_4G lifts initrd_addr_max. */
	fix_put32(img + 0x22c, 0x1ffffff);
	fix_put16(img + 0x236, 0x0003);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.initrd_limit, 64 * MiB);
}

static void test_header_sanitized(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);
	struct boot_image bi;

	/* A setup_data chain from the image would point the kernel at
	 * arbitrary memory: it is cleared. */
	fix_put64(img + 0x250, 0x123456);
	/* A header claiming to run past the setup_header stops at 0x290. */
	img[0x201] = 0xff;
	memset(img + 0x26c, 0x5a, 0x301 - 0x26c);
	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(fix_le64(zp + 0x250), 0);
	assert_int_equal(zp[0x28f], 0x5a);
	for (size_t i = 0x290; i < sizeof(zp); i++)
		assert_int_equal(zp[i], 0);
}

static void test_truncated_every_prefix(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_bzimage(img, IMG_CAP, 2, 0x800);
	struct boot_image bi;

	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(load(f, cut, &bi), -ENOEXEC);
	assert_int_equal(load(f, len, &bi), 0);
}

struct mutation {
	size_t off;
	unsigned width;
	uint64_t value;
	int err;
	const char *msg;
};

static void test_hostile_headers(void **state)
{
	static const struct mutation muts[] = {
		{ 0x1fe, 2, 0x55aa, -ENOEXEC, "boot_flag" },
		{ 0x202, 4, 0x58726448, -ENOEXEC, "HdrS" },
		{ 0x206, 2, 0x020b, -ENOEXEC, "2.12" },
		{ 0x211, 1, 0x00, -ENOEXEC, "LOADED_HIGH" },
		{ 0x236, 2, 0x0002, -ENOEXEC, "64-bit" },
		{ 0x230, 4, 0x300000, -ENOEXEC, "alignment" },
		{ 0x230, 4, 0, -ENOEXEC, "alignment" },
		{ 0x201, 1, 0x10, -ENOEXEC, "setup header" },
		{ 0x1f1, 1, 0xff, -ENOEXEC, "payload" },
		{ 0x1f4, 4, 0xffffffff, -ENOEXEC, "truncated" },
		{ 0x260, 4, 0xffffffff, -ENOMEM, "does not fit" },
		{ 0x260, 4, 48 * MiB + 1, -ENOMEM, "does not fit" },
		{ 0x258, 8, 0xffffffffffffff00ULL, -ENOMEM, "does not fit" },
		{ 0x230, 4, 0x80000000, -ENOMEM, "does not fit" },
	};
	struct boot_fixture *f = *state;
	struct boot_image bi;

	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);
		uint8_t v[8];

		fix_put64(v, muts[i].value);
		memcpy(img + muts[i].off, v, muts[i].width);
		err_clear();
		if (load(f, len, &bi) != muts[i].err || !strstr(err_last(), muts[i].msg))
			fail_msg("mutation %zu (0x%zx): got '%s'", i, muts[i].off, err_last());
	}
	/* init_size exactly filling memory is fine. */
	{
		size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);

		fix_put32(img + 0x260, 48 * MiB);
		assert_int_equal(load(f, len, &bi), 0);
		assert_int_equal(bi.kernel_end, 64 * MiB);
	}
}

static void test_payload_without_entry(void **state)
{
	struct boot_fixture *f = *state;
	struct boot_image bi;
	size_t len = fix_bzimage(img, IMG_CAP, 4, 0x200);

	err_clear();
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
	assert_non_null(strstr(err_last(), "64-bit entry"));
	len = fix_bzimage(img, IMG_CAP, 4, 0x201);
	assert_int_equal(load(f, len, &bi), 0);
	assert_true(bi.entry < bi.kernel_end);
}

static void test_memory_too_small(void **state)
{
	struct boot_fixture f;
	size_t len = fix_bzimage(img, IMG_CAP, 4, 0x1000);
	struct boot_image bi;

	(void)state;
	boot_fixture_init(&f, 16 * MiB, 0);
	err_clear();
	assert_int_equal(load(&f, len, &bi), -ENOMEM);
	assert_non_null(strstr(err_last(), "does not fit"));
	/* It says how much memory would hold the kernel: more than it has. */
	const char *hint = strstr(err_last(), "give the guest at least ");
	unsigned long long mib = 0;

	assert_non_null(hint);
	assert_int_equal(sscanf(hint, "give the guest at least %llu MiB", &mib), 1);
	assert_true(mib >= 16 && mib < 4096);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test_setup_teardown(test_valid_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_sects_zero_means_four, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_sanitized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_every_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_payload_without_entry, setup, teardown),
		cmocka_unit_test(test_memory_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
