/* Little-endian field access on byte buffers. Boot structures are defined
 * by byte offsets in their specs, so we read and write them by offset rather
 * than through host structs whose padding and byte order could drift. */
#ifndef EMBER_BOOT_LE_H
#define EMBER_BOOT_LE_H

#include <stdint.h>

static inline uint16_t le16_read(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t le32_read(const uint8_t *p)
{
	return (uint32_t)le16_read(p) | ((uint32_t)le16_read(p + 2) << 16);
}

static inline uint64_t le64_read(const uint8_t *p)
{
	return (uint64_t)le32_read(p) | ((uint64_t)le32_read(p + 4) << 32);
}

static inline void le16_write(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void le32_write(uint8_t *p, uint32_t v)
{
	le16_write(p, (uint16_t)v);
	le16_write(p + 2, (uint16_t)(v >> 16));
}

static inline void le64_write(uint8_t *p, uint64_t v)
{
	le32_write(p, (uint32_t)v);
	le32_write(p + 4, (uint32_t)(v >> 32));
}

#endif
