/* MC146818 CMOS RTC model. See cmos.h for what it does and does not do. */
#include "devices/cmos.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define OFS_INDEX 0
#define OFS_DATA 1
#define INDEX_MASK 0x7f /* bit 7 is the NMI mask */

enum { REG_SEC = 0x00, REG_ALARM_SEC = 0x01, REG_MIN = 0x02, REG_ALARM_MIN = 0x03,
       REG_HOUR = 0x04, REG_ALARM_HOUR = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
       REG_MON = 0x08, REG_YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c,
       REG_D = 0x0d, REG_RAM_FIRST = 0x0e, REG_CENTURY = 0x32 };

#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define D_VRT 0x80
#define HOUR_PM 0x80 /* 12-hour mode */

#define POWER_ON_A 0x26 /* DV = 010 (32.768 kHz), RS = 0110 (1024 Hz) */
#define POWER_ON_B B_24H

#define RAM_LEN (CMOS_NREGS - REG_RAM_FIRST) /* 114 */

/* The clock registers, in the order they are frozen while SET is held. */
static const uint8_t clock_regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY,
				      REG_MDAY, REG_MON, REG_YEAR, REG_CENTURY };
#define NCLOCK (sizeof(clock_regs) / sizeof(clock_regs[0]))
enum { C_SEC, C_MIN, C_HOUR, C_WDAY, C_MDAY, C_MON, C_YEAR, C_CENTURY };

#define SECS_PER_DAY 86400
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: four BCD digits of year. */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL
#define OFFSET_MAX (TIME_MAX - TIME_MIN)

#define CMOS_STATE_VERSION 1

struct cmos_regs {
	uint8_t index;
	uint8_t a, b;
	uint8_t alarm[3];       /* seconds, minutes, hours: stored only */
	uint8_t frozen[NCLOCK]; /* raw clock bytes while B.SET; zero otherwise */
	int64_t offset;         /* guest time minus host time, seconds */
	uint8_t ram[RAM_LEN];   /* the slot of 0x32 is unused (century) */
};

struct cmos {
	struct device dev; /* first, so a struct device * converts back */
	struct cmos_config cfg;
	struct cmos_regs r;
};

static struct cmos *to_cmos(struct device *dev)
{
	return (struct cmos *)dev;
}

static int64_t clamp_time(int64_t t)
{
	return t < TIME_MIN ? TIME_MIN : t > TIME_MAX ? TIME_MAX : t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b) < 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date; any month and day
 * are normalised (month 0 is December of the year before, day 0 the last
 * day of the month before). Eras of 400 years make leap years exact. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t m0 = m - 1, era, yoe, doy, doe;

	y += floor_div(m0, 12);
	m = m0 - floor_div(m0, 12) * 12 + 1; /* 1..12 */
	y -= m <= 2;                          /* years start in March */
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + (d - 1);
}

struct civil {
	int year, mon, mday, hour, min, sec, wday; /* wday 1 = Sunday */
};

static struct civil civil_from_time(int64_t t)
{
	int64_t days = floor_div(t, SECS_PER_DAY), secs = t - days * SECS_PER_DAY;
	int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	struct civil c;

	c.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.year = (int)(yoe + era * 400 + (c.mon <= 2));
	c.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.hour = (int)(secs / 3600);
	c.min = (int)(secs / 60 % 60);
	c.sec = (int)(secs % 60);
	/* 1970-01-01 was a Thursday (5 when Sunday is 1). */
	c.wday = (int)(days - floor_div(days + 4, 7) * 7 + 4) + 1;
	return c;
}

