#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot/format.h"
#include "vmm/log.h"

static const uint8_t pic_m[16] = { 1, 2, 3 }, pic_s[16] = { 4, 5 }, ioapic[200] = { 6 }, pit[112] = { 7 };
static const uint8_t vstate[4][300] = { { 0x10 }, { 0x11 }, { 0x12 }, { 0x13 } };
static const char serial_state[] = "serial-16550", i8042_state[] = "i8042";

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the trailer after a test patched the file, so the structural
 * check (not the CRC) is what rejects it. */
static void reseal(uint8_t *buf, size_t len)
{
	le64(buf + len - SNAP_TRAILER_LEN, snap_crc64(0, buf, len - SNAP_TRAILER_LEN));
}

static struct snap_machine sample_machine(void)
{
	struct snap_machine m = { .vcpus = 4, .nregions = 2, .mem_size = (3ull << 30) + (1ull << 30) };

	m.regions[0] = (struct snap_region){ 0, 3ull << 30, 0 };
	m.regions[1] = (struct snap_region){ 4ull << 30, 1ull << 30, 3ull << 30 };
	return m;
}

static void put_full(struct snap_writer *w)
{
	struct snap_machine m = sample_machine();
	struct snap_clock c = { 0x123456789abcull, 2 };
	struct snap_irqchip ic = { { pic_m, sizeof(pic_m) }, { pic_s, sizeof(pic_s) }, { ioapic, sizeof(ioapic) },
				   { pit, sizeof(pit) } };

	snap_put_machine(w, &m);
	snap_put_clock(w, &c);
	snap_put_irqchip(w, &ic);
	for (uint32_t i = 0; i < 4; i++)
		snap_put_vcpu(w, i, vstate[i], sizeof(vstate[i]));
	for (uint32_t k = SNAP_DEV_BLOCK; k <= SNAP_DEV_BALLOON; k++) {
		struct snap_device d = { .kind = k, .id = 10 + k };

		d.transport = (struct snap_blob){ (const uint8_t *)"mmio-transport", 14 };
		d.backing = (struct snap_blob){ (const uint8_t *)"/path/to/backing", k == SNAP_DEV_RNG ? 0 : 16 };
		d.state = (struct snap_blob){ vstate[k % 4], 40 + k };
		snap_put_device(w, &d);
	}
	snap_put_legacy(w, SNAP_TAG_SERIAL, serial_state, sizeof(serial_state));
	snap_put_legacy(w, SNAP_TAG_I8042, i8042_state, sizeof(i8042_state));
}

/* A finished full container, copied to a heap buffer the caller frees. */
static uint8_t *full_file(size_t *len)
{
	struct snap_writer w;
	const uint8_t *data;
	uint8_t *copy;

	snap_writer_init(&w);
	put_full(&w);
	assert_int_equal(snap_writer_finish(&w, &data, len), 0);
	copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, data, *len);
	snap_writer_free(&w);
	return copy;
}

static int parse(const uint8_t *buf, size_t len)
{
	struct snap_file f;
	int err = snap_parse(buf, len, &f);

	if (!err)
		snap_file_free(&f);
	else
		assert_null(f.records);
	return err;
}

/* Builds a container from raw records: (tag, payload, len) triples. */
static uint8_t *raw_file(size_t *len, unsigned n, const uint32_t *tags, const uint32_t *flags, const void *const *payloads,
			 const size_t *lens)
{
	size_t total = SNAP_HEADER_LEN + SNAP_TRAILER_LEN, pos = SNAP_HEADER_LEN;
	uint8_t *buf;

	for (unsigned i = 0; i < n; i++)
		total += SNAP_RECORD_HEADER_LEN + lens[i];
	buf = calloc(1, total);
	assert_non_null(buf);
	memcpy(buf, SNAP_MAGIC, 8);
	buf[8] = SNAP_FORMAT_MAJOR;
	buf[10] = SNAP_FORMAT_MINOR;
	le32(buf + 12, n);
	for (unsigned i = 0; i < n; i++) {
		le32(buf + pos, tags[i]);
		le32(buf + pos + 4, flags ? flags[i] : 0);
		le64(buf + pos + 8, lens[i]);
		if (lens[i])
			memcpy(buf + pos + 16, payloads[i], lens[i]);
		pos += SNAP_RECORD_HEADER_LEN + lens[i];
	}
	reseal(buf, total);
	*len = total;
	return buf;
}

