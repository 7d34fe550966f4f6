#include "snapshot/format.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/le.h"
#include "vmm/log.h"

/* ---- CRC-64/XZ ---- */

#define CRC64_XZ_POLY 0xC96C5795D7870F42ULL

static uint64_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_XZ_POLY : c >> 1;
		crc_table[i] = c;
	}
}

uint64_t snap_crc64(uint64_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian helpers ---- */

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	return bytes == 2 ? le16_read(p) : bytes == 4 ? le32_read(p) : le64_read(p);
}

/* ---- names ---- */

bool snap_tag_legacy(uint32_t tag)
{
	return tag >= SNAP_TAG_SERIAL && tag <= SNAP_TAG_LAST;
}

bool snap_tag_known(uint32_t tag)
{
	return tag >= SNAP_TAG_MACHINE && tag <= SNAP_TAG_LAST;
}

const char *snap_tag_name(uint32_t tag)
{
	static const char *const names[] = { "?",	   "MACHINE", "CLOCK", "IRQCHIP", "VCPU",
					     "DEVICE", "SERIAL", "I8042", "CMOS", "ACPI_PM", "PVPANIC" };

	return snap_tag_known(tag) ? names[tag] : "unknown";
}

const char *snap_device_kind_name(uint32_t kind)
{
	static const char *const names[] = { "?", "block", "net", "vsock", "rng", "balloon" };

	return kind >= SNAP_DEV_BLOCK && kind <= SNAP_DEV_BALLOON ? names[kind] : NULL;
}

/* ---- payload cursor ---- */

struct cur {
	const struct snap_record *r;
	size_t pos;
};

