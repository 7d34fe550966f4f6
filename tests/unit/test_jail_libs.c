/* A dynamically linked VMM in a jail: PT_INTERP from hostile ELF headers,
 * the loader's --list output, and the real loader on this test binary. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/jail_fixture.h"
#include "vmm/jail.h"
#include "vmm/log.h"

#define INTERP "/lib64/ld-linux-x86-64.so.2"

static void assert_msg(int ret, int want, const char *needle)
{
	if (ret != want || !strstr(err_last(), needle))
		print_error("got %d '%s', want %d with '%s'\n", ret, err_last(), want, needle);
	assert_int_equal(ret, want);
	assert_non_null(strstr(err_last(), needle));
}

/* An ELF64 header, `nph` program headers (a PT_LOAD, then PT_INTERP at
 * index 1 if nph > 1) and the interpreter string after them. */
static size_t make_elf(uint8_t *buf, size_t cap, unsigned nph, const char *interp)
{
	Elf64_Ehdr eh = { 0 };
	size_t off = sizeof(eh) + nph * sizeof(Elf64_Phdr), ilen = strlen(interp) + 1;

	assert_true(off + ilen <= cap);
	memset(buf, 0, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_DYN;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)nph;
	memcpy(buf, &eh, sizeof(eh));
	for (unsigned i = 0; i < nph; i++) {
		Elf64_Phdr ph = { 0 };

		ph.p_type = i == 1 ? PT_INTERP : PT_LOAD;
		ph.p_offset = i == 1 ? off : 0;
		ph.p_filesz = i == 1 ? ilen : 0;
		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	memcpy(buf + off, interp, ilen);
	return off + ilen;
}

static Elf64_Phdr *phdr(uint8_t *buf, unsigned i)
{
	return (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static void test_elf_interp(void **state)
{
	uint8_t buf[512];
	char out[JAIL_LIB_PATH_MAX];
	size_t len = make_elf(buf, sizeof(buf), 3, INTERP);

	(void)state;
	assert_int_equal(jail_elf_interp(buf, len, out, sizeof(out)), 0);
	assert_string_equal(out, INTERP);
	/* Static (no PT_INTERP), no program headers, or not ELF: nothing. */
	len = make_elf(buf, sizeof(buf), 1, "");
	strcpy(out, "x");
	assert_int_equal(jail_elf_interp(buf, len, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	len = make_elf(buf, sizeof(buf), 0, "");
	assert_int_equal(jail_elf_interp(buf, len, out, sizeof(out)), 0);
	assert_int_equal(jail_elf_interp((const uint8_t *)"#!/bin/sh\n", 10, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(jail_elf_interp(buf, 0, out, sizeof(out)), 0);
}

static void test_elf_interp_hostile(void **state)
{
	uint8_t buf[512];
	char out[JAIL_LIB_PATH_MAX];
	size_t len;

	(void)state;
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	assert_msg(jail_elf_interp(buf, 40, out, sizeof(out)), -ENOEXEC, "ELF header truncated");
	buf[EI_CLASS] = ELFCLASS32;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "not a 64-bit little-endian");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	((Elf64_Ehdr *)buf)->e_phoff = 1u << 20;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "program headers lie past");
	((Elf64_Ehdr *)buf)->e_phoff = UINT64_MAX - 8;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "program headers lie past");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	((Elf64_Ehdr *)buf)->e_phentsize = 32;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "ELF program headers");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	((Elf64_Ehdr *)buf)->e_phnum = 0xffff;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "ELF program headers");
	/* The string: past the end, an overflowing offset, no NUL, a NUL
	 * inside, relative, longer than the room given. */
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	phdr(buf, 1)->p_filesz = len;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "PT_INTERP lies past");
	phdr(buf, 1)->p_offset = UINT64_MAX;
	phdr(buf, 1)->p_filesz = 2;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "PT_INTERP lies past");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	phdr(buf, 1)->p_filesz -= 1;
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "not an absolute path");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	buf[phdr(buf, 1)->p_offset + 4] = '\0';
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "not an absolute path");
	len = make_elf(buf, sizeof(buf), 3, "lib/ld.so");
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "not an absolute path");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	assert_msg(jail_elf_interp(buf, len, out, 8), -ENOEXEC, "fits 8 bytes");
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	*phdr(buf, 2) = *phdr(buf, 1);
	assert_msg(jail_elf_interp(buf, len, out, sizeof(out)), -ENOEXEC, "two PT_INTERP");
	/* Every prefix of a good image: a clean answer, never a wrong path. */
	len = make_elf(buf, sizeof(buf), 3, INTERP);
	for (size_t cut = 0; cut <= len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		int ret;

		assert_non_null(copy);
		memcpy(copy, buf, cut);
		ret = jail_elf_interp(copy, cut, out, sizeof(out));
		if (cut == len)
			assert_string_equal(out, INTERP);
		else
			assert_true(ret == 0 ? out[0] == '\0' : ret == -ENOEXEC);
		free(copy);
	}
}

static const char sample[] =
	"\tlinux-vdso.so.1 (0x00007ffd1d5f2000)\n"
	"\tlibjansson.so.4 => /lib/x86_64-linux-gnu/libjansson.so.4 (0x00007f9d3ae9a000)\n"
	"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9d3ac68000)\n"
	"\t" INTERP " (0x00007f9d3af90000)\n"
	"\tlibgmp.so.10 => /usr/lib/x86_64-linux-gnu/libgmp.so.10 (0x00007f9d3a5fe000)\n"
	"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9d3ac68000)\n";