static int parse_one(uint32_t tag, uint32_t flags, const void *payload, size_t plen)
{
	size_t len;
	uint8_t *buf = raw_file(&len, 1, &tag, &flags, &payload, &plen);
	int err = parse(buf, len);

	free(buf);
	return err;
}

static void test_crc64_reference(void **state)
{
	(void)state;
	/* CRC-64/XZ check value. */
	assert_true(snap_crc64(0, "123456789", 9) == 0x995DC9BBDF1939FAull);
	assert_true(snap_crc64(snap_crc64(0, "1234", 4), "56789", 5) == 0x995DC9BBDF1939FAull);
	assert_true(snap_crc64(0, "", 0) == 0);
}

static void test_empty_round_trip(void **state)
{
	struct snap_writer w, w2;
	const uint8_t *data, *data2;
	size_t len, len2;
	struct snap_file f;
	static const uint8_t head[16] = { 'E', 'M', 'B', 'E', 'R', 'S', 'N', 'P', 1, 0, 0, 0, 0, 0, 0, 0 };

	(void)state;
	snap_writer_init(&w);
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	assert_int_equal(len, 24);
	assert_memory_equal(data, head, 16);
	assert_int_equal(snap_parse(data, len, &f), 0);
	assert_int_equal(f.count, 0);
	assert_int_equal(f.major, 1);
	assert_int_equal(f.minor, 0);
	assert_null(snap_find(&f, SNAP_TAG_MACHINE));
	snap_writer_init(&w2);
	assert_int_equal(snap_writer_finish(&w2, &data2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(data2, data, len);
	snap_file_free(&f);
	snap_writer_free(&w);
	snap_writer_free(&w2);
}

static void test_full_round_trip(void **state)
{
	struct snap_writer w;
	const struct snap_record *r;
	struct snap_machine m, m0 = sample_machine();
	struct snap_clock c;
	struct snap_irqchip ic;
	struct snap_vcpu v;
	struct snap_device d;
	struct snap_blob b;
	struct snap_file f;
	const uint8_t *data;
	size_t len, flen, cursor = 0, n = 0;
	uint8_t *file = full_file(&flen);

	(void)state;
	assert_int_equal(snap_parse(file, flen, &f), 0);
	assert_int_equal(f.count, 1 + 1 + 1 + 4 + 5 + 1 + 1);
	snap_writer_init(&w);

	assert_non_null(r = snap_find(&f, SNAP_TAG_MACHINE));
	assert_int_equal(snap_decode_machine(r, &m), 0);
	assert_memory_equal(&m, &m0, sizeof(m));
	snap_put_machine(&w, &m);

	assert_int_equal(snap_decode_clock(snap_find(&f, SNAP_TAG_CLOCK), &c), 0);
	assert_true(c.clock == 0x123456789abcull && c.flags == 2);
	snap_put_clock(&w, &c);

	assert_int_equal(snap_decode_irqchip(snap_find(&f, SNAP_TAG_IRQCHIP), &ic), 0);
	assert_int_equal(ic.ioapic.len, sizeof(ioapic));
	assert_memory_equal(ic.pit.data, pit, sizeof(pit));
	snap_put_irqchip(&w, &ic);

	while ((r = snap_next(&f, SNAP_TAG_VCPU, &cursor))) {
		assert_int_equal(snap_decode_vcpu(r, &v), 0);
		assert_int_equal(v.index, n);
		assert_int_equal(v.state.len, sizeof(vstate[n]));
		assert_memory_equal(v.state.data, vstate[n], v.state.len);
		snap_put_vcpu(&w, v.index, v.state.data, v.state.len);
		n++;
	}
	assert_int_equal(n, 4);
	cursor = 0;
	n = 0;
	while ((r = snap_next(&f, SNAP_TAG_DEVICE, &cursor))) {
		assert_int_equal(snap_decode_device(r, &d), 0);
		assert_int_equal(d.kind, SNAP_DEV_BLOCK + n);
		assert_int_equal(d.id, 10 + d.kind);
		assert_memory_equal(d.transport.data, "mmio-transport", 14);
		snap_put_device(&w, &d);
		n++;
	}
	assert_int_equal(n, 5);
	assert_int_equal(snap_decode_legacy(snap_find(&f, SNAP_TAG_SERIAL), &b), 0);
	assert_memory_equal(b.data, serial_state, sizeof(serial_state));
	snap_put_legacy(&w, SNAP_TAG_SERIAL, b.data, b.len);
	assert_int_equal(snap_decode_legacy(snap_find(&f, SNAP_TAG_I8042), &b), 0);
	snap_put_legacy(&w, SNAP_TAG_I8042, b.data, b.len);

	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	assert_int_equal(len, flen);
	assert_memory_equal(data, file, flen);

	/* Iterating every record visits them in file order. */
	cursor = 0;
	n = 0;
	while ((r = snap_next(&f, 0, &cursor)))
		assert_int_equal(r->offset, n++ ? r->offset : SNAP_HEADER_LEN);
	assert_int_equal(n, f.count);
	snap_file_free(&f);
	snap_writer_free(&w);
	free(file);
}

static void test_every_prefix_rejected(void **state)
{
	size_t len;
	uint8_t *file = full_file(&len);

	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, file, cut);
		assert_int_not_equal(parse(p, cut), 0);
		free(p);
	}
	assert_int_equal(parse(file, len), 0);
	free(file);
}