static int rec_err(const struct cur *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int rec_err(const struct cur *c, int err, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(err, "snapshot: %s record at offset %zu: %s (at offset %zu)", snap_tag_name(c->r->tag),
		       c->r->offset, msg, c->r->offset + SNAP_RECORD_HEADER_LEN + c->pos);
}

static size_t cur_left(const struct cur *c)
{
	return c->r->len - c->pos;
}

static int cur_get(struct cur *c, uint64_t *v, unsigned bytes, const char *field)
{
	if (cur_left(c) < bytes)
		return rec_err(c, -EBADMSG, "%s truncated: %u bytes needed, %zu left", field, bytes, cur_left(c));
	*v = get_le(c->r->data + c->pos, bytes);
	c->pos += bytes;
	return 0;
}

static int cur_u32(struct cur *c, uint32_t *v, const char *field)
{
	uint64_t x = 0;
	int err = cur_get(c, &x, 4, field);

	*v = (uint32_t)x;
	return err;
}

static int cur_u64(struct cur *c, uint64_t *v, const char *field)
{
	return cur_get(c, v, 8, field);
}

/* u32 length + bytes, length checked against `max` then against what is
 * left of the payload. */
static int cur_blob(struct cur *c, struct snap_blob *b, size_t max, const char *field)
{
	uint32_t len;
	int err = cur_u32(c, &len, field);

	if (err)
		return err;
	if (len > max)
		return rec_err(c, -E2BIG, "%s length %u exceeds the maximum %zu", field, len, max);
	if (len > cur_left(c))
		return rec_err(c, -EBADMSG, "%s length %u exceeds the %zu bytes left", field, len, cur_left(c));
	b->data = c->r->data + c->pos;
	b->len = len;
	c->pos += len;
	return 0;
}

/* The rest of the payload as one blob, capped at `max`. */
static int cur_rest(struct cur *c, struct snap_blob *b, size_t max, const char *field)
{
	if (cur_left(c) > max)
		return rec_err(c, -E2BIG, "%s of %zu bytes exceeds the maximum %zu", field, cur_left(c), max);
	b->data = c->r->data + c->pos;
	b->len = cur_left(c);
	c->pos = c->r->len;
	return 0;
}

static int cur_end(const struct cur *c)
{
	if (cur_left(c))
		return rec_err(c, -EBADMSG, "%zu trailing bytes", cur_left(c));
	return 0;
}

static int cur_open(struct cur *c, const struct snap_record *r, uint32_t tag)
{
	c->r = r;
	c->pos = 0;
	if (r->tag != tag)
		return err_set(-EINVAL, "snapshot: record at offset %zu is %s, not %s", r->offset, snap_tag_name(r->tag),
			       snap_tag_name(tag));
	return 0;
}

/* ---- decoders ---- */

int snap_decode_machine(const struct snap_record *r, struct snap_machine *m)
{
	struct cur c;
	uint64_t total = 0, prev_end = 0;
	int err;

	memset(m, 0, sizeof(*m));
	if ((err = cur_open(&c, r, SNAP_TAG_MACHINE)) || (err = cur_u32(&c, &m->vcpus, "vcpu count")) ||
	    (err = cur_u32(&c, &m->nregions, "region count")) || (err = cur_u64(&c, &m->mem_size, "memory size")))
		return err;
	if (m->vcpus == 0)
		return rec_err(&c, -EBADMSG, "vcpu count is 0");
	if (m->vcpus > SNAP_MAX_VCPUS)
		return rec_err(&c, -E2BIG, "vcpu count %u exceeds the maximum %u", m->vcpus, SNAP_MAX_VCPUS);
	if (m->nregions == 0)
		return rec_err(&c, -EBADMSG, "region count is 0");
	if (m->nregions > SNAP_MAX_REGIONS)
		return rec_err(&c, -E2BIG, "region count %u exceeds the maximum %u", m->nregions, SNAP_MAX_REGIONS);
	if ((size_t)m->nregions * 24 > cur_left(&c))
		return rec_err(&c, -EBADMSG, "%u regions need %u bytes, %zu left", m->nregions, m->nregions * 24,
			       cur_left(&c));
	for (uint32_t i = 0; i < m->nregions; i++) {
		struct snap_region *g = &m->regions[i];
		uint64_t end;

		cur_u64(&c, &g->gpa, "region gpa");
		cur_u64(&c, &g->size, "region size");
		cur_u64(&c, &g->file_offset, "region file offset");
		if (g->size == 0)
			return rec_err(&c, -EBADMSG, "region %u is empty", i);
		if (__builtin_add_overflow(g->gpa, g->size, &end) ||
		    __builtin_add_overflow(g->file_offset, g->size, &(uint64_t){ 0 }))
			return rec_err(&c, -EBADMSG, "region %u wraps around", i);
		if (i && g->gpa < prev_end)
			return rec_err(&c, -EBADMSG, "region %u at 0x%llx overlaps or precedes the previous one", i,
				       (unsigned long long)g->gpa);
		prev_end = end;
		total += g->size; /* ascending, non-wrapping regions: cannot overflow */
	}
	if (total != m->mem_size)
		return rec_err(&c, -EBADMSG, "regions total 0x%llx bytes, memory size is 0x%llx",
			       (unsigned long long)total, (unsigned long long)m->mem_size);
	return cur_end(&c);
}

int snap_decode_clock(const struct snap_record *r, struct snap_clock *k)
{
	struct cur c;
	int err;

	memset(k, 0, sizeof(*k));
	if ((err = cur_open(&c, r, SNAP_TAG_CLOCK)) || (err = cur_u64(&c, &k->clock, "kvmclock")) ||
	    (err = cur_u32(&c, &k->flags, "kvmclock flags")))
		return err;
	return cur_end(&c);
}

int snap_decode_irqchip(const struct snap_record *r, struct snap_irqchip *ic)
{
	struct cur c;
	int err;

	memset(ic, 0, sizeof(*ic));
	if ((err = cur_open(&c, r, SNAP_TAG_IRQCHIP)) ||
	    (err = cur_blob(&c, &ic->pic_master, SNAP_MAX_IRQCHIP_BLOB, "PIC master")) ||
	    (err = cur_blob(&c, &ic->pic_slave, SNAP_MAX_IRQCHIP_BLOB, "PIC slave")) ||
	    (err = cur_blob(&c, &ic->ioapic, SNAP_MAX_IRQCHIP_BLOB, "IOAPIC")) ||
	    (err = cur_blob(&c, &ic->pit, SNAP_MAX_IRQCHIP_BLOB, "PIT")))
		return err;
	return cur_end(&c);
}

int snap_decode_vcpu(const struct snap_record *r, struct snap_vcpu *v)
{
	struct cur c;
	int err;

	memset(v, 0, sizeof(*v));
	if ((err = cur_open(&c, r, SNAP_TAG_VCPU)) || (err = cur_u32(&c, &v->index, "vcpu index")))
		return err;
	if (v->index >= SNAP_MAX_VCPUS)
		return rec_err(&c, -E2BIG, "vcpu index %u is not below the maximum %u", v->index, SNAP_MAX_VCPUS);
	return cur_rest(&c, &v->state, SNAP_MAX_VCPU_STATE, "vcpu state");
}

int snap_decode_device(const struct snap_record *r, struct snap_device *d)
{
	struct cur c;
	int err;

	memset(d, 0, sizeof(*d));
	if ((err = cur_open(&c, r, SNAP_TAG_DEVICE)) || (err = cur_u32(&c, &d->kind, "device kind")))
		return err;
	if (!snap_device_kind_name(d->kind))
		return rec_err(&c, -EBADMSG, "unknown device kind %u", d->kind);
	if ((err = cur_u32(&c, &d->id, "device id")) ||
	    (err = cur_blob(&c, &d->transport, SNAP_MAX_TRANSPORT_STATE, "transport state")) ||
	    (err = cur_blob(&c, &d->backing, SNAP_MAX_BACKING, "backing")) ||
	    (err = cur_blob(&c, &d->state, SNAP_MAX_DEVICE_STATE, "device state")))
		return err;
	return cur_end(&c);
}

int snap_decode_legacy(const struct snap_record *r, struct snap_blob *b)
{
	struct cur c = { .r = r };

	memset(b, 0, sizeof(*b));
	if (!snap_tag_legacy(r->tag))
		return err_set(-EINVAL, "snapshot: record at offset %zu is %s, not a legacy device", r->offset,
			       snap_tag_name(r->tag));
	return cur_rest(&c, b, SNAP_MAX_LEGACY_STATE, "state");
}

/* ---- reader ---- */

void snap_file_free(struct snap_file *f)
{
	free(f->records);
	memset(f, 0, sizeof(*f));
}

const struct snap_record *snap_next(const struct snap_file *f, uint32_t tag, size_t *cursor)
{
	for (size_t i = *cursor; i < f->count; i++) {
		if (!tag || f->records[i].tag == tag) {
			*cursor = i + 1;
			return &f->records[i];
		}
	}
	*cursor = f->count;
	return NULL;
}

const struct snap_record *snap_find(const struct snap_file *f, uint32_t tag)
{
	size_t cursor = 0;

	return snap_next(f, tag, &cursor);
}

struct seen {
	bool single[SNAP_TAG_LAST + 1];
	uint8_t vcpu[SNAP_MAX_VCPUS / 8];
	uint32_t dev_ids[SNAP_MAX_DEVICES];
	unsigned ndev;
	bool machine;
	uint32_t vcpus;
};

static int check_record(const struct snap_record *r, struct seen *s)
{
	union {
		struct snap_machine m;
		struct snap_clock k;
		struct snap_irqchip ic;
		struct snap_vcpu v;
		struct snap_device d;
		struct snap_blob b;
	} u;
	int err;

	if (!snap_tag_known(r->tag)) {
		if (r->flags & SNAP_REC_OPTIONAL)
			return 0;
		return err_set(-EBADMSG, "snapshot: record at offset %zu has unknown tag %u and is not optional",
			       r->offset, r->tag);
	}
	if (r->tag != SNAP_TAG_VCPU && r->tag != SNAP_TAG_DEVICE) {
		if (s->single[r->tag])
			return err_set(-EBADMSG, "snapshot: duplicate %s record at offset %zu", snap_tag_name(r->tag),
				       r->offset);
		s->single[r->tag] = true;
	}
	switch (r->tag) {
	case SNAP_TAG_MACHINE:
		if ((err = snap_decode_machine(r, &u.m)))
			return err;
		s->machine = true;
		s->vcpus = u.m.vcpus;
		return 0;
	case SNAP_TAG_CLOCK:
		return snap_decode_clock(r, &u.k);
	case SNAP_TAG_IRQCHIP:
		return snap_decode_irqchip(r, &u.ic);
	case SNAP_TAG_VCPU:
		if ((err = snap_decode_vcpu(r, &u.v)))
			return err;
		if (s->vcpu[u.v.index / 8] & (1u << (u.v.index % 8)))
			return err_set(-EBADMSG, "snapshot: duplicate VCPU %u at offset %zu", u.v.index, r->offset);
		s->vcpu[u.v.index / 8] |= (uint8_t)(1u << (u.v.index % 8));
		return 0;
	case SNAP_TAG_DEVICE:
		if ((err = snap_decode_device(r, &u.d)))
			return err;
		if (s->ndev == SNAP_MAX_DEVICES)
			return err_set(-E2BIG, "snapshot: DEVICE record at offset %zu exceeds the maximum of %u devices",
				       r->offset, SNAP_MAX_DEVICES);
		for (unsigned i = 0; i < s->ndev; i++)
			if (s->dev_ids[i] == u.d.id)
				return err_set(-EBADMSG, "snapshot: duplicate device id %u at offset %zu", u.d.id,
					       r->offset);
		s->dev_ids[s->ndev++] = u.d.id;
		return 0;
	default: /* SERIAL, I8042, CMOS, ACPI_PM, PVPANIC */
		return snap_decode_legacy(r, &u.b);
	}
}

int snap_parse(const void *buf, size_t len, struct snap_file *f)
{
	const uint8_t *p = buf;
	uint64_t stored, crc;
	uint32_t count;
	size_t pos, end;
	struct seen *seen;
	int err = 0;

	memset(f, 0, sizeof(*f));
	if (len < SNAP_HEADER_LEN + SNAP_TRAILER_LEN)
		return err_set(-EBADMSG, "snapshot: file of %zu bytes is shorter than a header and trailer (%d)", len,
			       SNAP_HEADER_LEN + SNAP_TRAILER_LEN);
	if (len > SNAP_MAX_FILE)
		return err_set(-E2BIG, "snapshot: file of %zu bytes exceeds the maximum %u", len, SNAP_MAX_FILE);
	if (memcmp(p, SNAP_MAGIC, SNAP_MAGIC_LEN))
		return err_set(-EBADMSG, "snapshot: bad magic at offset 0");
	f->major = le16_read(p + 8);
	f->minor = le16_read(p + 10);
	if (f->major != SNAP_FORMAT_MAJOR) {
		err = err_set(-EINVAL, "snapshot: format version %u.%u at offset 8 is not supported (major %u only)",
			      f->major, f->minor, SNAP_FORMAT_MAJOR);
		memset(f, 0, sizeof(*f));
		return err;
	}
	end = len - SNAP_TRAILER_LEN;
	stored = le64_read(p + end);
	crc = snap_crc64(0, p, end);
	if (stored != crc) {
		memset(f, 0, sizeof(*f));
		return err_set(-EBADMSG, "snapshot: CRC-64 at offset %zu is 0x%016llx, the file's is 0x%016llx", end,
			       (unsigned long long)stored, (unsigned long long)crc);
	}
	count = le32_read(p + 12);
	if (count > SNAP_MAX_RECORDS) {
		memset(f, 0, sizeof(*f));
		return err_set(-E2BIG, "snapshot: record count %u at offset 12 exceeds the maximum %u", count,
			       SNAP_MAX_RECORDS);
	}
	if ((size_t)count * SNAP_RECORD_HEADER_LEN > end - SNAP_HEADER_LEN) {
		memset(f, 0, sizeof(*f));
		return err_set(-EBADMSG, "snapshot: record count %u at offset 12 needs more than the %zu bytes left",
			       count, end - SNAP_HEADER_LEN);
	}
	f->records = calloc(count ? count : 1, sizeof(*f->records));
	seen = calloc(1, sizeof(*seen));
	if (!f->records || !seen) {
		free(seen);
		snap_file_free(f);
		return err_set(-ENOMEM, "snapshot: cannot index %u records", count);
	}
	pos = SNAP_HEADER_LEN;
	for (uint32_t i = 0; i < count && !err; i++) {
		struct snap_record *r = &f->records[i];
		uint64_t rlen;

		if (end - pos < SNAP_RECORD_HEADER_LEN) {
			err = err_set(-EBADMSG, "snapshot: record %u header at offset %zu is truncated (%zu bytes left)", i,
				      pos, end - pos);
			break;
		}
		r->offset = pos;
		r->tag = le32_read(p + pos);
		r->flags = le32_read(p + pos + 4);
		rlen = le64_read(p + pos + 8);
		pos += SNAP_RECORD_HEADER_LEN;
		if (r->flags & ~SNAP_REC_OPTIONAL)
			err = err_set(-EBADMSG, "snapshot: record %u at offset %zu has reserved flags 0x%x", i, r->offset,
				      r->flags);
		else if (rlen > SNAP_MAX_RECORD)
			err = err_set(-E2BIG, "snapshot: record %u at offset %zu: length %llu exceeds the maximum %u", i,
				      r->offset, (unsigned long long)rlen, SNAP_MAX_RECORD);
		else if (rlen > end - pos)
			err = err_set(-EBADMSG, "snapshot: record %u at offset %zu: length %llu exceeds the %zu bytes left",
				      i, r->offset, (unsigned long long)rlen, end - pos);
		if (err)
			break;
		r->data = p + pos;
		r->len = (size_t)rlen;
		pos += r->len;
		f->count = i + 1;
	}
	if (!err && pos != end)
		err = err_set(-EBADMSG, "snapshot: %zu bytes after the last record at offset %zu", end - pos, pos);
	for (size_t i = 0; !err && i < f->count; i++)
		err = check_record(&f->records[i], seen);
	if (!err && seen->machine) {
		for (uint32_t v = SNAP_MAX_VCPUS; v-- > seen->vcpus;)
			if (seen->vcpu[v / 8] & (1u << (v % 8))) {
				err = err_set(-EBADMSG, "snapshot: VCPU %u but the MACHINE record has %u vcpus", v,
					      seen->vcpus);
				break;
			}
	}
	free(seen);
	if (err)
		snap_file_free(f);
	return err;
}

/* ---- writer ---- */

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int writer_fail(struct snap_writer *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

static uint8_t *writer_reserve(struct snap_writer *w, size_t len)
{
	size_t need;

	if (w->err)
		return NULL;
	if (w->finished) {
		writer_fail(w, err_set(-EINVAL, "snapshot writer: put after finish"));
		return NULL;
	}
	if (!w->len) {
		/* The header goes first; the count is patched by finish. */
		w->len = SNAP_HEADER_LEN;
		if (!writer_reserve(w, 0)) {
			w->len = 0;
			return NULL;
		}
		memcpy(w->buf, SNAP_MAGIC, SNAP_MAGIC_LEN);
		le16_write(w->buf + 8, SNAP_FORMAT_MAJOR);
		le16_write(w->buf + 10, SNAP_FORMAT_MINOR);
		le32_write(w->buf + 12, 0);
	}
	/* record_begin keeps the file within SNAP_MAX_FILE, trailer included. */
	need = w->len + len;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *buf;

		while (cap < need)
			cap *= 2;
		buf = realloc(w->buf, cap);
		if (!buf) {
			writer_fail(w, err_set(-ENOMEM, "snapshot writer: cannot grow to %zu bytes", cap));
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	w->len = need;
	return w->buf + need - len;
}

/* Starts a record of `len` payload bytes; returns where the payload goes. */
static uint8_t *record_begin(struct snap_writer *w, uint32_t tag, uint32_t flags, size_t len)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (w->count == SNAP_MAX_RECORDS) {
		writer_fail(w, err_set(-E2BIG, "snapshot writer: more than %u records", SNAP_MAX_RECORDS));
		return NULL;
	}
	/* len <= SNAP_MAX_RECORD (the callers cap every part). Leave room for
	 * the header (if not yet written) and the trailer. */
	if ((w->len ? w->len : SNAP_HEADER_LEN) + SNAP_RECORD_HEADER_LEN + len > SNAP_MAX_FILE - SNAP_TRAILER_LEN) {
		writer_fail(w, err_set(-E2BIG, "snapshot writer: file would exceed %u bytes", SNAP_MAX_FILE));
		return NULL;
	}
	p = writer_reserve(w, SNAP_RECORD_HEADER_LEN + len);
	if (!p)
		return NULL;
	le32_write(p, tag);
	le32_write(p + 4, flags);
	le64_write(p + 8, len);
	w->count++;
	return p + SNAP_RECORD_HEADER_LEN;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t len)
{
	if (len)
		memcpy(p, src, len);
	return p + len;
}

static uint8_t *put_blob(uint8_t *p, const struct snap_blob *b)
{
	le32_write(p, b->len);
	return put_bytes(p + 4, b->data, b->len);
}

static bool blob_ok(struct snap_writer *w, const struct snap_blob *b, size_t max, const char *what)
{
	if (w->err)
		return false;
	if (b->len > max) {
		writer_fail(w, err_set(-E2BIG, "snapshot writer: %s of %zu bytes exceeds the maximum %zu", what, b->len,
				       max));
		return false;
	}
	if (b->len && !b->data) {
		writer_fail(w, err_set(-EINVAL, "snapshot writer: %s has no data", what));
		return false;
	}
	return true;
}

void snap_put_record(struct snap_writer *w, uint32_t tag, uint32_t flags, const void *payload, size_t len)
{
	struct snap_blob b = { payload, len };
	uint8_t *p;

	if (!blob_ok(w, &b, SNAP_MAX_RECORD, "record"))
		return;
	p = record_begin(w, tag, flags, len);
	if (p)
		put_bytes(p, payload, len);
}

void snap_put_machine(struct snap_writer *w, const struct snap_machine *m)
{
	uint8_t *p;

	if (w->err)
		return;
	if (m->nregions > SNAP_MAX_REGIONS) {
		writer_fail(w, err_set(-E2BIG, "snapshot writer: %u memory regions exceed the maximum %u", m->nregions,
				       SNAP_MAX_REGIONS));
		return;
	}
	p = record_begin(w, SNAP_TAG_MACHINE, 0, 16 + (size_t)m->nregions * 24);
	if (!p)
		return;
	le32_write(p, m->vcpus);
	le32_write(p + 4, m->nregions);
	le64_write(p + 8, m->mem_size);
	p += 16;
	for (uint32_t i = 0; i < m->nregions; i++, p += 24) {
		le64_write(p, m->regions[i].gpa);
		le64_write(p + 8, m->regions[i].size);
		le64_write(p + 16, m->regions[i].file_offset);
	}
}

void snap_put_clock(struct snap_writer *w, const struct snap_clock *c)
{
	uint8_t *p = record_begin(w, SNAP_TAG_CLOCK, 0, 12);

	if (!p)
		return;
	le64_write(p, c->clock);
	le32_write(p + 8, c->flags);
}

void snap_put_irqchip(struct snap_writer *w, const struct snap_irqchip *ic)
{
	const struct snap_blob *parts[4] = { &ic->pic_master, &ic->pic_slave, &ic->ioapic, &ic->pit };
	static const char *const names[4] = { "PIC master", "PIC slave", "IOAPIC", "PIT" };
	size_t len = 0;
	uint8_t *p;

	for (int i = 0; i < 4; i++) {
		if (!blob_ok(w, parts[i], SNAP_MAX_IRQCHIP_BLOB, names[i]))
			return;
		len += 4 + parts[i]->len;
	}
	p = record_begin(w, SNAP_TAG_IRQCHIP, 0, len);
	for (int i = 0; p && i < 4; i++)
		p = put_blob(p, parts[i]);
}

void snap_put_vcpu(struct snap_writer *w, uint32_t index, const void *state, size_t len)
{
	struct snap_blob b = { state, len };
	uint8_t *p;

	if (!blob_ok(w, &b, SNAP_MAX_VCPU_STATE, "vcpu state"))
		return;
	p = record_begin(w, SNAP_TAG_VCPU, 0, 4 + len);
	if (!p)
		return;
	le32_write(p, index);
	put_bytes(p + 4, state, len);
}

void snap_put_device(struct snap_writer *w, const struct snap_device *d)
{
	uint8_t *p;

	if (w->err)
		return;
	if (!snap_device_kind_name(d->kind)) {
		writer_fail(w, err_set(-EINVAL, "snapshot writer: unknown device kind %u", d->kind));
		return;
	}
	if (!blob_ok(w, &d->transport, SNAP_MAX_TRANSPORT_STATE, "transport state") ||
	    !blob_ok(w, &d->backing, SNAP_MAX_BACKING, "backing") ||
	    !blob_ok(w, &d->state, SNAP_MAX_DEVICE_STATE, "device state"))
		return;
	p = record_begin(w, SNAP_TAG_DEVICE, 0, 20 + d->transport.len + d->backing.len + d->state.len);
	if (!p)
		return;
	le32_write(p, d->kind);
	le32_write(p + 4, d->id);
	p = put_blob(p + 8, &d->transport);
	p = put_blob(p, &d->backing);
	put_blob(p, &d->state);
}

void snap_put_legacy(struct snap_writer *w, uint32_t tag, const void *state, size_t len)
{
	struct snap_blob b = { state, len };
	uint8_t *p;

	if (!snap_tag_legacy(tag)) {
		writer_fail(w, err_set(-EINVAL, "snapshot writer: tag %u is not a legacy device", tag));
		return;
	}
	if (!blob_ok(w, &b, SNAP_MAX_LEGACY_STATE, snap_tag_name(tag)))
		return;
	p = record_begin(w, tag, 0, len);
	if (p)
		put_bytes(p, state, len);
}


int snap_writer_finish(struct snap_writer *w, const uint8_t **data, size_t *len)
{
	struct snap_file f;
	uint8_t *p;
	int err;

	*data = NULL;
	*len = 0;
	if (w->err)
		return w->err;
	if (w->finished)
		return writer_fail(w, err_set(-EINVAL, "snapshot writer: finished twice"));
	p = writer_reserve(w, SNAP_TRAILER_LEN); /* writes the header if nothing else did */
	if (!p)
		return w->err;
	le32_write(w->buf + 12, w->count);
	le64_write(p, snap_crc64(0, w->buf, w->len - SNAP_TRAILER_LEN));
	w->finished = true;
	err = snap_parse(w->buf, w->len, &f);
	if (err)
		return writer_fail(w, err_wrap(err, "snapshot writer: the container is invalid"));
	snap_file_free(&f);
	*data = w->buf;
	*len = w->len;
	return 0;
}
