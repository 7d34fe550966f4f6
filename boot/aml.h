/* A small AML (ACPI Machine Language) writer: just the encodings ember's
 * DSDT needs, into a bounded growable buffer.
 *
 * Errors are sticky, as in snapshot/state.h: after the first failure every
 * call is a no-op and aml_error() reports it, so table builders write
 * straight through and check once. Encodings follow ACPI 6.x chapter 20
 * (AML grammar) and 6.4 (resource descriptors).
 *
 * Nested objects (Scope, Device, Package) carry a PkgLength that is only
 * known once their contents are written: *_begin() returns a mark and
 * aml_end() inserts the shortest PkgLength encoding at it. */
#ifndef EMBER_BOOT_AML_H
#define EMBER_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest PkgLength value (28 bits): no AML object can be longer. */
#define AML_PKGLEN_MAX 0x0fffffffu
/* Longest string (without the NUL) aml_string() accepts. */
#define AML_STRING_MAX 200

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_RETURN_OP 0xa4

struct aml_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max; /* the buffer never grows past this */
	int err;
};

void aml_init(struct aml_writer *w, size_t max);
void aml_free(struct aml_writer *w);
/* 0, or the first error (-ENOMEM, -ENOSPC, -EINVAL) with a message set. */
int aml_error(const struct aml_writer *w);

void aml_byte(struct aml_writer *w, uint8_t b);
void aml_bytes(struct aml_writer *w, const void *src, size_t len);

/* Encodes a PkgLength for `content` bytes that follow it (the value counts
 * its own bytes, as the grammar says). Returns 1-4, the bytes written to
 * out, or 0 if the object would exceed AML_PKGLEN_MAX. */
unsigned aml_pkglen_encode(size_t content, uint8_t out[4]);

/* NameString: "\\_SB_", "_HID", "\\_SB_.COM1", "^PCI0.S00_". Segments of
 * 1-4 characters are padded with '_' as ASL does; a bad character or an
 * empty segment is -EINVAL. */
void aml_namestring(struct aml_writer *w, const char *path);
/* Smallest encoding: ZeroOp, OneOp, then Byte/Word/DWord/QWord prefixes. */
void aml_integer(struct aml_writer *w, uint64_t v);
/* StringPrefix, ASCII 0x01-0x7f, NUL. */
void aml_string(struct aml_writer *w, const char *s);
/* The 32-bit compressed EISA id of "AAA####" (three capitals, four hex
 * digits) as ASL EisaId() stores it; returns 0 or -EINVAL. */
int aml_eisaid_value(const char *id, uint32_t *out);
/* EisaId("PNP0501") as a DWord integer. */
void aml_eisaid(struct aml_writer *w, const char *id);
/* Name(path, <object written next by the caller>) */
void aml_name(struct aml_writer *w, const char *path);
void aml_name_integer(struct aml_writer *w, const char *path, uint64_t v);
void aml_name_string(struct aml_writer *w, const char *path, const char *s);
void aml_name_eisaid(struct aml_writer *w, const char *path, const char *id);

/* Marks returned by *_begin() are passed to aml_end() in LIFO order. */
size_t aml_scope_begin(struct aml_writer *w, const char *path);
size_t aml_device_begin(struct aml_writer *w, const char *path);
/* Package with `nr` elements; the caller writes exactly that many. */
size_t aml_package_begin(struct aml_writer *w, uint8_t nr);
/* Method(path, nr_args 0-7, NotSerialized); body follows. */
size_t aml_method_begin(struct aml_writer *w, const char *path, unsigned nr_args);
void aml_end(struct aml_writer *w, size_t mark);
/* Buffer(len) { bytes } */
void aml_buffer(struct aml_writer *w, const uint8_t *bytes, size_t len);

/* ---- resource templates (ResourceTemplate() is a Buffer of descriptors) ---- */

#define AML_RES_MAX 256

#define AML_RES_IO 0x47           /* small item, 7 data bytes */
#define AML_RES_IRQ_NOFLAGS 0x22  /* small item, 2 data bytes */
#define AML_RES_END_TAG 0x79      /* small item, 1 data byte */
#define AML_RES_MEM32_FIXED 0x86  /* large item, 9 data bytes */
#define AML_RES_EXT_IRQ 0x89      /* large item */

/* Extended Interrupt flags (ACPI 6.4.3.6) */
#define AML_IRQ_CONSUMER 0x01
#define AML_IRQ_EDGE 0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED 0x08

struct aml_res {
	uint8_t buf[AML_RES_MAX];
	size_t len;
	int err;
};

void aml_res_init(struct aml_res *r);
/* IO(Decode16, base, base, align, len): a fixed range of `len` ports. */
void aml_res_io(struct aml_res *r, uint16_t base, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq }: ISA edge, active-high, exclusive; irq 0-15. */
void aml_res_irq_noflags(struct aml_res *r, unsigned irq);
void aml_res_mem32_fixed(struct aml_res *r, bool writable, uint32_t base, uint32_t len);
/* Interrupt(flags) { gsi } with one interrupt and no resource source. */
void aml_res_ext_irq(struct aml_res *r, uint8_t flags, uint32_t gsi);
/* Appends the EndTag (checksum 0: "treat as correct") and writes the
 * whole template as a Buffer. */
void aml_resource_template(struct aml_writer *w, struct aml_res *r);

#endif
