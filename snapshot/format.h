/* The snapshot container: one little-endian file of tagged records.
 *
 * Layout (all integers little-endian):
 *
 *   header   16 bytes  "EMBERSNP" | u16 major | u16 minor | u32 record count
 *   record   16 bytes  u32 tag | u32 flags | u64 payload length
 *            + payload (length bytes), repeated `record count` times
 *   trailer   8 bytes  u64 CRC-64/XZ of every byte before the trailer
 *
 * CRC-64/XZ (a.k.a. CRC-64/GO-ECMA): reflected polynomial
 * 0xC96C5795D7870F42, init and final xor all ones; "123456789" gives
 * 0x995DC9BBDF1939FA (pinned by a unit test).
 *
 * Payloads of the known tags:
 *   MACHINE  u32 vcpus | u32 nregions | u64 mem size
 *            | nregions x { u64 gpa | u64 size | u64 offset in the RAM file }
 *            regions ascending, non-overlapping, non-empty, sizes sum to
 *            mem size. Guest RAM itself lives in a separate file.
 *   CLOCK    u64 kvmclock | u32 kvmclock flags
 *   IRQCHIP  4 x { u32 len | bytes }: PIC master, PIC slave, IOAPIC, PIT
 *   VCPU     u32 index | opaque vCPU state (the rest of the payload)
 *   DEVICE   u32 kind | u32 id | 3 x { u32 len | bytes }: transport state,
 *            backing (path, tap name, ...), device state
 *   SERIAL, I8042, CMOS, ACPI_PM, PVPANIC ("legacy" devices)
 *            the device's opaque state record (the whole payload)
 * Every payload must be consumed exactly; opaque blobs are capped below.
 *
 * Version policy: the major must equal SNAP_FORMAT_MAJOR (older and newer
 * majors are refused). Any minor of that major is accepted: a minor bump may
 * only add records flagged SNAP_REC_OPTIONAL, which an older reader skips.
 * A record with an unknown tag is refused unless it is flagged optional, in
 * any version. Known tags may carry the optional flag; they are validated
 * all the same. Flag bits other than SNAP_REC_OPTIONAL must be zero.
 *
 * Multiplicity: at most one MACHINE, CLOCK, IRQCHIP and of each legacy tag; VCPU
 * indices unique and, with a MACHINE record, below its vCPU count; device
 * ids unique; device kinds from enum snap_device_kind only.
 *
 * Errors (negative errno, message via err_last() naming the file offset):
 *   -EBADMSG  malformed: bad magic, truncation, bad CRC, trailing bytes,
 *             reserved flags, unknown tag or device kind, duplicates,
 *             inconsistent machine layout
 *   -E2BIG    a length or count over its maximum
 *   -EINVAL   unsupported major version; bad writer arguments
 *   -ENOMEM   allocation failure
 * Every length and count is checked against its maximum and against the
 * bytes left in the file before anything is allocated or read. */
#ifndef EMBER_SNAPSHOT_FORMAT_H
#define EMBER_SNAPSHOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "EMBERSNP"
#define SNAP_MAGIC_LEN 8
#define SNAP_FORMAT_MAJOR 1
#define SNAP_FORMAT_MINOR 0

#define SNAP_HEADER_LEN 16
#define SNAP_RECORD_HEADER_LEN 16
#define SNAP_TRAILER_LEN 8

/* Limits. The file excludes guest RAM. */
#define SNAP_MAX_FILE (256u << 20)
#define SNAP_MAX_RECORDS 1024u
#define SNAP_MAX_RECORD (64u << 20)       /* any one payload, incl. optional */
#define SNAP_MAX_VCPUS 256u
#define SNAP_MAX_REGIONS 16u
#define SNAP_MAX_DEVICES 64u
#define SNAP_MAX_IRQCHIP_BLOB 4096u       /* each of the four */
#define SNAP_MAX_VCPU_STATE (1u << 20)
#define SNAP_MAX_TRANSPORT_STATE (64u << 10)
#define SNAP_MAX_BACKING 4096u
#define SNAP_MAX_DEVICE_STATE (1u << 20)
#define SNAP_MAX_LEGACY_STATE 4096u       /* each legacy device */

enum snap_tag {
	SNAP_TAG_MACHINE = 1,
	SNAP_TAG_CLOCK = 2,
	SNAP_TAG_IRQCHIP = 3,
	SNAP_TAG_VCPU = 4,
	SNAP_TAG_DEVICE = 5,
	SNAP_TAG_SERIAL = 6,
	SNAP_TAG_I8042 = 7,
	SNAP_TAG_CMOS = 8,
	SNAP_TAG_ACPI_PM = 9,
	SNAP_TAG_PVPANIC = 10,
	SNAP_TAG_LAST = SNAP_TAG_PVPANIC,
};