static void test_parse_lib_list(void **state)
{
	struct jail_libs *libs = malloc(sizeof(*libs));

	(void)state;
	assert_non_null(libs);
	assert_int_equal(jail_parse_lib_list(sample, strlen(sample), libs), 0);
	/* The vDSO is skipped, libc listed twice is copied once, in order. */
	assert_int_equal(libs->n, 4);
	assert_string_equal(libs->path[0], "/lib/x86_64-linux-gnu/libjansson.so.4");
	assert_string_equal(libs->path[1], "/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(libs->path[2], INTERP);
	assert_string_equal(libs->path[3], "/usr/lib/x86_64-linux-gnu/libgmp.so.10");
	/* No trailing newline, blank lines. */
	assert_int_equal(jail_parse_lib_list("\n\n\t/lib/a.so (0x1)", 17, libs), 0);
	assert_int_equal(libs->n, 1);
	assert_string_equal(libs->path[0], "/lib/a.so");
	assert_int_equal(jail_parse_lib_list("", 0, libs), 0);
	assert_int_equal(libs->n, 0);
	free(libs);
}

static void test_parse_lib_list_hostile(void **state)
{
	struct jail_libs *libs = malloc(sizeof(*libs));
	char *many = malloc(80 * 40);
	size_t used = 0;

	(void)state;
	assert_non_null(libs);
	assert_non_null(many);
	assert_msg(jail_parse_lib_list("\tlibfoo.so.1 => not found\n", 26, libs), -ENOENT,
		   "library libfoo.so.1 not found");
	assert_msg(jail_parse_lib_list("\tx => ../etc/passwd (0x1)\n", 26, libs), -EINVAL, "unexpected loader output");
	assert_msg(jail_parse_lib_list("\t/lib/../etc/shadow (0x1)\n", 26, libs), -EINVAL, "not a plain absolute path");
	assert_msg(jail_parse_lib_list("\t/lib/./a.so (0x1)\n", 19, libs), -EINVAL, "not a plain absolute path");
	assert_msg(jail_parse_lib_list("x => \n", 6, libs), -EINVAL, "unexpected loader output");
	assert_msg(jail_parse_lib_list("x => ", 5, libs), -EINVAL, "unexpected loader output");
	assert_msg(jail_parse_lib_list("error while loading shared libraries\n", 37, libs), -EINVAL,
		   "unexpected loader output 'error while");
	assert_msg(jail_parse_lib_list("\t/lib/a\0b.so (0x1)\n", 19, libs), -EINVAL, "NUL byte");
	assert_msg(jail_parse_lib_list("\t/lib/a\x01.so (0x1)\n", 19, libs), -EINVAL, "not a plain absolute path");
	for (int i = 0; i <= JAIL_MAX_LIBS; i++)
		used += (size_t)sprintf(many + used, "\tl%d => /lib/l%d.so (0x1)\n", i, i);
	assert_msg(jail_parse_lib_list(many, used, libs), -E2BIG, "more than 64 libraries");
	/* Every prefix of real output: parsed or refused, every path absolute. */
	for (size_t cut = 0; cut <= strlen(sample); cut++) {
		char *copy = malloc(cut ? cut : 1);

		assert_non_null(copy);
		memcpy(copy, sample, cut);
		if (jail_parse_lib_list(copy, cut, libs) == 0)
			for (unsigned i = 0; i < libs->n; i++)
				assert_true(libs->path[i][0] == '/');
		free(copy);
	}
	free(many);
	free(libs);
}

static void test_list_libs_of_this_binary(void **state)
{
	struct jail_libs *libs = malloc(sizeof(*libs));
	char dir[PATH_MAX], path[PATH_MAX + 16];
	bool libc = false, loader = false;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_non_null(libs);
	assert_true(n > 0);
	(void)state;
	self[n] = '\0';
	/* This test binary is dynamically linked: its loader finds libc. */
	assert_int_equal(jail_list_libs(self, libs), 0);
	for (unsigned i = 0; i < libs->n; i++) {
		libc |= strstr(libs->path[i], "/libc.so.6") != NULL;
		loader |= strstr(libs->path[i], "/ld-linux") != NULL;
		assert_int_equal(access(libs->path[i], R_OK), 0);
	}
	assert_true(libc && loader);
	/* A script, and a file that is not there. */
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vmm", dir);
	jail_fixture_write(path, "#!/bin/true\n", 0755);
	assert_int_equal(jail_list_libs(path, libs), 0);
	assert_int_equal(libs->n, 0);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_msg(jail_list_libs(path, libs), -ENOENT, "--exec-file");
	jail_fixture_rm_rf(dir);
	free(libs);
}

static void test_list_libs_untrusted_interp(void **state)
{
	struct jail_libs *libs = malloc(sizeof(*libs));
	char dir[PATH_MAX], path[PATH_MAX + 16], interp[PATH_MAX + 16];
	uint8_t buf[512];
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(libs);
	jail_fixture_tmpdir(dir, sizeof(dir));
	/* A loader anyone could have written is never run as root. */
	snprintf(interp, sizeof(interp), "%s/ld.so", dir);
	jail_fixture_write(interp, "#!/bin/true\n", 0777);
	snprintf(path, sizeof(path), "%s/vmm", dir);
	len = make_elf(buf, sizeof(buf), 3, interp);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	assert_msg(jail_list_libs(path, libs), -EPERM, "not a root-owned file only root can write");
	jail_fixture_rm_rf(dir);
	free(libs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_interp),
		cmocka_unit_test(test_elf_interp_hostile),
		cmocka_unit_test(test_parse_lib_list),
		cmocka_unit_test(test_parse_lib_list_hostile),
		cmocka_unit_test(test_list_libs_of_this_binary),
		cmocka_unit_test(test_list_libs_untrusted_interp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
