#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/loader.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define MiB FIX_MiB
#define IMG_CAP 0x20000
#define ZP 0x7000

static uint8_t img[IMG_CAP];
static uint8_t initrd[5000];

static void fill_initrd(void)
{
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = fix_pattern(i + 11);
}

static void test_bzimage_end_to_end(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = {
		.kernel = img, .kernel_len = fix_bzimage(img, IMG_CAP, 8, 0x2000),
		.initrd = initrd, .initrd_len = sizeof(initrd),
		.cmdline = "console=ttyS0", .nr_vcpus = 1,
	};
	struct boot_info info;
	const uint8_t *zp;

	(void)state;
	fill_initrd();
	boot_fixture_init(&f, 64 * MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.format, BOOT_FORMAT_BZIMAGE);
	assert_int_equal(info.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(info.entry, 16 * MiB + 0x200);
	assert_int_equal(info.boot_arg, ZP);
	assert_int_equal(info.kernel_start, 16 * MiB);
	assert_int_equal(info.kernel_end, 16 * MiB + 0x12000);
	assert_int_equal(info.cmdline_addr, 0x20000);
	assert_int_equal(info.cmdline_size, 14);
	assert_int_equal(info.initrd_addr, 64 * MiB - 0x2000);
	assert_int_equal(info.initrd_size, sizeof(initrd));
	assert_memory_equal(fix_at(&f, 0x20000), "console=ttyS0", 14);
	assert_memory_equal(fix_at(&f, info.initrd_addr), initrd, sizeof(initrd));
	assert_memory_equal(fix_at(&f, 16 * MiB), img + 9 * 512, 0x2000);

	zp = fix_at(&f, ZP);
	assert_int_equal(zp[0x1f1], 8);                 /* setup_sects, from the image */
	assert_int_equal(fix_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(fix_le16(zp + 0x206), 0x020f);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x211], 0x81);
	assert_int_equal(fix_le16(zp + 0x224), 0xfe00);
	assert_int_equal(fix_le32(zp + 0x228), 0x20000);
	assert_int_equal(fix_le32(zp + 0x218), 64 * MiB - 0x2000);
	assert_int_equal(fix_le32(zp + 0x21c), sizeof(initrd));
	assert_int_equal(fix_le32(zp + 0x238), 2047);   /* cmdline_size, from the image */
	assert_int_equal(zp[0x1e8], 4);
	assert_int_equal(fix_le64(zp + 0x2d0 + 3 * 20), 0x100000);
	assert_int_equal(fix_le64(zp + 0x2d8 + 3 * 20), 63 * MiB);
	assert_int_equal(fix_le32(zp + 0x2e0 + 3 * 20), 1);
	/* GDT with a 64-bit code segment, and the identity map. */
	assert_int_equal(fix_le64(fix_at(&f, 0x508)), 0x00af9b000000ffffULL);
	assert_int_equal(fix_le64(fix_at(&f, 0x9000)), 0xa003);
	assert_int_equal(fix_le64(fix_at(&f, 0xb008)), 0x200083);
	boot_fixture_free(&f);
}

static void test_pvh_end_to_end(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = {
		.kernel = img, .kernel_len = fix_elf_pvh(img, IMG_CAP),
		.initrd = initrd, .initrd_len = sizeof(initrd), .cmdline = "quiet",
	};
	struct boot_info info;
	const uint8_t *si;

	(void)state;
	fill_initrd();
	boot_fixture_init(&f, 32 * MiB, 4 * MiB);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.format, BOOT_FORMAT_ELF_PVH);
	assert_int_equal(info.mode, BOOT_ENTRY_PVH);
	assert_int_equal(info.entry, 16 * MiB + 0x40);
	assert_int_equal(info.boot_arg, 0x6000);
	assert_int_equal(info.initrd_addr, 32 * MiB - 0x2000);
	si = fix_at(&f, 0x6000);
	assert_int_equal(fix_le32(si), 0x336ec578);
	assert_int_equal(fix_le32(si + 12), 1);
	assert_int_equal(fix_le64(fix_at(&f, fix_le64(si + 16))), info.initrd_addr);
	assert_int_equal(fix_le64(fix_at(&f, fix_le64(si + 16) + 8)), sizeof(initrd));
	assert_int_equal(fix_le64(si + 24), 0x20000);
	assert_memory_equal(fix_at(&f, 0x20000), "quiet", 6);
	/* The memory map includes RAM above 4 GiB. */
	assert_int_equal(fix_le32(si + 48), 5);
	assert_int_equal(fix_le64(fix_at(&f, fix_le64(si + 40) + 4 * 24)), 0x100000000ULL);
	assert_int_equal(fix_le64(fix_at(&f, fix_le64(si + 40) + 4 * 24 + 8)), 4 * MiB);
	/* A 32-bit code segment for protected-mode entry. */
	assert_int_equal(fix_le64(fix_at(&f, 0x508)), 0x00cf9b000000ffffULL);
	boot_fixture_free(&f);
}