/* Record flags. */
#define SNAP_REC_OPTIONAL 0x1u /* a reader that does not know the tag skips it */

enum snap_device_kind {
	SNAP_DEV_BLOCK = 1,
	SNAP_DEV_NET = 2,
	SNAP_DEV_VSOCK = 3,
	SNAP_DEV_RNG = 4,
	SNAP_DEV_BALLOON = 5,
};

/* Bytes inside the file being read (reader) or the caller's memory
 * (writer); never owned. */
struct snap_blob {
	const uint8_t *data;
	size_t len;
};

struct snap_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t file_offset;
};

struct snap_machine {
	uint32_t vcpus;
	uint32_t nregions;
	uint64_t mem_size;
	struct snap_region regions[SNAP_MAX_REGIONS];
};

struct snap_clock {
	uint64_t clock;
	uint32_t flags;
};

struct snap_irqchip {
	struct snap_blob pic_master, pic_slave, ioapic, pit;
};

struct snap_vcpu {
	uint32_t index;
	struct snap_blob state;
};

struct snap_device {
	uint32_t kind; /* enum snap_device_kind */
	uint32_t id;
	struct snap_blob transport, backing, state;
};

/* ---- CRC ---- */

/* CRC-64/XZ. Streaming: pass 0 first, then the previous result. */
uint64_t snap_crc64(uint64_t crc, const void *data, size_t len);

/* ---- Writer ----
 * Builds the file in a growable buffer capped at SNAP_MAX_FILE. Errors are
 * sticky: after the first failure every put is a no-op and finish returns
 * the error. */
struct snap_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t count;
	int err;
	bool finished;
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);
/* Raw record, for optional/future tags. Known tags are still validated by
 * snap_writer_finish. */
void snap_put_record(struct snap_writer *w, uint32_t tag, uint32_t flags, const void *payload, size_t len);
void snap_put_machine(struct snap_writer *w, const struct snap_machine *m);
void snap_put_clock(struct snap_writer *w, const struct snap_clock *c);
void snap_put_irqchip(struct snap_writer *w, const struct snap_irqchip *ic);
void snap_put_vcpu(struct snap_writer *w, uint32_t index, const void *state, size_t len);
void snap_put_device(struct snap_writer *w, const struct snap_device *d);
/* A legacy device's state record (tag SERIAL, I8042, CMOS, ACPI_PM or PVPANIC). */
void snap_put_legacy(struct snap_writer *w, uint32_t tag, const void *state, size_t len);
/* Patches the record count, appends the CRC, and checks the result with
 * snap_parse, so the writer never hands out a file the reader refuses.
 * On success *data and *len point into the writer's buffer (valid until
 * snap_writer_free). After finish, further puts fail with -EINVAL. */
int snap_writer_finish(struct snap_writer *w, const uint8_t **data, size_t *len);

/* ---- Reader ---- */

struct snap_record {
	uint32_t tag;
	uint32_t flags;
	size_t offset;       /* of the record header in the file */
	const uint8_t *data; /* payload, inside the parsed buffer */
	size_t len;
};

struct snap_file {
	uint16_t major, minor;
	size_t count;
	struct snap_record *records; /* in file order, including skipped optional ones */
};

/* Validates the whole file (size, magic, version, CRC, every record's
 * bounds, payload and multiplicity) before returning anything. On success
 * *f indexes into buf (which must outlive it); free with snap_file_free.
 * On failure *f is empty and nothing is allocated. */
int snap_parse(const void *buf, size_t len, struct snap_file *f);
void snap_file_free(struct snap_file *f);
/* The next record with `tag` at or after index *cursor (start at 0), or
 * NULL; advances *cursor past it. tag 0 matches every record. */
const struct snap_record *snap_next(const struct snap_file *f, uint32_t tag, size_t *cursor);
/* The only record with `tag` (MACHINE, CLOCK, ...), or NULL. */
const struct snap_record *snap_find(const struct snap_file *f, uint32_t tag);
bool snap_tag_known(uint32_t tag);
bool snap_tag_legacy(uint32_t tag);
const char *snap_tag_name(uint32_t tag);
const char *snap_device_kind_name(uint32_t kind);

/* Decoders for one record's payload. On a record from a successful
 * snap_parse they cannot fail; on any other they validate fully. Blobs in
 * the result point into the record's payload. */
int snap_decode_machine(const struct snap_record *r, struct snap_machine *m);
int snap_decode_clock(const struct snap_record *r, struct snap_clock *c);
int snap_decode_irqchip(const struct snap_record *r, struct snap_irqchip *ic);
int snap_decode_vcpu(const struct snap_record *r, struct snap_vcpu *v);
int snap_decode_device(const struct snap_record *r, struct snap_device *d);
/* Legacy devices: the payload is the blob. */
int snap_decode_legacy(const struct snap_record *r, struct snap_blob *b);

#endif
