#include "boot/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/le.h"
#include "vmm/log.h"

void aml_init(struct aml_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void aml_free(struct aml_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int aml_error(const struct aml_writer *w)
{
	return w->err;
}

static void aml_fail(struct aml_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Makes room for `len` more bytes at the end; NULL after an error. */
static uint8_t *aml_reserve(struct aml_writer *w, size_t len)
{
	size_t need;

	if (w->err)
		return NULL;
	if (__builtin_add_overflow(w->len, len, &need) || need > w->max) {
		aml_fail(w, err_fail(-ENOSPC, "AML would exceed %zu bytes", w->max));
		return NULL;
	}
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *buf;

		while (cap < need)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		buf = realloc(w->buf, cap);
		if (!buf) {
			aml_fail(w, err_fail(-ENOMEM, "cannot grow AML buffer to %zu bytes", cap));
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	w->len = need;
	return w->buf + need - len;
}

void aml_byte(struct aml_writer *w, uint8_t b)
{
	uint8_t *p = aml_reserve(w, 1);

	if (p)
		*p = b;
}

void aml_bytes(struct aml_writer *w, const void *src, size_t len)
{
	uint8_t *p = aml_reserve(w, len);

	if (p && len)
		memcpy(p, src, len);
}

unsigned aml_pkglen_encode(size_t content, uint8_t out[4])
{
	/* One byte holds 6 bits; with n follow-on bytes the lead byte keeps 4
	 * bits and each follow-on byte 8 more. */
	static const uint32_t limit[5] = { 0, 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };

	if (content > AML_PKGLEN_MAX)
		return 0;
	for (unsigned n = 1; n <= 4; n++) {
		uint32_t total = (uint32_t)content + n;

		if (total > limit[n])
			continue;
		if (n == 1) {
			out[0] = (uint8_t)total;
			return 1;
		}
		out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

static bool aml_seg_char(char c, bool lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !lead && c >= '0' && c <= '9';
}

/* Validates a path and counts its segments; returns -1 if malformed. */
static int aml_path_segments(const char *path, const char **rest)
{
	const char *p = path;
	int nr = 0;

	if (*p == '\\')
		p++;
	else
		while (*p == '^')
			p++;
	*rest = p;
	if (!*p)
		return 0; /* "\\" alone is the root; "" is the NullName */
	for (;;) {
		size_t n = 0;

		while (p[n] && p[n] != '.') {
			if (n >= 4 || !aml_seg_char(p[n], n == 0))
				return -1;
			n++;
		}
		if (n == 0)
			return -1;
		nr++;
		p += n;
		if (!*p)
			return nr;
		p++; /* the dot */
	}
}

void aml_namestring(struct aml_writer *w, const char *path)
{
	const char *segs;
	int nr = aml_path_segments(path, &segs);

	if (nr < 0 || nr > 255) {
		aml_fail(w, err_fail(-EINVAL, "bad AML name \"%s\"", path));
		return;
	}
	aml_bytes(w, path, (size_t)(segs - path)); /* '\\' or '^' prefixes */
	if (nr == 0) {
		aml_byte(w, 0x00); /* NullName */
		return;
	}
	if (nr == 2) {
		aml_byte(w, AML_DUAL_NAME_PREFIX);
	} else if (nr > 2) {
		aml_byte(w, AML_MULTI_NAME_PREFIX);
		aml_byte(w, (uint8_t)nr);
	}
	while (*segs) {
		char seg[4] = { '_', '_', '_', '_' };
		size_t n = 0;

		while (segs[n] && segs[n] != '.') {
			seg[n] = segs[n];
			n++;
		}
		aml_bytes(w, seg, 4);
		segs += n;
		if (*segs == '.')
			segs++;
	}
}

void aml_integer(struct aml_writer *w, uint64_t v)
{
	uint8_t b[8];

	if (v <= 1) {
		aml_byte(w, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	le64_write(b, v);
	if (v <= 0xff) {
		aml_byte(w, AML_BYTE_PREFIX);
		aml_bytes(w, b, 1);
	} else if (v <= 0xffff) {
		aml_byte(w, AML_WORD_PREFIX);
		aml_bytes(w, b, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(w, AML_DWORD_PREFIX);
		aml_bytes(w, b, 4);
	} else {
		aml_byte(w, AML_QWORD_PREFIX);
		aml_bytes(w, b, 8);
	}
}

void aml_string(struct aml_writer *w, const char *s)
{
	size_t n = strnlen(s, AML_STRING_MAX + 1);

	if (n > AML_STRING_MAX) {
		aml_fail(w, err_fail(-EINVAL, "AML string longer than %d bytes", AML_STRING_MAX));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			aml_fail(w, err_fail(-EINVAL, "AML string holds a non-ASCII byte"));
			return;
		}
	}
	aml_byte(w, AML_STRING_PREFIX);
	aml_bytes(w, s, n + 1);
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint32_t vendor = 0, product = 0;
	uint8_t b[4];

	if (strnlen(id, 8) != 7)
		return err_fail(-EINVAL, "EISA id \"%.8s\" is not 7 characters", id);
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return err_fail(-EINVAL, "EISA id \"%s\": vendor must be 3 capitals", id);
		vendor = vendor << 5 | (uint32_t)(id[i] - 0x40); /* 'A' is 1 */
	}
	for (int i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0)
			return err_fail(-EINVAL, "EISA id \"%s\": product must be 4 hex digits", id);
		product = product << 4 | (uint32_t)d;
	}
	/* Stored big-endian: the 15-bit vendor in bytes 0-1, product in 2-3. */
	b[0] = (uint8_t)(vendor >> 8);
	b[1] = (uint8_t)vendor;
	b[2] = (uint8_t)(product >> 8);
	b[3] = (uint8_t)product;
	*out = le32_read(b);
	return 0;
}

void aml_eisaid(struct aml_writer *w, const char *id)
{
	uint32_t v;
	uint8_t b[4];

	if (w->err)
		return;
	if (aml_eisaid_value(id, &v)) {
		aml_fail(w, -EINVAL);
		return;
	}
	/* Always a DWord, even when the value is small, as ASL emits it. */
	le32_write(b, v);
	aml_byte(w, AML_DWORD_PREFIX);
	aml_bytes(w, b, 4);
}

void aml_name(struct aml_writer *w, const char *path)
{
	aml_byte(w, AML_NAME_OP);
	aml_namestring(w, path);
}

void aml_name_integer(struct aml_writer *w, const char *path, uint64_t v)
{
	aml_name(w, path);
	aml_integer(w, v);
}

void aml_name_string(struct aml_writer *w, const char *path, const char *s)
{
	aml_name(w, path);
	aml_string(w, s);
}

void aml_name_eisaid(struct aml_writer *w, const char *path, const char *id)
{
	aml_name(w, path);
	aml_eisaid(w, id);
}

size_t aml_scope_begin(struct aml_writer *w, const char *path)
{
	size_t mark;

	aml_byte(w, AML_SCOPE_OP);
	mark = w->len;
	aml_namestring(w, path);
	return mark;
}

size_t aml_device_begin(struct aml_writer *w, const char *path)
{
	size_t mark;

	aml_byte(w, AML_EXT_OP_PREFIX);
	aml_byte(w, AML_DEVICE_OP);
	mark = w->len;
	aml_namestring(w, path);
	return mark;
}

size_t aml_package_begin(struct aml_writer *w, uint8_t nr)
{
	size_t mark;

	aml_byte(w, AML_PACKAGE_OP);
	mark = w->len;
	aml_byte(w, nr);
	return mark;
}

size_t aml_method_begin(struct aml_writer *w, const char *path, unsigned nr_args)
{
	size_t mark;

	if (nr_args > 7)
		aml_fail(w, err_fail(-EINVAL, "a method takes at most 7 arguments, not %u", nr_args));
	aml_byte(w, AML_METHOD_OP);
	mark = w->len;
	aml_namestring(w, path);
	aml_byte(w, (uint8_t)(nr_args & 7)); /* MethodFlags: NotSerialized, SyncLevel 0 */
	return mark;
}

void aml_end(struct aml_writer *w, size_t mark)
{
	uint8_t enc[4];
	unsigned n;
	size_t content;

	if (w->err)
		return;
	if (mark > w->len) {
		aml_fail(w, err_fail(-EINVAL, "AML mark %zu past the end (%zu)", mark, w->len));
		return;
	}
	content = w->len - mark;
	n = aml_pkglen_encode(content, enc);
	if (!n) {
		aml_fail(w, err_fail(-ENOSPC, "AML object of %zu bytes is too long", content));
		return;
	}
	if (!aml_reserve(w, n))
		return;
	memmove(w->buf + mark + n, w->buf + mark, content);
	memcpy(w->buf + mark, enc, n);
}

void aml_buffer(struct aml_writer *w, const uint8_t *bytes, size_t len)
{
	size_t mark;

	aml_byte(w, AML_BUFFER_OP);
	mark = w->len;
	aml_integer(w, len);
	aml_bytes(w, bytes, len);
	aml_end(w, mark);
}

void aml_res_init(struct aml_res *r)
{
	memset(r, 0, sizeof(*r));
}

static uint8_t *aml_res_reserve(struct aml_res *r, size_t len)
{
	uint8_t *p;

	if (r->err)
		return NULL;
	if (len > sizeof(r->buf) - r->len) {
		r->err = err_fail(-ENOSPC, "resource template exceeds %d bytes", AML_RES_MAX);
		return NULL;
	}
	p = r->buf + r->len;
	r->len += len;
	return p;
}

void aml_res_io(struct aml_res *r, uint16_t base, uint8_t align, uint8_t len)
{
	uint8_t *p = aml_res_reserve(r, 8);

	if (!p)
		return;
	p[0] = AML_RES_IO;
	p[1] = 0x01; /* decodes all 16 address bits */
	le16_write(p + 2, base);
	le16_write(p + 4, base); /* min == max: the range cannot move */
	p[6] = align;
	p[7] = len;
}

void aml_res_irq_noflags(struct aml_res *r, unsigned irq)
{
	uint8_t *p;

	if (irq > 15) {
		if (!r->err)
			r->err = err_fail(-EINVAL, "ISA IRQ %u out of range 0-15", irq);
		return;
	}
	p = aml_res_reserve(r, 3);
	if (!p)
		return;
	p[0] = AML_RES_IRQ_NOFLAGS;
	le16_write(p + 1, (uint16_t)(1u << irq));
}

void aml_res_mem32_fixed(struct aml_res *r, bool writable, uint32_t base, uint32_t len)
{
	uint8_t *p = aml_res_reserve(r, 12);

	if (!p)
		return;
	p[0] = AML_RES_MEM32_FIXED;
	le16_write(p + 1, 9);
	p[3] = writable ? 1 : 0;
	le32_write(p + 4, base);
	le32_write(p + 8, len);
}

void aml_res_ext_irq(struct aml_res *r, uint8_t flags, uint32_t gsi)
{
	uint8_t *p = aml_res_reserve(r, 9);

	if (!p)
		return;
	p[0] = AML_RES_EXT_IRQ;
	le16_write(p + 1, 6); /* flags, count, one DWord */
	p[3] = flags;
	p[4] = 1;
	le32_write(p + 5, gsi);
}

void aml_resource_template(struct aml_writer *w, struct aml_res *r)
{
	uint8_t *p = aml_res_reserve(r, 2);

	if (p) {
		p[0] = AML_RES_END_TAG;
		p[1] = 0;
	}
	if (r->err) {
		aml_fail(w, r->err);
		return;
	}
	aml_buffer(w, r->buf, r->len);
}