static void test_every_byte_flip_rejected(void **state)
{
	struct snap_writer w;
	struct snap_machine m = sample_machine();
	struct snap_device d = { .kind = SNAP_DEV_NET, .id = 1, .backing = { (const uint8_t *)"tap0", 4 } };
	const uint8_t *data;
	uint8_t *copy;
	size_t len;

	(void)state;
	snap_writer_init(&w);
	snap_put_machine(&w, &m);
	snap_put_vcpu(&w, 0, "regs", 4);
	snap_put_device(&w, &d);
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	copy = malloc(len);
	for (size_t i = 0; i < len; i++) {
		static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x5a };

		for (size_t k = 0; k < sizeof(masks); k++) {
			memcpy(copy, data, len);
			copy[i] ^= masks[k];
			assert_int_not_equal(parse(copy, len), 0);
		}
	}
	free(copy);
	snap_writer_free(&w);
}

static void test_bad_crc_and_magic(void **state)
{
	size_t len;
	uint8_t *file = full_file(&len);

	(void)state;
	file[len - 1] ^= 1;
	assert_int_equal(parse(file, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "CRC"));
	file[len - 1] ^= 1;
	file[0] = 'X';
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "magic"));
	free(file);
	/* Size is checked before anything is read (the buffer is not that big). */
	assert_int_equal(snap_parse("x", (size_t)SNAP_MAX_FILE + 1, &(struct snap_file){ 0 }), -E2BIG);
}

static void test_version_policy(void **state)
{
	size_t len;
	uint8_t *file = full_file(&len);
	uint32_t tags[2] = { SNAP_TAG_CLOCK, 0x1000 }, flags[2] = { 0, SNAP_REC_OPTIONAL };
	uint8_t clk[12] = { 0 };
	const void *payloads[2] = { clk, "future" };
	size_t lens[2] = { 12, 6 };
	struct snap_file f;
	uint8_t *raw;

	(void)state;
	file[8] = SNAP_FORMAT_MAJOR + 1; /* newer major */
	reseal(file, len);
	assert_int_equal(parse(file, len), -EINVAL);
	assert_non_null(strstr(err_last(), "version 2.0"));
	file[8] = 0; /* older major: none exists */
	reseal(file, len);
	assert_int_equal(parse(file, len), -EINVAL);
	/* Our major, minor 0 (the current, and oldest, minor). */
	file[8] = SNAP_FORMAT_MAJOR;
	file[10] = 0;
	reseal(file, len);
	assert_int_equal(parse(file, len), 0);
	/* A newer minor that only adds an optional record is read; the record
	 * is kept in the index, unknown. */
	raw = raw_file(&len, 2, tags, flags, payloads, lens);
	raw[10] = SNAP_FORMAT_MINOR + 3;
	reseal(raw, len);
	assert_int_equal(snap_parse(raw, len, &f), 0);
	assert_int_equal(f.minor, SNAP_FORMAT_MINOR + 3);
	assert_int_equal(f.count, 2);
	assert_false(snap_tag_known(f.records[1].tag));
	assert_string_equal(snap_tag_name(f.records[1].tag), "unknown");
	assert_memory_equal(f.records[1].data, "future", 6);
	snap_file_free(&f);
	/* The same record without the optional flag is refused. */
	flags[1] = 0;
	free(raw);
	raw = raw_file(&len, 2, tags, flags, payloads, lens);
	assert_int_equal(parse(raw, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "unknown tag 4096"));
	free(raw);
	free(file);
}

