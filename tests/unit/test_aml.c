/* The AML writer, byte for byte against the encodings of ACPI 6.5
 * chapter 20 (grammar) and 6.4 (resource descriptors). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/aml.h"

#define EXPECT(w, ...)                                                              \
	do {                                                                        \
		const uint8_t want_[] = { __VA_ARGS__ };                            \
		assert_int_equal(aml_error(w), 0);                                  \
		assert_int_equal((w)->len, sizeof(want_));                          \
		assert_memory_equal((w)->buf, want_, sizeof(want_));                \
	} while (0)

static void test_pkglen_forms(void **state)
{
	uint8_t b[4];

	(void)state;
	/* One byte while the value (content + 1) fits 6 bits. */
	assert_int_equal(aml_pkglen_encode(0, b), 1);
	assert_int_equal(b[0], 1);
	assert_int_equal(aml_pkglen_encode(62, b), 1);
	assert_int_equal(b[0], 0x3f);
	/* 63 + 1 byte = 64 needs two bytes: lead 0x40 | low nibble, then >> 4. */
	assert_int_equal(aml_pkglen_encode(63, b), 2);
	assert_int_equal(b[0], 0x41);
	assert_int_equal(b[1], 0x04);
	assert_int_equal(aml_pkglen_encode(0xffd, b), 2); /* 0xfff */
	assert_int_equal(b[0], 0x4f);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(aml_pkglen_encode(0xffe, b), 3); /* 0x1001 */
	assert_int_equal(b[0], 0x81);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(b[2], 0x01);
	assert_int_equal(aml_pkglen_encode(0xffffc, b), 3); /* 0xfffff */
	assert_int_equal(b[0], 0x8f);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 0xff);
	assert_int_equal(aml_pkglen_encode(0xffffd, b), 4); /* 0x100001 */
	assert_int_equal(b[0], 0xc1);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(b[2], 0x00);
	assert_int_equal(b[3], 0x01);
	assert_int_equal(aml_pkglen_encode(AML_PKGLEN_MAX - 4, b), 4);
	assert_int_equal(b[0], 0xcf);
	assert_int_equal(b[3], 0xff);
	assert_int_equal(aml_pkglen_encode(AML_PKGLEN_MAX - 3, b), 0);
	assert_int_equal(aml_pkglen_encode(SIZE_MAX, b), 0);
}

