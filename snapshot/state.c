#include "snapshot/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void state_writer_free(struct state_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static uint8_t *writer_reserve(struct state_writer *w, size_t len)
{
	size_t need;

	if (w->err)
		return NULL;
	if (__builtin_add_overflow(w->len, len, &need) || need > STATE_MAX_RECORD) {
		w->err = err_fail(-EOVERFLOW, "state record would exceed %u bytes", STATE_MAX_RECORD);
		return NULL;
	}
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *buf;

		while (cap < need)
			cap *= 2;
		buf = realloc(w->buf, cap);
		if (!buf) {
			w->err = err_fail(-ENOMEM, "cannot grow state record to %zu bytes", cap);
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	w->len = need;
	return w->buf + need - len;
}

static void put_le(struct state_writer *w, uint64_t v, unsigned bytes)
{
	uint8_t *p = writer_reserve(w, bytes);

	for (unsigned i = 0; p && i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void state_put_u8(struct state_writer *w, uint8_t v) { put_le(w, v, 1); }
void state_put_u16(struct state_writer *w, uint16_t v) { put_le(w, v, 2); }
void state_put_u32(struct state_writer *w, uint32_t v) { put_le(w, v, 4); }
void state_put_u64(struct state_writer *w, uint64_t v) { put_le(w, v, 8); }

void state_put_bytes(struct state_writer *w, const void *src, size_t len)
{
	uint8_t *p = writer_reserve(w, len);

	if (p && len)
		memcpy(p, src, len);
}

void state_put_blob(struct state_writer *w, const void *src, size_t len)
{
	if (len > UINT32_MAX) {
		if (!w->err)
			w->err = err_fail(-EOVERFLOW, "blob of %zu bytes is too long", len);
		return;
	}
	state_put_u32(w, (uint32_t)len);
	state_put_bytes(w, src, len);
}

int state_writer_error(const struct state_writer *w)
{
	return w->err;
}

void state_reader_init(struct state_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
	r->err = 0;
}

static const uint8_t *reader_take(struct state_reader *r, size_t len)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	if (len > r->len - r->pos) {
		r->err = err_fail(-EINVAL, "state record truncated: need %zu bytes at offset %zu, %zu left",
				  len, r->pos, r->len - r->pos);
		return NULL;
	}
	p = r->buf + r->pos;
	r->pos += len;
	return p;
}

static uint64_t get_le(struct state_reader *r, unsigned bytes)
{
	const uint8_t *p = reader_take(r, bytes);
	uint64_t v = 0;

	for (unsigned i = 0; p && i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t state_get_u8(struct state_reader *r) { return (uint8_t)get_le(r, 1); }
uint16_t state_get_u16(struct state_reader *r) { return (uint16_t)get_le(r, 2); }
uint32_t state_get_u32(struct state_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t state_get_u64(struct state_reader *r) { return get_le(r, 8); }

void state_get_bytes(struct state_reader *r, void *dst, size_t len)
{
	const uint8_t *p = reader_take(r, len);

	if (p && len)
		memcpy(dst, p, len);
	else if (!p && len)
		memset(dst, 0, len);
}

size_t state_get_blob(struct state_reader *r, void *dst, size_t cap)
{
	uint32_t len = state_get_u32(r);

	if (r->err)
		return 0;
	if (len > cap) {
		r->err = err_fail(-EINVAL, "blob of %u bytes at offset %zu exceeds its limit of %zu",
				  len, r->pos - 4, cap);
		return 0;
	}
	state_get_bytes(r, dst, len);
	return r->err ? 0 : len;
}

size_t state_reader_remaining(const struct state_reader *r)
{
	return r->len - r->pos;
}

void state_reader_reject(struct state_reader *r, const char *what)
{
	if (!r->err)
		r->err = err_fail(-EINVAL, "invalid state record: %s", what);
}

int state_reader_error(const struct state_reader *r)
{
	return r->err;
}

int state_reader_finish(const struct state_reader *r)
{
	if (r->err)
		return r->err;
	if (r->pos != r->len)
		return err_fail(-EINVAL, "state record has %zu trailing bytes", r->len - r->pos);
	return 0;
}
