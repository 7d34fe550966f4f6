/* Little-endian state records: a growable writer and a bounded reader.
 *
 * Devices and the VMM serialise their state through these. Errors are
 * sticky: after the first failure every put/get is a no-op (gets yield 0)
 * and state_*_error() reports it, so save/restore code reads straight
 * through and checks once at the end. The reader never reads past its
 * buffer, whatever the input says. */
#ifndef EMBER_STATE_H
#define EMBER_STATE_H

#include <stddef.h>
#include <stdint.h>

/* No single record may grow past this. */
#define STATE_MAX_RECORD (64u << 20)

struct state_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
};

struct state_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err;
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bytes(struct state_writer *w, const void *src, size_t len);
/* Length-prefixed (u32) byte string. */
void state_put_blob(struct state_writer *w, const void *src, size_t len);
/* 0, or the first error (-ENOMEM, -EOVERFLOW) with a message set. */
int state_writer_error(const struct state_writer *w);

void state_reader_init(struct state_reader *r, const void *buf, size_t len);
uint8_t state_get_u8(struct state_reader *r);
uint16_t state_get_u16(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
void state_get_bytes(struct state_reader *r, void *dst, size_t len);
/* Reads a u32 length then that many bytes into dst; fails if the length
 * exceeds `cap` or what remains. Returns the length (0 on error). */
size_t state_get_blob(struct state_reader *r, void *dst, size_t cap);
size_t state_reader_remaining(const struct state_reader *r);
/* Marks the reader failed with -EINVAL and `what` (e.g. a field that held
 * an impossible value). */
void state_reader_reject(struct state_reader *r, const char *what);
/* 0, or the first error (-EINVAL for truncation or a rejected value). */
int state_reader_error(const struct state_reader *r);
/* Like state_reader_error, but also fails if bytes are left over. */
int state_reader_finish(const struct state_reader *r);

#endif