static uint8_t encode(const struct cmos_regs *r, int v)
{
	return (r->b & B_DM_BINARY) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Any byte decodes: a hostile BCD digit above 9 just counts as its value. */
static int decode(const struct cmos_regs *r, uint8_t v)
{
	return (r->b & B_DM_BINARY) ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t encode_hour(const struct cmos_regs *r, int hour)
{
	int h12 = hour % 12 ? hour % 12 : 12;

	if (r->b & B_24H)
		return encode(r, hour);
	return (uint8_t)(encode(r, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static int decode_hour(const struct cmos_regs *r, uint8_t v)
{
	if (r->b & B_24H)
		return decode(r, v);
	/* 12 AM is midnight and 12 PM noon. */
	return decode(r, v & (uint8_t)~HOUR_PM) % 12 + ((v & HOUR_PM) ? 12 : 0);
}

static int64_t host_now(const struct cmos *s)
{
	return clamp_time(s->cfg.now(s->cfg.now_opaque));
}

/* The clock registers as they read now, encoded per register B. */
static void clock_render(const struct cmos *s, uint8_t raw[NCLOCK])
{
	const struct cmos_regs *r = &s->r;
	struct civil c = civil_from_time(clamp_time(host_now(s) + r->offset));

	raw[C_SEC] = encode(r, c.sec);
	raw[C_MIN] = encode(r, c.min);
	raw[C_HOUR] = encode_hour(r, c.hour);
	raw[C_WDAY] = encode(r, c.wday);
	raw[C_MDAY] = encode(r, c.mday);
	raw[C_MON] = encode(r, c.mon);
	raw[C_YEAR] = encode(r, c.year % 100);
	raw[C_CENTURY] = encode(r, c.year / 100);
}

/* Makes the raw clock registers the current time. */
static void clock_commit(struct cmos *s, const uint8_t raw[NCLOCK])
{
	const struct cmos_regs *r = &s->r;
	int64_t year = decode(r, raw[C_YEAR]) + 100 * (int64_t)decode(r, raw[C_CENTURY]);
	int64_t t = days_from_civil(year, decode(r, raw[C_MON]), decode(r, raw[C_MDAY]));

	t = t * SECS_PER_DAY + decode_hour(r, raw[C_HOUR]) * 3600LL + decode(r, raw[C_MIN]) * 60LL +
	    decode(r, raw[C_SEC]);
	/* Both terms are clamped, so the offset is bounded by OFFSET_MAX. */
	s->r.offset = clamp_time(t) - host_now(s);
}

static int clock_slot(uint8_t reg)
{
	for (unsigned i = 0; i < NCLOCK; i++)
		if (clock_regs[i] == reg)
			return (int)i;
	return -1;
}

static void write_b(struct cmos *s, uint8_t val)
{
	struct cmos_regs *r = &s->r;
	uint8_t old = r->b;

	if (val & B_SET)
		val &= (uint8_t)~B_UIE; /* as the MC146818 does */
	r->b = val;
	if (!(old & B_SET) && (val & B_SET)) {
		clock_render(s, r->frozen);
	} else if ((old & B_SET) && !(val & B_SET)) {
		clock_commit(s, r->frozen);
		memset(r->frozen, 0, sizeof(r->frozen));
	}
}

static void write_clock(struct cmos *s, int slot, uint8_t val)
{
	uint8_t raw[NCLOCK];

	if (s->r.b & B_SET) {
		s->r.frozen[slot] = val;
		return;
	}
	clock_render(s, raw);
	raw[slot] = val;
	clock_commit(s, raw);
}

static void reg_write(struct cmos *s, uint8_t reg, uint8_t val)
{
	struct cmos_regs *r = &s->r;
	int slot = clock_slot(reg);

	if (slot >= 0) {
		write_clock(s, slot, val);
		return;
	}
	switch (reg) {
	case REG_ALARM_SEC:
	case REG_ALARM_MIN:
	case REG_ALARM_HOUR:
		r->alarm[reg / 2] = val;
		break;
	case REG_A:
		r->a = val & (uint8_t)~A_UIP; /* UIP is read-only */
		break;
	case REG_B:
		write_b(s, val);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		r->ram[reg - REG_RAM_FIRST] = val;
		break;
	}
}

static uint8_t reg_read(struct cmos *s, uint8_t reg)
{
	const struct cmos_regs *r = &s->r;
	int slot = clock_slot(reg);
	uint8_t raw[NCLOCK];

	if (slot >= 0) {
		if (r->b & B_SET)
			return r->frozen[slot];
		clock_render(s, raw);
		return raw[slot];
	}
	switch (reg) {
	case REG_ALARM_SEC:
	case REG_ALARM_MIN:
	case REG_ALARM_HOUR:
		return r->alarm[reg / 2];
	case REG_A:
		return r->a; /* never an update in progress */
	case REG_B:
		return r->b;
	case REG_C:
		return 0; /* no interrupt flag is ever raised */
	case REG_D:
		return D_VRT;
	default:
		return r->ram[reg - REG_RAM_FIRST];
	}
}

static void cmos_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct cmos *s = to_cmos(dev);

	if (!len)
		return;
	/* The index port is write-only: it reads as a floating bus. */
	if (len != 1 || offset != OFS_DATA) {
		memset(data, 0xff, len);
		return;
	}
	data[0] = reg_read(s, s->r.index);
}

static void cmos_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct cmos *s = to_cmos(dev);

	if (len != 1 || offset >= CMOS_RANGE_LEN)
		return;
	if (offset == OFS_INDEX)
		s->r.index = data[0] & INDEX_MASK;
	else
		reg_write(s, s->r.index, data[0]);
}

static void cmos_reset(struct device *dev)
{
	/* Only what the RESET pin clears: the rest is on the battery. */
	to_cmos(dev)->r.b &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
}

/* Record (version 1): u8 version, index, A, B, alarm sec/min/hour, the 8
 * frozen clock bytes (sec min hour wday mday mon year century; zero unless
 * B.SET), u64 offset (two's complement), then the 114 RAM bytes of
 * 0x0e-0x7f. */
static int cmos_save(struct device *dev, struct state_writer *w)
{
	const struct cmos_regs *r = &to_cmos(dev)->r;

	state_put_u8(w, CMOS_STATE_VERSION);
	state_put_u8(w, r->index);
	state_put_u8(w, r->a);
	state_put_u8(w, r->b);
	state_put_bytes(w, r->alarm, sizeof(r->alarm));
	state_put_bytes(w, r->frozen, sizeof(r->frozen));
	state_put_u64(w, (uint64_t)r->offset);
	state_put_bytes(w, r->ram, sizeof(r->ram));
	return state_writer_error(w);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int cmos_restore(struct device *dev, struct state_reader *rd)
{
	struct cmos *s = to_cmos(dev);
	struct cmos_regs r;
	int err;

	memset(&r, 0, sizeof(r));
	if (state_get_u8(rd) != CMOS_STATE_VERSION)
		state_reader_reject(rd, "cmos: unknown state version");
	r.index = state_get_u8(rd);
	r.a = state_get_u8(rd);
	r.b = state_get_u8(rd);
	state_get_bytes(rd, r.alarm, sizeof(r.alarm));
	state_get_bytes(rd, r.frozen, sizeof(r.frozen));
	r.offset = (int64_t)state_get_u64(rd);
	state_get_bytes(rd, r.ram, sizeof(r.ram));
	err = state_reader_error(rd);
	if (err)
		return err;
	if (r.index & ~INDEX_MASK)
		state_reader_reject(rd, "cmos: index has the NMI bit");
	if (r.a & A_UIP)
		state_reader_reject(rd, "cmos: status A says an update is in progress");
	if ((r.b & (B_SET | B_UIE)) == (B_SET | B_UIE))
		state_reader_reject(rd, "cmos: status B has SET and UIE together");
	if (!(r.b & B_SET) && !all_zero(r.frozen, sizeof(r.frozen)))
		state_reader_reject(rd, "cmos: frozen clock bytes without SET");
	if (r.offset > OFFSET_MAX || r.offset < -OFFSET_MAX)
		state_reader_reject(rd, "cmos: clock offset out of range");
	err = state_reader_error(rd);
	if (err)
		return err;
	r.ram[REG_CENTURY - REG_RAM_FIRST] = 0; /* unobservable: keep it canonical */
	/* Commit only a fully valid record: a failed restore changes nothing. */
	s->r = r;
	return 0;
}

static void cmos_destroy(struct device *dev)
{
	device_fini(dev);
	free(to_cmos(dev));
}

static const struct device_ops cmos_ops = {
	.kind = "cmos",
	.read = cmos_read,
	.write = cmos_write,
	.reset = cmos_reset,
	.save = cmos_save,
	.restore = cmos_restore,
	.destroy = cmos_destroy,
};

int cmos_create(const struct cmos_config *cfg, struct device **out)
{
	struct cmos *s;

	if (!cfg || !out || !cfg->now)
		return err_fail(-EINVAL, "missing config, clock callback or output pointer");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_fail(-ENOMEM, "cannot allocate the cmos device");
	device_init(&s->dev, &cmos_ops);
	s->cfg = *cfg;
	s->r.a = POWER_ON_A;
	s->r.b = POWER_ON_B;
	*out = &s->dev;
	return 0;
}