static void test_hostile_record_lengths(void **state)
{
	size_t len;
	uint8_t *file = full_file(&len);
	const size_t first = SNAP_HEADER_LEN; /* MACHINE record header */

	(void)state;
	le64(file + first + 8, UINT64_MAX);
	reseal(file, len);
	assert_int_equal(parse(file, len), -E2BIG);
	assert_non_null(strstr(err_last(), "offset 16"));
	le64(file + first + 8, len); /* under the maximum, past the end */
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	le64(file + first + 8, 16 + 2 * 24 - 1); /* one short: the next header is misread */
	reseal(file, len);
	assert_int_not_equal(parse(file, len), 0);
	free(file);

	/* Record count: over the maximum, over what the file can hold, and
	 * fewer than the records present (trailing bytes). */
	file = full_file(&len);
	le32(file + 12, UINT32_MAX);
	reseal(file, len);
	assert_int_equal(parse(file, len), -E2BIG);
	le32(file + 12, SNAP_MAX_RECORDS);
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	le32(file + 12, 13);
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	le32(file + 12, 15); /* one more record header than the file holds */
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "record 14 header"));
	le32(file + 12, 3);
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "after the last record"));
	/* Reserved flag bits. */
	le32(file + 12, 14);
	file[first + 5] = 1;
	reseal(file, len);
	assert_int_equal(parse(file, len), -EBADMSG);
	assert_non_null(strstr(err_last(), "reserved flags"));
	free(file);
}

static void test_hostile_blob_lengths(void **state)
{
	uint8_t ic[4 * 4 + 8] = { 0 };
	uint8_t dev[8 + 12 + 4] = { 0 };

	(void)state;
	/* IRQCHIP: a sub-blob length of u32 max, one just over the cap, one
	 * under the cap but past the payload, a truncated length field. */
	le32(ic, UINT32_MAX);
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, sizeof(ic)), -E2BIG);
	assert_non_null(strstr(err_last(), "PIC master length"));
	le32(ic, SNAP_MAX_IRQCHIP_BLOB + 1);
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, sizeof(ic)), -E2BIG);
	le32(ic, 0);
	le32(ic + 4, 100);
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, sizeof(ic)), -EBADMSG);
	le32(ic + 4, 0);
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, 14), -EBADMSG);
	assert_non_null(strstr(err_last(), "truncated"));
	/* 4 empty blobs + 8 trailing bytes. */
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, sizeof(ic)), -EBADMSG);
	assert_non_null(strstr(err_last(), "trailing"));
	assert_int_equal(parse_one(SNAP_TAG_IRQCHIP, 0, ic, 16), 0);

	/* DEVICE: hostile backing length. */
	le32(dev, SNAP_DEV_BLOCK);
	le32(dev + 12, UINT32_MAX);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, 20), -E2BIG);
	le32(dev + 12, 4);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, 20), -EBADMSG);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, sizeof(dev)), 0);
	le32(dev + 12, 0);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, 6), -EBADMSG);

	/* Opaque whole-payload states over their caps. */
	{
		size_t big = SNAP_MAX_LEGACY_STATE + 1;
		uint8_t *p = calloc(1, SNAP_MAX_VCPU_STATE + 8);

		assert_int_equal(parse_one(SNAP_TAG_SERIAL, 0, p, big), -E2BIG);
		assert_int_equal(parse_one(SNAP_TAG_I8042, 0, p, big), -E2BIG);
		assert_int_equal(parse_one(SNAP_TAG_VCPU, 0, p, SNAP_MAX_VCPU_STATE + 5), -E2BIG);
		assert_int_equal(parse_one(SNAP_TAG_VCPU, 0, p, SNAP_MAX_VCPU_STATE + 4), 0);
		assert_int_equal(parse_one(SNAP_TAG_VCPU, 0, p, 3), -EBADMSG);
		le32(p, SNAP_MAX_VCPUS);
		assert_int_equal(parse_one(SNAP_TAG_VCPU, 0, p, 4), -E2BIG);
		free(p);
	}
	/* CLOCK must be exactly 12 bytes. */
	assert_int_equal(parse_one(SNAP_TAG_CLOCK, 0, ic, 12), 0);
	assert_int_equal(parse_one(SNAP_TAG_CLOCK, 0, ic, 11), -EBADMSG);
	assert_int_equal(parse_one(SNAP_TAG_CLOCK, 0, ic, 13), -EBADMSG);
}