static void test_elf64_synthesized_boot_params(void **state)
{
	struct boot_fixture f;
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x1000 } },
		.entry = 16 * MiB,
	};
	struct boot_config cfg = { .kernel = img, .cmdline = NULL };
	struct boot_info info;
	const uint8_t *zp;

	(void)state;
	cfg.kernel_len = fix_elf_build(img, IMG_CAP, &spec);
	boot_fixture_init(&f, 32 * MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.format, BOOT_FORMAT_ELF64);
	assert_int_equal(info.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(info.entry, 16 * MiB);
	assert_int_equal(info.boot_arg, ZP);
	assert_int_equal(info.initrd_addr, 0);
	assert_int_equal(info.cmdline_size, 1);
	zp = fix_at(&f, ZP);
	assert_int_equal(fix_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(fix_le16(zp + 0x206), 0x020c);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x211], 0x81);
	assert_int_equal(fix_le32(zp + 0x228), 0x20000);
	assert_int_equal(fix_le32(zp + 0x218), 0);
	assert_int_equal(zp[0x1e8], 4);
	assert_int_equal(fix_le64(fix_at(&f, 0x9000)), 0xa003);
	boot_fixture_free(&f);
}

static void test_rejects(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = { 0 };
	struct boot_info info;
	static const uint8_t garbage[600] = { 'M', 'Z' };

	(void)state;
	boot_fixture_init(&f, 32 * MiB, 0);
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -EINVAL);
	assert_non_null(strstr(err_last(), "no kernel"));
	cfg.kernel = garbage;
	cfg.kernel_len = sizeof(garbage);
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -ENOEXEC);
	assert_non_null(strstr(err_last(), "unrecognised kernel"));
	cfg.kernel = img;
	cfg.kernel_len = fix_elf_pvh(img, IMG_CAP);
	cfg.initrd_len = 10;
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -EINVAL);
	/* A truncated ELF is refused by the ELF loader, not misdetected. */
	cfg.initrd_len = 0;
	cfg.kernel_len = 63;
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -ENOEXEC);
	assert_non_null(strstr(err_last(), "truncated ELF"));
	boot_fixture_free(&f);
}

static void test_memory_too_small(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = { .kernel = img, .kernel_len = fix_elf_pvh(img, IMG_CAP) };
	struct boot_info info;

	(void)state;
	boot_fixture_init(&f, 512 * 1024, 0);
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -ENOMEM);
	assert_non_null(strstr(err_last(), "too small"));
	boot_fixture_free(&f);
	/* Memory not starting at 0 has no low memory at all. */
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add_region(&f.mem, 0x100000000ULL, 16, initrd), 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -ENOMEM);
}

static void test_cmdline_too_long_for_kernel(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = { .kernel = img, .kernel_len = fix_bzimage(img, IMG_CAP, 4, 0x1000) };
	struct boot_info info;

	(void)state;
	fix_put32(img + 0x238, 16); /* cmdline_size */
	boot_fixture_init(&f, 32 * MiB, 0);
	cfg.cmdline = "0123456789abcdef";
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	cfg.cmdline = "0123456789abcdefg";
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -E2BIG);
	assert_non_null(strstr(err_last(), "longer than 16"));
	boot_fixture_free(&f);
}

static void test_initrd_placement_limits(void **state)
{
	struct boot_fixture f;
	struct boot_config cfg = {
		.kernel = img, .kernel_len = fix_bzimage(img, IMG_CAP, 4, 0x1000),
		.initrd = initrd, .initrd_len = sizeof(initrd),
	};
	struct boot_info info;

	(void)state;
	boot_fixture_init(&f, 64 * MiB, 0);
	/* initrd_addr_max keeps the initrd under 32 MiB. */
	fix_put32(img + 0x22c, 0x1ffffff);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.initrd_addr, 32 * MiB - 0x2000);
	assert_int_equal(fix_le32(fix_at(&f, ZP + 0x218)), 32 * MiB - 0x2000);
	/* ...where a kernel needing 16 MiB at 16 MiB leaves no room. */
	fix_put32(img + 0x260, 16 * MiB);
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -ENOMEM);
	assert_non_null(strstr(err_last(), "overlaps the kernel"));
	/* An empty initrd is no initrd. */
	cfg.initrd_len = 0;
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.initrd_addr, 0);
	assert_int_equal(info.initrd_size, 0);
	assert_int_equal(fix_le32(fix_at(&f, ZP + 0x218)), 0);
	boot_fixture_free(&f);
}

static void test_format_names(void **state)
{
	(void)state;
	assert_string_equal(boot_format_name(BOOT_FORMAT_BZIMAGE), "bzImage");
	assert_string_equal(boot_format_name(BOOT_FORMAT_ELF_PVH), "ELF (PVH entry)");
	assert_string_equal(boot_format_name(BOOT_FORMAT_ELF64), "ELF (64-bit entry)");
	assert_string_equal(boot_format_name((enum boot_kernel_format)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_end_to_end),
		cmocka_unit_test(test_pvh_end_to_end),
		cmocka_unit_test(test_elf64_synthesized_boot_params),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_memory_too_small),
		cmocka_unit_test(test_cmdline_too_long_for_kernel),
		cmocka_unit_test(test_initrd_placement_limits),
		cmocka_unit_test(test_format_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