static void test_namestrings(void **state)
{
	struct aml_writer w;

	(void)state;
	aml_init(&w, 64);
	aml_namestring(&w, "_HID");
	EXPECT(&w, '_', 'H', 'I', 'D');
	aml_free(&w);

	aml_init(&w, 64);
	aml_namestring(&w, "\\_SB");   /* short segments are padded with '_' */
	EXPECT(&w, 0x5c, '_', 'S', 'B', '_');
	aml_free(&w);

	aml_init(&w, 64);
	aml_namestring(&w, "\\_SB.COM1");
	EXPECT(&w, 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	aml_free(&w);

	aml_init(&w, 64);
	aml_namestring(&w, "^^A.B2.C_");
	EXPECT(&w, 0x5e, 0x5e, 0x2f, 3, 'A', '_', '_', '_', 'B', '2', '_', '_', 'C', '_', '_', '_');
	aml_free(&w);

	aml_init(&w, 64);
	aml_namestring(&w, "");
	EXPECT(&w, 0x00);
	aml_free(&w);

	aml_init(&w, 64);
	aml_namestring(&w, "\\");
	EXPECT(&w, 0x5c, 0x00);
	aml_free(&w);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = { "1ABC", "ABCDE", "abcd", "A..B", "A.", ".A", "\\^A",
					   "A-B", "^\\A", "A.B.C.DEFGH" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_writer w;

		aml_init(&w, 64);
		aml_namestring(&w, bad[i]);
		assert_int_equal(aml_error(&w), -EINVAL);
		aml_free(&w);
	}
}

static void test_integers(void **state)
{
	struct aml_writer w;

	(void)state;
	aml_init(&w, 128);
	aml_integer(&w, 0);
	aml_integer(&w, 1);
	aml_integer(&w, 2);
	aml_integer(&w, 0xff);
	aml_integer(&w, 0x100);
	aml_integer(&w, 0xffff);
	aml_integer(&w, 0x10000);
	aml_integer(&w, 0xffffffffu);
	aml_integer(&w, 0x100000000ULL);
	aml_integer(&w, 0x0123456789abcdefULL);
	EXPECT(&w, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff,
	       0x0c, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff,
	       0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	       0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
	aml_free(&w);
}

static void test_strings(void **state)
{
	struct aml_writer w;
	char long_str[AML_STRING_MAX + 2];

	(void)state;
	aml_init(&w, 64);
	aml_string(&w, "LNRO0005");
	EXPECT(&w, 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
	aml_free(&w);

	aml_init(&w, 64);
	aml_string(&w, "");
	EXPECT(&w, 0x0d, 0x00);
	aml_free(&w);

	aml_init(&w, 1024);
	memset(long_str, 'a', sizeof(long_str) - 1);
	long_str[sizeof(long_str) - 1] = 0;
	aml_string(&w, long_str);
	assert_int_equal(aml_error(&w), -EINVAL);
	aml_free(&w);

	aml_init(&w, 64);
	aml_string(&w, "caf\xc3\xa9");
	assert_int_equal(aml_error(&w), -EINVAL);
	aml_free(&w);
}

static void test_eisaid(void **state)
{
	struct aml_writer w;
	uint32_t v;

	(void)state;
	/* Known values: what iasl stores for EisaId("PNP0501") and "PNP0B00". */
	assert_int_equal(aml_eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP0B00", &v), 0);
	assert_int_equal(v, 0x000bd041);
	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid_value("pnp0501", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP050", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP05011", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP050g", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PN10501", &v), -EINVAL);

	aml_init(&w, 64);
	aml_name_eisaid(&w, "_HID", "PNP0B00"); /* always a DWord, even if small */
	EXPECT(&w, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00);
	aml_free(&w);

	aml_init(&w, 64);
	aml_eisaid(&w, "BAD");
	assert_int_equal(aml_error(&w), -EINVAL);
	assert_int_equal(w.len, 0);
	aml_free(&w);
}

static void test_names(void **state)
{
	struct aml_writer w;

	(void)state;
	aml_init(&w, 64);
	aml_name_integer(&w, "_UID", 3);
	aml_name_string(&w, "_HID", "A");
	EXPECT(&w, 0x08, '_', 'U', 'I', 'D', 0x0a, 0x03, 0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 0x00);
	aml_free(&w);
}

static void test_device_in_scope(void **state)
{
	struct aml_writer w;
	size_t scope, dev;

	(void)state;
	aml_init(&w, 256);
	scope = aml_scope_begin(&w, "\\_SB");
	dev = aml_device_begin(&w, "COM1");
	aml_name_integer(&w, "_UID", 0);
	aml_end(&w, dev);
	aml_end(&w, scope);
	/* Device: 5B 82 len(4 name + 6 Name()) + 1 = 11; Scope: 1 + 5 + 13 = 19. */
	EXPECT(&w, 0x10, 19, 0x5c, '_', 'S', 'B', '_',
	       0x5b, 0x82, 11, 'C', 'O', 'M', '1',
	       0x08, '_', 'U', 'I', 'D', 0x00);
	aml_free(&w);
}

/* Content long enough for a 2-byte PkgLength: the writer must shift what
 * it already wrote, including nested objects. */
static void test_long_package_shifts_content(void **state)
{
	struct aml_writer w;
	size_t pkg, inner;

	(void)state;
	aml_init(&w, 1024);
	pkg = aml_package_begin(&w, 101);
	inner = aml_package_begin(&w, 1);
	aml_integer(&w, 0x42);
	aml_end(&w, inner);
	for (int i = 0; i < 100; i++)
		aml_integer(&w, 0x80 + (unsigned)i);
	aml_end(&w, pkg);
	assert_int_equal(aml_error(&w), 0);
	/* content: count 1 + inner (12 04 01 0A 42 = 5) + 100 * 2 = 206. */
	assert_int_equal(w.len, 1 + 2 + 206);
	assert_int_equal(w.buf[0], 0x12);
	assert_int_equal(w.buf[1], 0x40 | ((206 + 2) & 0x0f));
	assert_int_equal(w.buf[2], (206 + 2) >> 4);
	assert_int_equal(w.buf[3], 101);
	const uint8_t inner_want[] = { 0x12, 0x04, 0x01, 0x0a, 0x42 };

	assert_memory_equal(w.buf + 4, inner_want, sizeof(inner_want));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(w.buf[9 + 2 * i], 0x0a);
		assert_int_equal(w.buf[10 + 2 * i], 0x80 + i);
	}
	aml_free(&w);
}

static void test_method(void **state)
{
	struct aml_writer w;
	size_t m;

	(void)state;
	aml_init(&w, 64);
	m = aml_method_begin(&w, "_STA", 0);
	aml_byte(&w, AML_RETURN_OP);
	aml_integer(&w, 0x0f);
	aml_end(&w, m);
	EXPECT(&w, 0x14, 9, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
	aml_free(&w);

	aml_init(&w, 64);
	aml_method_begin(&w, "FOO", 8);
	assert_int_equal(aml_error(&w), -EINVAL);
	aml_free(&w);
}

static void test_buffer(void **state)
{
	struct aml_writer w;
	const uint8_t bytes[] = { 1, 2, 3 };

	(void)state;
	aml_init(&w, 64);
	aml_buffer(&w, bytes, sizeof(bytes));
	EXPECT(&w, 0x11, 6, 0x0a, 3, 1, 2, 3);
	aml_free(&w);
}

static void test_resource_descriptors(void **state)
{
	struct aml_writer w;
	struct aml_res r;

	(void)state;
	aml_init(&w, 128);
	aml_res_init(&r);
	aml_res_io(&r, 0x3f8, 1, 8);
	aml_res_irq_noflags(&r, 4);
	aml_res_mem32_fixed(&r, true, 0xd0001000, 0x1000);
	aml_res_mem32_fixed(&r, false, 0xc0000000, 2);
	aml_res_ext_irq(&r, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 0x25);
	aml_resource_template(&w, &r);
	/* 8 + 3 + 12 + 12 + 9 + 2 = 46 bytes; Buffer: 11 len 0A 2E ... */
	EXPECT(&w, 0x11, 49, 0x0a, 46,
	       0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
	       0x22, 0x10, 0x00,
	       0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
	       0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x02, 0x00, 0x00, 0x00,
	       0x89, 0x06, 0x00, 0x03, 0x01, 0x25, 0x00, 0x00, 0x00,
	       0x79, 0x00);
	aml_free(&w);
}

static void test_resource_errors(void **state)
{
	struct aml_writer w;
	struct aml_res r;

	(void)state;
	aml_res_init(&r);
	aml_res_irq_noflags(&r, 16);
	assert_int_equal(r.err, -EINVAL);
	aml_res_irq_noflags(&r, 17); /* the first error sticks */
	assert_int_equal(r.err, -EINVAL);
	aml_init(&w, 128);
	aml_resource_template(&w, &r);
	assert_int_equal(aml_error(&w), -EINVAL);
	assert_int_equal(w.len, 0);
	aml_free(&w);

	/* The template buffer is bounded: 21 12-byte descriptors overflow it
	 * and the EndTag then has no room either. */
	aml_res_init(&r);
	for (int i = 0; i < 21; i++)
		aml_res_mem32_fixed(&r, true, 0, 1);
	assert_int_equal(r.err, 0);
	aml_res_mem32_fixed(&r, true, 0, 1);
	assert_int_equal(r.err, -ENOSPC);
	assert_int_equal(r.len, 21 * 12);
	aml_res_io(&r, 0, 1, 1);
	aml_res_irq_noflags(&r, 1);
	aml_res_ext_irq(&r, 0, 1);
	assert_int_equal(r.len, 21 * 12);
	aml_init(&w, 512);
	aml_resource_template(&w, &r);
	assert_int_equal(aml_error(&w), -ENOSPC);
	aml_free(&w);
}

static void test_bound_is_sticky(void **state)
{
	struct aml_writer w;
	uint8_t big[300];
	size_t scope;

	(void)state;
	memset(big, 0xaa, sizeof(big));
	aml_init(&w, 300);
	aml_bytes(&w, big, 300); /* exactly the bound: fine */
	assert_int_equal(aml_error(&w), 0);
	aml_byte(&w, 1);
	assert_int_equal(aml_error(&w), -ENOSPC);
	assert_int_equal(w.len, 300);
	aml_integer(&w, 5);
	aml_string(&w, "x");
	aml_eisaid(&w, "PNP0501");
	scope = aml_scope_begin(&w, "\\_SB");
	aml_end(&w, scope);
	assert_int_equal(w.len, 300);
	assert_int_equal(aml_error(&w), -ENOSPC);
	aml_free(&w);

	/* A PkgLength that does not fit the bound fails too. */
	aml_init(&w, 4);
	aml_scope_begin(&w, "A");
	assert_int_equal(aml_error(&w), -ENOSPC);
	assert_int_equal(w.len, 1);
	aml_free(&w);
	aml_init(&w, 5);
	scope = aml_scope_begin(&w, "A");
	aml_end(&w, scope);
	assert_int_equal(aml_error(&w), -ENOSPC);
	aml_free(&w);

	/* A zero bound holds nothing. */
	aml_init(&w, 0);
	aml_byte(&w, 0);
	assert_int_equal(aml_error(&w), -ENOSPC);
	aml_free(&w);
}

static void test_bad_mark(void **state)
{
	struct aml_writer w;

	(void)state;
	aml_init(&w, 64);
	aml_byte(&w, 0);
	aml_end(&w, 5);
	assert_int_equal(aml_error(&w), -EINVAL);
	aml_free(&w);
}

static void test_growth_keeps_content(void **state)
{
	struct aml_writer w;
	size_t scope;

	(void)state;
	aml_init(&w, 1 << 20);
	scope = aml_scope_begin(&w, "\\_SB");
	for (unsigned i = 0; i < 5000; i++)
		aml_integer(&w, 0x1000 + i); /* 3 bytes each: grows the buffer many times */
	aml_end(&w, scope);
	assert_int_equal(aml_error(&w), 0);
	assert_int_equal(w.len, 1 + 3 + 5 + 15000);
	assert_int_equal(w.buf[1], 0x80 | ((15000 + 5 + 3) & 0xf));
	for (unsigned i = 0; i < 5000; i++) {
		const uint8_t *p = w.buf + 9 + 3 * i;

		assert_int_equal(p[0], 0x0b);
		assert_int_equal(p[1] | p[2] << 8, 0x1000 + i);
	}
	aml_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen_forms),
		cmocka_unit_test(test_namestrings),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_device_in_scope),
		cmocka_unit_test(test_long_package_shifts_content),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_resource_descriptors),
		cmocka_unit_test(test_resource_errors),
		cmocka_unit_test(test_bound_is_sticky),
		cmocka_unit_test(test_bad_mark),
		cmocka_unit_test(test_growth_keeps_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