static void test_unknown_device_kind(void **state)
{
	uint8_t dev[20] = { 0 };
	struct snap_writer w;
	struct snap_device d = { .kind = 6 };
	const uint8_t *data;
	size_t len;

	(void)state;
	le32(dev, 6);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, sizeof(dev)), -EBADMSG);
	assert_non_null(strstr(err_last(), "unknown device kind 6"));
	le32(dev, 0);
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, 0, dev, sizeof(dev)), -EBADMSG);
	/* Optional does not excuse a known tag's bad payload. */
	assert_int_equal(parse_one(SNAP_TAG_DEVICE, SNAP_REC_OPTIONAL, dev, sizeof(dev)), -EBADMSG);
	assert_null(snap_device_kind_name(6));
	assert_string_equal(snap_device_kind_name(SNAP_DEV_BALLOON), "balloon");
	snap_writer_init(&w);
	snap_put_device(&w, &d);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EINVAL);
	assert_null(data);
	snap_writer_free(&w);
}

static void test_machine_layout(void **state)
{
	uint8_t p[16 + 3 * 24];
	struct snap_machine m = sample_machine();

	(void)state;
#define MACH(vcpus, nreg, mem)                  \
	do {                                    \
		memset(p, 0, sizeof(p));        \
		le32(p, vcpus);                 \
		le32(p + 4, nreg);              \
		le64(p + 8, mem);               \
	} while (0)
#define REG(i, gpa, size, off)                  \
	do {                                    \
		le64(p + 16 + 24 * (i), gpa);   \
		le64(p + 24 + 24 * (i), size);  \
		le64(p + 32 + 24 * (i), off);   \
	} while (0)
	MACH(1, 1, 0x1000);
	REG(0, 0, 0x1000, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 41), -EBADMSG); /* trailing */
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 39), -EBADMSG); /* short */
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 15), -EBADMSG); /* truncated header */
	le32(p, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG);
	le32(p, SNAP_MAX_VCPUS + 1);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -E2BIG);
	le32(p, 1);
	le32(p + 4, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG);
	le32(p + 4, SNAP_MAX_REGIONS + 1);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -E2BIG);
	le32(p + 4, UINT32_MAX);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -E2BIG);
	le32(p + 4, 1);
	le64(p + 8, 0x2000); /* sizes do not add up */
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG);
	MACH(1, 1, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG); /* empty region */
	MACH(1, 1, 0x1000);
	REG(0, UINT64_MAX - 0xfff, 0x1000, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG); /* gpa wraps */
	REG(0, 0, 0x1000, UINT64_MAX);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 40), -EBADMSG); /* file offset wraps */
	MACH(1, 2, 0x2000);
	REG(0, 0x1000, 0x1000, 0);
	REG(1, 0x1800, 0x1000, 0x1000);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 64), -EBADMSG); /* overlap */
	REG(1, 0, 0x1000, 0x1000);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 64), -EBADMSG); /* descending */
	REG(1, 0x2000, 0x1000, 0x1000);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, 64), 0);
	MACH(1, 3, 0);
	REG(0, 0, 1ull << 63, 0);
	REG(1, 1ull << 63, 1ull << 62, 0);
	REG(2, 3ull << 62, 1ull << 62, 0);
	assert_int_equal(parse_one(SNAP_TAG_MACHINE, 0, p, sizeof(p)), -EBADMSG); /* total overflows */
#undef MACH
#undef REG
	{
		struct snap_writer w;
		const uint8_t *data;
		size_t len;

		m.nregions = SNAP_MAX_REGIONS + 1;
		snap_writer_init(&w);
		snap_put_machine(&w, &m);
		assert_int_equal(snap_writer_finish(&w, &data, &len), -E2BIG);
		snap_writer_free(&w);
	}
}

