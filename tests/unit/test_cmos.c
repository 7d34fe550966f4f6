/* The CMOS RTC model: the register reads Linux's boot clock read and
 * rtc_cmos probe perform, BCD/binary and 12/24 h encodings, setting the
 * time with and without SET (kept as an offset from a fake host clock),
 * the calendar against gmtime_r, CMOS RAM, and save/restore against
 * hostile records. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "device_access.h"

#include "devices/cmos.h"
#include "snapshot/state.h"
#include "vmm/log.h"

/* Spelled out here so the test states the MC146818 contract itself. */
enum { INDEX = 0, DATA = 1 };
enum { SEC = 0, ALARM_SEC = 1, MIN = 2, ALARM_MIN = 3, HOUR = 4, ALARM_HOUR = 5, WDAY = 6,
       MDAY = 7, MON = 8, YEAR = 9, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d,
       CENTURY = 0x32 };
#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define B_DSE 0x01
#define D_VRT 0x80

#define T_2024_02_29_134507 1709214307LL /* a Thursday */
#define T_2000_01_01 946684800LL         /* a Saturday */

struct ctx {
	struct device *dev;
	int64_t now;
	int now_calls;
};

static int64_t fake_now(void *opaque)
{
	struct ctx *c = opaque;

	c->now_calls++;
	return c->now;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct cmos_config cfg = { .now = fake_now, .now_opaque = c };

	assert_non_null(c);
	c->now = T_2024_02_29_134507;
	assert_int_equal(cmos_create(&cfg, &c->dev), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	c->dev->ops->destroy(c->dev);
	free(c);
	return 0;
}

static uint8_t port_rd(struct ctx *c, uint64_t off)
{
	return device_test_read8(c->dev, off);
}

static void port_wr(struct ctx *c, uint64_t off, uint8_t v)
{
	device_test_write8(c->dev, off, v);
}

/* CMOS_READ / CMOS_WRITE: index, then data. */
static uint8_t rd(struct ctx *c, uint8_t reg)
{
	port_wr(c, INDEX, reg);
	return port_rd(c, DATA);
}

static void wr(struct ctx *c, uint8_t reg, uint8_t v)
{
	port_wr(c, INDEX, reg);
	port_wr(c, DATA, v);
}

static int bcd(int v)
{
	return ((v / 10) << 4) | (v % 10);
}

struct tm_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static struct tm_regs read_clock(struct ctx *c)
{
	struct tm_regs t;

	t.sec = rd(c, SEC);
	t.min = rd(c, MIN);
	t.hour = rd(c, HOUR);
	t.wday = rd(c, WDAY);
	t.mday = rd(c, MDAY);
	t.mon = rd(c, MON);
	t.year = rd(c, YEAR);
	t.century = rd(c, CENTURY);
	return t;
}

static void assert_clock(struct ctx *c, int y, int mo, int d, int h, int mi, int s, int wd)
{
	struct tm_regs t = read_clock(c);

	assert_int_equal(t.sec, bcd(s));
	assert_int_equal(t.min, bcd(mi));
	assert_int_equal(t.hour, bcd(h));
	assert_int_equal(t.wday, wd);
	assert_int_equal(t.mday, bcd(d));
	assert_int_equal(t.mon, bcd(mo));
	assert_int_equal(t.year, bcd(y % 100));
	assert_int_equal(t.century, bcd(y / 100));
}

/* Sets the time the way Linux's mc146818_set_time does. */
static void set_time_bcd(struct ctx *c, int y, int mo, int d, int h, int mi, int s)
{
	uint8_t b = rd(c, REG_B);

	wr(c, REG_B, b | B_SET);
	wr(c, YEAR, (uint8_t)bcd(y % 100));
	wr(c, MON, (uint8_t)bcd(mo));
	wr(c, MDAY, (uint8_t)bcd(d));
	wr(c, HOUR, (uint8_t)bcd(h));
	wr(c, MIN, (uint8_t)bcd(mi));
	wr(c, SEC, (uint8_t)bcd(s));
	wr(c, CENTURY, (uint8_t)bcd(y / 100));
	wr(c, REG_B, b & ~B_SET);
}

/* ---- power-on and the Linux probe ---- */

static void test_power_on_values(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(c->dev->ops->kind, "cmos");
	assert_int_equal(rd(c, REG_A), 0x26);
	assert_int_equal(rd(c, REG_B), B_24H);
	assert_int_equal(rd(c, REG_C), 0);
	assert_int_equal(rd(c, REG_D), D_VRT);
	assert_int_equal(port_rd(c, INDEX), 0xff); /* write-only port */
	assert_int_equal(rd(c, 0x0e), 0);
	assert_int_equal(rd(c, 0x7f), 0);
	assert_int_equal(rd(c, ALARM_SEC), 0);
}

static void test_create_rejects_bad_args(void **state)
{
	struct cmos_config cfg = { .now = fake_now };
	struct cmos_config no_clock = { 0 };
	struct device *dev = NULL;

	(void)state;
	assert_int_equal(cmos_create(NULL, &dev), -EINVAL);
	assert_int_equal(cmos_create(&cfg, NULL), -EINVAL);
	assert_int_equal(cmos_create(&no_clock, &dev), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(err_last(), "cmos_create"));
}

/* mc146818_does_rtc_work / mc146818_get_time: UIP clear, D bit 6 clear,
 * then the time in BCD and 24 h (RTC_ALWAYS_BCD on x86). */
static void test_linux_get_time(void **state)
{
	struct ctx *c = *state;
	uint8_t ctrl;

	assert_int_equal(rd(c, REG_A) & A_UIP, 0);
	assert_int_equal(rd(c, REG_D) & 0x40, 0);
	assert_clock(c, 2024, 2, 29, 13, 45, 7, 5);
	ctrl = rd(c, REG_B);
	assert_int_equal(ctrl & B_DM_BINARY, 0);
	assert_true(ctrl & B_24H);
	assert_int_equal(rd(c, REG_A) & A_UIP, 0);
	assert_int_equal(rd(c, REG_C), 0);
	assert_true(c->now_calls > 0);
}

static void test_time_follows_host_clock(void **state)
{
	struct ctx *c = *state;

	c->now += 53; /* 13:46:00 */
	assert_clock(c, 2024, 2, 29, 13, 46, 0, 5);
	c->now = T_2024_02_29_134507 + 10 * 3600 + 15 * 60; /* past midnight */
	assert_clock(c, 2024, 3, 1, 0, 0, 7, 6);
	c->now = T_2000_01_01 - 1;
	assert_clock(c, 1999, 12, 31, 23, 59, 59, 6);
	c->now = T_2000_01_01;
	assert_clock(c, 2000, 1, 1, 0, 0, 0, 7);
}

static void test_binary_mode(void **state)
{
	struct ctx *c = *state;
	struct tm_regs t;

	wr(c, REG_B, B_24H | B_DM_BINARY);
	t = read_clock(c);
	assert_int_equal(t.sec, 7);
	assert_int_equal(t.min, 45);
	assert_int_equal(t.hour, 13);
	assert_int_equal(t.mday, 29);
	assert_int_equal(t.mon, 2);
	assert_int_equal(t.year, 24);
	assert_int_equal(t.century, 20);
	/* Set 2025-07-04 00:30:00 in binary. */
	wr(c, REG_B, B_24H | B_DM_BINARY | B_SET);
	wr(c, YEAR, 25);
	wr(c, MON, 7);
	wr(c, MDAY, 4);
	wr(c, HOUR, 0);
	wr(c, MIN, 30);
	wr(c, SEC, 0);
	wr(c, REG_B, B_24H | B_DM_BINARY);
	wr(c, REG_B, B_24H); /* back to BCD: the same time re-encoded */
	assert_clock(c, 2025, 7, 4, 0, 30, 0, 6);
}

static void test_12_hour_mode(void **state)
{
	struct ctx *c = *state;
	static const struct { int64_t delta; uint8_t bcd, bin; } cases[] = {
		{ 0, 0x81, 0x81 },                          /* 13:45 -> 1 PM */
		{ -13 * 3600, 0x12, 12 },                   /* 00:45 -> 12 AM */
		{ -1 * 3600, 0x92, 0x8c },                  /* 12:45 -> 12 PM */
		{ -2 * 3600, 0x11, 11 },                    /* 11:45 AM */
		{ 10 * 3600, 0x91, 0x8b },                  /* 23:45 -> 11 PM */
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c->now = T_2024_02_29_134507 + cases[i].delta;
		wr(c, REG_B, 0);
		assert_int_equal(rd(c, HOUR), cases[i].bcd);
		wr(c, REG_B, B_DM_BINARY);
		assert_int_equal(rd(c, HOUR), cases[i].bin);
	}
	/* Writing 12 AM / 12 PM in 12 h mode sets 00 / 12 h. */
	wr(c, REG_B, 0);
	wr(c, HOUR, 0x12);
	wr(c, REG_B, B_24H);
	assert_int_equal(rd(c, HOUR), 0x00);
	wr(c, REG_B, 0);
	wr(c, HOUR, 0x92);
	wr(c, REG_B, B_24H);
	assert_int_equal(rd(c, HOUR), 0x12);
}

/* ---- setting the time ---- */

static void test_set_time_keeps_offset(void **state)
{
	struct ctx *c = *state;

	set_time_bcd(c, 1999, 12, 31, 23, 59, 50);
	assert_clock(c, 1999, 12, 31, 23, 59, 50, 6);
	c->now += 15; /* the guest clock runs on with the host's */
	assert_clock(c, 2000, 1, 1, 0, 0, 5, 7);
	assert_int_equal(rd(c, REG_B), B_24H); /* SET cleared again */
}

static void test_set_freezes_registers(void **state)
{
	struct ctx *c = *state;

	wr(c, REG_B, B_24H | B_SET);
	c->now += 100;
	assert_clock(c, 2024, 2, 29, 13, 45, 7, 5); /* frozen */
	wr(c, WDAY, 2); /* shows while frozen ... */
	assert_int_equal(rd(c, WDAY), 2);
	wr(c, REG_B, B_24H);
	/* ... but the weekday follows the date once the clock runs. */
	assert_clock(c, 2024, 2, 29, 13, 45, 7, 5);
	c->now += 1;
	assert_int_equal(rd(c, SEC), 0x08);
}

static void test_write_without_set(void **state)
{
	struct ctx *c = *state;

	wr(c, MIN, 0x10);
	assert_clock(c, 2024, 2, 29, 13, 10, 7, 5);
	wr(c, YEAR, 0x23); /* 2023-02-29 does not exist: March 1st */
	assert_clock(c, 2023, 3, 1, 13, 10, 7, 4);
	c->now += 60;
	assert_clock(c, 2023, 3, 1, 13, 11, 7, 4);
}

static void test_set_clears_uie(void **state)
{
	struct ctx *c = *state;
	uint8_t enables = B_PIE | B_AIE | B_UIE | B_SQWE | B_DSE;

	wr(c, REG_B, B_24H | enables); /* accepted, never fire */
	assert_int_equal(rd(c, REG_B), B_24H | enables);
	assert_int_equal(rd(c, REG_C), 0);
	wr(c, REG_B, B_24H | B_SET | enables);
	assert_int_equal(rd(c, REG_B), B_24H | B_SET | (enables & ~B_UIE));
}

static void test_hostile_clock_values(void **state)
{
	struct ctx *c = *state;
	static const uint8_t bs[] = { 0, B_24H, B_DM_BINARY, B_DM_BINARY | B_24H };

	for (unsigned i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		for (int v = 0; v < 256; v += 0x11) {
			wr(c, REG_B, bs[i] | B_SET);
			for (uint8_t r = SEC; r <= YEAR; r++)
				if (r != ALARM_SEC && r != ALARM_MIN && r != ALARM_HOUR)
					wr(c, r, (uint8_t)v);
			wr(c, CENTURY, (uint8_t)v);
			wr(c, REG_B, bs[i]);
			(void)read_clock(c);
		}
	}
	/* The far end saturates at 9999-12-31 23:59:59 and stays there. */
	wr(c, REG_B, B_24H);
	set_time_bcd(c, 9999, 12, 31, 23, 59, 59);
	c->now += 1000;
	assert_clock(c, 9999, 12, 31, 23, 59, 59, 6);
	/* Month 0x13 of 2023 is January 2024 (normalised like mktime). */
	set_time_bcd(c, 2023, 13, 1, 0, 0, 0);
	assert_clock(c, 2024, 1, 1, 0, 0, 0, 2);
	/* A host clock out of range saturates too, at both ends. */
	c->now = INT64_MAX;
	assert_int_equal(rd(c, CENTURY), 0x99);
	c->now = INT64_MIN; /* 0000-01-01 was a Saturday (proleptic) */
	assert_clock(c, 0, 1, 1, 0, 0, 0, 7);
}

static void test_calendar_against_gmtime(void **state)
{
	struct ctx *c = *state;
	uint64_t x = 88172645463325252ULL;

	wr(c, REG_B, B_24H | B_DM_BINARY);
	for (int i = 0; i < 3000; i++) {
		struct tm tm;
		time_t t;
		struct tm_regs r, back;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Years 0-9999, with extra weight near the epoch. */
		t = (time_t)(x % 315537897600ULL) - 62167219200LL;
		if (i % 3 == 0)
			t = (time_t)(x % 8000000000ULL) - 2000000000LL;
		c->now = t;
		assert_non_null(gmtime_r(&t, &tm));
		r = read_clock(c);
		assert_int_equal(r.sec, tm.tm_sec);
		assert_int_equal(r.min, tm.tm_min);
		assert_int_equal(r.hour, tm.tm_hour);
		assert_int_equal(r.wday, tm.tm_wday + 1);
		assert_int_equal(r.mday, tm.tm_mday);
		assert_int_equal(r.mon, tm.tm_mon + 1);
		assert_int_equal(r.year + 100 * r.century, tm.tm_year + 1900);
		/* Freezing and releasing the clock decodes what it encoded:
		 * the offset stays 0 and the time does not move. */
		wr(c, REG_B, B_24H | B_DM_BINARY | B_SET);
		wr(c, REG_B, B_24H | B_DM_BINARY);
		back = read_clock(c);
		assert_memory_equal(&back, &r, sizeof(r));
	}
}

/* ---- registers and RAM ---- */

static void test_status_registers(void **state)
{
	struct ctx *c = *state;

	wr(c, REG_A, 0xff); /* UIP is read-only */
	assert_int_equal(rd(c, REG_A), 0x7f);
	wr(c, REG_A, 0x26);
	wr(c, REG_C, 0xff);
	wr(c, REG_D, 0x00);
	assert_int_equal(rd(c, REG_C), 0);
	assert_int_equal(rd(c, REG_D), D_VRT);
	wr(c, ALARM_SEC, 0x11);
	wr(c, ALARM_MIN, 0x22);
	wr(c, ALARM_HOUR, 0xc0); /* "don't care" */
	assert_int_equal(rd(c, ALARM_SEC), 0x11);
	assert_int_equal(rd(c, ALARM_MIN), 0x22);
	assert_int_equal(rd(c, ALARM_HOUR), 0xc0);
}

static void test_ram(void **state)
{
	struct ctx *c = *state;

	for (int r = 0x0e; r < 0x80; r++)
		if (r != CENTURY)
			wr(c, (uint8_t)r, (uint8_t)(r * 7));
	for (int r = 0x0e; r < 0x80; r++)
		if (r != CENTURY)
			assert_int_equal(rd(c, (uint8_t)r), (uint8_t)(r * 7));
	/* Bit 7 of the index (NMI mask) selects the same register. */
	assert_int_equal(rd(c, 0x80 | 0x40), (uint8_t)(0x40 * 7));
	assert_int_equal(rd(c, CENTURY), 0x20);
	assert_clock(c, 2024, 2, 29, 13, 45, 7, 5);
}

static void test_other_offsets_and_widths(void **state)
{
	struct ctx *c = *state;
	static const uint32_t lens[] = { 2, 4, 8 };
	uint8_t buf[8];

	wr(c, 0x20, 0x5a);
	port_wr(c, INDEX, 0x20);
	assert_int_equal(port_rd(c, 2), 0xff);
	assert_int_equal(port_rd(c, UINT64_MAX), 0xff);
	port_wr(c, 2, 0x30); /* ignored: the index stays 0x20 */
	port_wr(c, UINT64_MAX, 0x30);
	for (unsigned i = 0; i < 3; i++) {
		for (uint64_t off = 0; off < CMOS_RANGE_LEN; off++) {
			pthread_mutex_lock(&c->dev->lock);
			memset(buf, 0, sizeof(buf));
			c->dev->ops->read(c->dev, off, buf, lens[i]);
			for (uint32_t k = 0; k < lens[i]; k++)
				assert_int_equal(buf[k], 0xff);
			memset(buf, 0x30, sizeof(buf));
			c->dev->ops->write(c->dev, off, buf, lens[i]);
			c->dev->ops->read(c->dev, off, buf, 0);
			pthread_mutex_unlock(&c->dev->lock);
		}
	}
	assert_int_equal(port_rd(c, DATA), 0x5a);
}

static void test_device_reset(void **state)
{
	struct ctx *c = *state;

	wr(c, 0x40, 0x99);
	set_time_bcd(c, 2030, 1, 2, 3, 4, 5);
	wr(c, REG_B, B_24H | B_PIE | B_AIE | B_UIE | B_SQWE | B_DSE | B_DM_BINARY);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	/* The battery keeps RAM, time and modes; RESET clears the enables. */
	assert_int_equal(rd(c, REG_B), B_24H | B_DSE | B_DM_BINARY);
	wr(c, REG_B, B_24H);
	assert_int_equal(rd(c, 0x40), 0x99);
	assert_clock(c, 2030, 1, 2, 3, 4, 5, 4);
}

/* ---- save / restore ---- */

static int save(struct ctx *c, struct state_writer *w)
{
	return device_test_save(c->dev, w);
}

static int restore(struct ctx *c, const uint8_t *buf, size_t len, size_t *left)
{
	return device_test_restore(c->dev, buf, len, left);
}

/* Every register (time included, now and an hour later), after a data
 * read through the index the state left selected. */
static size_t trace(struct ctx *c, uint8_t *t)
{
	size_t n = 0;

	t[n++] = port_rd(c, DATA); /* whatever the saved index selects */
	for (int r = 0; r < CMOS_NREGS; r++)
		t[n++] = rd(c, (uint8_t)r);
	c->now += 3600;
	for (int r = 0; r < 10; r++)
		t[n++] = rd(c, (uint8_t)r);
	c->now -= 3600;
	return n;
}

/* A set clock, odd modes, RAM, alarms and a chosen index. */
static void make_busy(struct ctx *c)
{
	set_time_bcd(c, 2031, 5, 6, 7, 8, 9);
	for (int r = 0x0e; r < 0x80; r++)
		if (r != CENTURY)
			wr(c, (uint8_t)r, (uint8_t)(r ^ 0xa5));
	wr(c, ALARM_HOUR, 0x17);
	wr(c, REG_A, 0x2f);
	wr(c, REG_B, B_24H | B_AIE | B_DSE);
	port_wr(c, INDEX, 0x33);
}

static void test_save_restore_round_trip(void **state)
{
	struct ctx *c = *state;
	struct ctx *d = NULL;
	struct state_writer w;
	uint8_t ta[256], tb[256];
	size_t na, nb, left;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	setup((void **)&d);
	d->now = c->now + 500; /* restored on a later host: time moved on */
	assert_int_equal(restore(d, w.buf, w.len, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(port_rd(d, DATA), 0x33 ^ 0xa5); /* the index came along */
	c->now += 500;
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	state_writer_free(&w);
	/* Frozen by SET: the frozen bytes travel too. */
	wr(c, REG_B, B_24H | B_SET);
	wr(c, SEC, 0x42);
	assert_int_equal(save(c, &w), 0);
	assert_int_equal(restore(d, w.buf, w.len, NULL), 0);
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_memory_equal(ta, tb, na);
	assert_int_equal(rd(d, SEC), 0x42);
	wr(c, REG_B, B_24H);
	wr(d, REG_B, B_24H);
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_memory_equal(ta, tb, na);
	state_writer_free(&w);
	teardown((void **)&d);
}

static void test_save_reports_writer_error(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;

	state_writer_init(&w);
	w.err = -EOVERFLOW;
	pthread_mutex_lock(&c->dev->lock);
	assert_int_equal(c->dev->ops->save(c->dev, &w), -EOVERFLOW);
	pthread_mutex_unlock(&c->dev->lock);
	state_writer_free(&w);
}

static void test_restore_truncated_at_every_length(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	uint8_t a[256], b[256];
	size_t n;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	wr(c, 0x50, 0);
	port_wr(c, INDEX, 0x33);
	n = trace(c, a);
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, w.buf, len);
		assert_int_equal(restore(c, copy, len, NULL), -EINVAL);
		free(copy);
	}
	port_wr(c, INDEX, 0x33);
	assert_int_equal(trace(c, b), n); /* the failures changed nothing */
	assert_memory_equal(a, b, n);
	state_writer_free(&w);
}

/* Field offsets in the version-1 record (see cmos.c). */
enum { F_VERSION, F_INDEX, F_A, F_B, F_ALARM, F_FROZEN = F_ALARM + 3, F_OFFSET = F_FROZEN + 8,
       F_RAM = F_OFFSET + 8, F_END = F_RAM + 114 };

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_restore_rejects_impossible_values(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	const int64_t max = 253402300799LL + 62167219200LL;
	static const struct { size_t field; uint8_t val; } bad[] = {
		{ F_VERSION, 0 },
		{ F_VERSION, 2 },
		{ F_INDEX, 0x80 },                /* the NMI bit is not kept */
		{ F_A, 0xa6 },                    /* UIP */
		{ F_B, B_SET | B_UIE | B_24H },   /* SET clears UIE */
		{ F_FROZEN + 3, 1 },              /* frozen bytes without SET */
	};
	uint8_t ref[256], t[256];
	size_t n;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	assert_int_equal(w.len, F_END);
	assert_int_equal(w.buf[F_INDEX], 0x33);
	assert_int_equal(w.buf[F_RAM], 0x0e ^ 0xa5);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	port_wr(c, INDEX, 0x10);
	n = trace(c, ref);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]) + 2; i++) {
		uint8_t *copy = malloc(w.len);

		memcpy(copy, w.buf, w.len);
		if (i < sizeof(bad) / sizeof(bad[0]))
			copy[bad[i].field] = bad[i].val;
		else
			put_le64(copy + F_OFFSET, (uint64_t)(i % 2 ? max + 1 : -max - 1));
		assert_int_equal(restore(c, copy, w.len, NULL), -EINVAL);
		free(copy);
		port_wr(c, INDEX, 0x10);
		assert_int_equal(trace(c, t), n);
		assert_memory_equal(t, ref, n);
	}
	/* The extreme offsets themselves are legal, and so is the century
	 * slot of RAM (it is ignored). */
	put_le64(w.buf + F_OFFSET, (uint64_t)max);
	w.buf[F_RAM + 0x32 - 0x0e] = 0x77;
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	assert_int_equal(rd(c, CENTURY), 0x99);
	put_le64(w.buf + F_OFFSET, (uint64_t)-max);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	assert_int_equal(rd(c, CENTURY), 0x00);
	state_writer_free(&w);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_values),
		T(test_create_rejects_bad_args),
		T(test_linux_get_time),
		T(test_time_follows_host_clock),
		T(test_binary_mode),
		T(test_12_hour_mode),
		T(test_set_time_keeps_offset),
		T(test_set_freezes_registers),
		T(test_write_without_set),
		T(test_set_clears_uie),
		T(test_hostile_clock_values),
		T(test_calendar_against_gmtime),
		T(test_status_registers),
		T(test_ram),
		T(test_other_offsets_and_widths),
		T(test_device_reset),
		T(test_save_restore_round_trip),
		T(test_save_reports_writer_error),
		T(test_restore_truncated_at_every_length),
		T(test_restore_rejects_impossible_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