static void test_multiplicity(void **state)
{
	struct snap_writer w;
	struct snap_machine m = sample_machine();
	struct snap_clock c = { 1, 0 };
	struct snap_device d = { .kind = SNAP_DEV_RNG, .id = 7 };
	const uint8_t *data;
	size_t len;

	(void)state;
	/* Duplicate MACHINE: the writer's self-check refuses it, and so does
	 * the reader on a file built by hand. */
	snap_writer_init(&w);
	snap_put_machine(&w, &m);
	snap_put_machine(&w, &m);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	assert_non_null(strstr(err_last(), "duplicate MACHINE"));
	snap_writer_free(&w);
	{
		uint8_t mp[40] = { 0 };
		uint32_t tags[2] = { SNAP_TAG_MACHINE, SNAP_TAG_MACHINE };
		const void *pl[2] = { mp, mp };
		size_t lens[2] = { 40, 40 };
		uint8_t *raw;

		le32(mp, 1);
		le32(mp + 4, 1);
		le64(mp + 8, 0x1000);
		le64(mp + 24, 0x1000);
		raw = raw_file(&len, 2, tags, NULL, pl, lens);
		assert_int_equal(parse(raw, len), -EBADMSG);
		assert_non_null(strstr(err_last(), "duplicate MACHINE record at offset 72"));
		free(raw);
	}
	snap_writer_init(&w);
	snap_put_clock(&w, &c);
	snap_put_clock(&w, &c);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	snap_writer_free(&w);
	/* Duplicate vCPU index. */
	snap_writer_init(&w);
	snap_put_vcpu(&w, 3, "a", 1);
	snap_put_vcpu(&w, 3, "b", 1);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	snap_writer_free(&w);
	/* vCPU index not below the MACHINE record's count (either order). */
	snap_writer_init(&w);
	snap_put_vcpu(&w, 4, "a", 1);
	snap_put_machine(&w, &m);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	assert_non_null(strstr(err_last(), "VCPU 4"));
	snap_writer_free(&w);
	/* Duplicate device id. */
	snap_writer_init(&w);
	snap_put_device(&w, &d);
	snap_put_device(&w, &d);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	snap_writer_free(&w);
	/* Too many devices. */
	snap_writer_init(&w);
	for (uint32_t i = 0; i <= SNAP_MAX_DEVICES; i++) {
		d.id = i;
		snap_put_device(&w, &d);
	}
	assert_int_equal(snap_writer_finish(&w, &data, &len), -E2BIG);
	snap_writer_free(&w);
}

static void test_writer_limits(void **state)
{
	struct snap_writer w;
	struct snap_irqchip ic = { .pit = { pit, SNAP_MAX_IRQCHIP_BLOB + 1 } };
	struct snap_device d = { .kind = SNAP_DEV_NET, .backing = { pit, SNAP_MAX_BACKING + 1 } };
	const uint8_t *data;
	size_t len;

	(void)state;
	/* Over-cap blobs are refused before anything is read from them. */
	snap_writer_init(&w);
	snap_put_irqchip(&w, &ic);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -E2BIG);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_device(&w, &d);
	assert_int_equal(w.err, -E2BIG);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_vcpu(&w, 0, pit, SNAP_MAX_VCPU_STATE + 1);
	assert_int_equal(w.err, -E2BIG);
	snap_put_legacy(&w, SNAP_TAG_SERIAL, "x", 1); /* sticky */
	assert_int_equal(w.len, 0);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_legacy(&w, SNAP_TAG_SERIAL, pit, SNAP_MAX_LEGACY_STATE + 1);
	assert_int_equal(w.err, -E2BIG);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_record(&w, 0x99, SNAP_REC_OPTIONAL, pit, (size_t)SNAP_MAX_RECORD + 1);
	assert_int_equal(w.err, -E2BIG);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_legacy(&w, SNAP_TAG_I8042, NULL, 3);
	assert_int_equal(w.err, -EINVAL);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_legacy(&w, SNAP_TAG_VCPU, "x", 1); /* not a legacy tag */
	assert_int_equal(w.err, -EINVAL);
	snap_writer_free(&w);
	/* Record count cap. */
	snap_writer_init(&w);
	for (unsigned i = 0; i <= SNAP_MAX_RECORDS; i++)
		snap_put_record(&w, 0x99, SNAP_REC_OPTIONAL, NULL, 0);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -E2BIG);
	snap_writer_free(&w);
	/* Put after finish, finish twice. */
	snap_writer_init(&w);
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EINVAL);
	snap_writer_free(&w);
	snap_writer_init(&w);
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	snap_put_legacy(&w, SNAP_TAG_SERIAL, "x", 1);
	assert_int_equal(w.err, -EINVAL);
	snap_writer_free(&w);
}

static void test_writer_file_cap(void **state)
{
	struct snap_writer w;
	uint8_t *chunk = calloc(1, SNAP_MAX_RECORD);
	const uint8_t *data;
	size_t len;

	(void)state;
	assert_non_null(chunk);
	snap_writer_init(&w);
	for (int i = 0; i < 3; i++)
		snap_put_record(&w, 0x99, SNAP_REC_OPTIONAL, chunk, SNAP_MAX_RECORD);
	assert_int_equal(w.err, 0);
	snap_put_record(&w, 0x99, SNAP_REC_OPTIONAL, chunk, SNAP_MAX_RECORD);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -E2BIG);
	assert_true(w.len <= SNAP_MAX_FILE);
	snap_writer_free(&w);
	free(chunk);
}

/* Every legacy device tag round-trips; each may appear once. */
static void test_legacy_tags(void **state)
{
	static const uint32_t tags[] = { SNAP_TAG_SERIAL, SNAP_TAG_I8042, SNAP_TAG_CMOS, SNAP_TAG_ACPI_PM,
					 SNAP_TAG_PVPANIC };
	struct snap_writer w;
	struct snap_file f;
	struct snap_blob b;
	const uint8_t *data;
	size_t len;

	(void)state;
	snap_writer_init(&w);
	for (unsigned i = 0; i < 5; i++)
		snap_put_legacy(&w, tags[i], serial_state, i + 1);
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	assert_int_equal(snap_parse(data, len, &f), 0);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(snap_tag_legacy(tags[i]));
		assert_int_equal(snap_decode_legacy(snap_find(&f, tags[i]), &b), 0);
		assert_int_equal(b.len, i + 1);
		assert_string_not_equal(snap_tag_name(tags[i]), "unknown");
	}
	assert_false(snap_tag_legacy(SNAP_TAG_DEVICE));
	assert_false(snap_tag_legacy(SNAP_TAG_LAST + 1));
	snap_file_free(&f);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_put_legacy(&w, SNAP_TAG_CMOS, "a", 1);
	snap_put_legacy(&w, SNAP_TAG_CMOS, "b", 1);
	assert_int_equal(snap_writer_finish(&w, &data, &len), -EBADMSG);
	snap_writer_free(&w);
}

static void test_decode_wrong_tag(void **state)
{
	struct snap_record r = { .tag = SNAP_TAG_CLOCK, .offset = 16, .data = (const uint8_t *)"", .len = 0 };
	struct snap_machine m;
	struct snap_clock c;
	struct snap_irqchip ic;
	struct snap_vcpu v;
	struct snap_device d;
	struct snap_blob b;

	(void)state;
	assert_int_equal(snap_decode_machine(&r, &m), -EINVAL);
	assert_int_equal(snap_decode_irqchip(&r, &ic), -EINVAL);
	assert_int_equal(snap_decode_vcpu(&r, &v), -EINVAL);
	assert_int_equal(snap_decode_device(&r, &d), -EINVAL);
	assert_int_equal(snap_decode_legacy(&r, &b), -EINVAL);
	assert_non_null(strstr(err_last(), "not a legacy device"));
	r.tag = SNAP_TAG_MACHINE;
	assert_int_equal(snap_decode_clock(&r, &c), -EINVAL);
	assert_string_equal(snap_tag_name(SNAP_TAG_IRQCHIP), "IRQCHIP");
	assert_string_equal(snap_tag_name(0), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64_reference),
		cmocka_unit_test(test_empty_round_trip),
		cmocka_unit_test(test_full_round_trip),
		cmocka_unit_test(test_every_prefix_rejected),
		cmocka_unit_test(test_every_byte_flip_rejected),
		cmocka_unit_test(test_bad_crc_and_magic),
		cmocka_unit_test(test_version_policy),
		cmocka_unit_test(test_hostile_record_lengths),
		cmocka_unit_test(test_hostile_blob_lengths),
		cmocka_unit_test(test_unknown_device_kind),
		cmocka_unit_test(test_machine_layout),
		cmocka_unit_test(test_multiplicity),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_writer_file_cap),
		cmocka_unit_test(test_decode_wrong_tag),
		cmocka_unit_test(test_legacy_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
