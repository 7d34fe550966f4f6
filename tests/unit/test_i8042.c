/* The i8042 model: the controller commands Linux's i8042 driver issues when
 * booted with i8042.noaux/nomux/nopnp/dumbkbd, the reset paths (0xfe and
 * the output port), keyboard acks, IRQ 1 edges, and save/restore against
 * hostile records. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_access.h"

#include "devices/i8042.h"
#include "snapshot/state.h"
#include "vmm/log.h"

enum { DATA = 0, CMD = 4, STATUS = 4 };
#define STR_OBF 0x01
#define STR_IBF 0x02
#define STR_SYS 0x04
#define STR_CMDDAT 0x08
#define STR_KEYLOCK 0x10 /* 1: keyboard not inhibited */
#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
#define POWER_ON_CTR (CTR_KBDINT | CTR_SYS)

#define HIST_MAX 64

struct ctx {
	struct device *dev;
	int level;
	int irq_calls;
	int hist[HIST_MAX];
	int resets;
	int irq_fail; /* fail the next N set_level calls */
};

static int fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct ctx *c = opaque;

	assert_int_equal(gsi, 1);
	if (c->irq_fail > 0) {
		c->irq_fail--;
		return -EIO;
	}
	if (c->irq_calls < HIST_MAX)
		c->hist[c->irq_calls] = level;
	c->irq_calls++;
	c->level = level;
	return 0;
}

static void fake_reset(void *opaque)
{
	((struct ctx *)opaque)->resets++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct i8042_config cfg = {
		.irq = { .set_level = fake_set_level, .opaque = c, .gsi = 1 },
		.on_reset = fake_reset,
		.reset_opaque = c,
	};

	assert_non_null(c);
	assert_int_equal(i8042_create(&cfg, &c->dev), 0);
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

static uint8_t rd(struct ctx *c, uint64_t off)
{
	return device_test_read8(c->dev, off);
}

static void wr(struct ctx *c, uint64_t off, uint8_t v)
{
	device_test_write8(c->dev, off, v);
}

/* i8042_command(): command, optional parameter, optional one-byte reply. */
static uint8_t command(struct ctx *c, uint8_t cmd)
{
	assert_int_equal(rd(c, STATUS) & STR_IBF, 0);
	wr(c, CMD, cmd);
	assert_true(rd(c, STATUS) & STR_OBF);
	return rd(c, DATA);
}

static uint8_t read_ctr(struct ctx *c)
{
	return command(c, 0x20);
}

static void write_ctr(struct ctx *c, uint8_t v)
{
	wr(c, CMD, 0x60);
	wr(c, DATA, v);
}

static void assert_hist(struct ctx *c, int n, ...)
{
	va_list ap;

	assert_int_equal(c->irq_calls, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(c->hist[i], va_arg(ap, int));
	va_end(ap);
}

/* ---- power-on ---- */

static void test_power_on_values(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, STATUS), STR_SYS | STR_KEYLOCK);
	assert_int_equal(rd(c, DATA), 0); /* empty buffer reads 0 */
	assert_int_equal(c->irq_calls, 0);
	write_ctr(c, 0); /* keep IRQ 1 quiet for the next reads */
	assert_int_equal(command(c, 0xd0), 0x03); /* reset line high, A20 on */
	assert_int_equal(c->resets, 0);
	assert_string_equal(c->dev->ops->kind, "i8042");
}

static void test_create_rejects_bad_args(void **state)
{
	struct device *dev = NULL;
	struct i8042_config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(i8042_create(NULL, &dev), -EINVAL);
	assert_int_equal(i8042_create(&cfg, NULL), -EINVAL);
	assert_null(dev);
	/* No callbacks at all is legal: resets are then just ignored. */
	assert_int_equal(i8042_create(&cfg, &dev), 0);
	pthread_mutex_lock(&dev->lock);
	dev->ops->write(dev, CMD, &(uint8_t){ 0xfe }, 1);
	dev->ops->write(dev, DATA, &(uint8_t){ 0xf4 }, 1);
	pthread_mutex_unlock(&dev->lock);
	dev->ops->destroy(dev);
}

/* ---- the command byte ---- */

static void test_command_byte_round_trip(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(read_ctr(c), POWER_ON_CTR);
	write_ctr(c, CTR_XLATE | CTR_KBDDIS | CTR_SYS);
	assert_int_equal(read_ctr(c), CTR_XLATE | CTR_KBDDIS | CTR_SYS);
	/* The status system flag mirrors the command byte's. */
	assert_int_equal(rd(c, STATUS) & STR_SYS, STR_SYS);
	write_ctr(c, 0);
	assert_int_equal(read_ctr(c), 0);
	assert_int_equal(rd(c, STATUS) & STR_SYS, 0);
	/* Bit 7 is reserved and reads back 0. */
	write_ctr(c, 0xff);
	assert_int_equal(read_ctr(c), 0x7f);
}

static void test_linux_controller_init(void **state)
{
	struct ctx *c = *state;
	uint8_t ctr;

	/* i8042_controller_check: the flush finds a sane, empty controller. */
	assert_int_not_equal(rd(c, STATUS), 0xff);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
	/* i8042_controller_selftest. */
	assert_int_equal(command(c, 0xaa), 0x55);
	/* i8042_controller_init: read the CTR twice until stable. */
	ctr = read_ctr(c);
	assert_int_equal(read_ctr(c), ctr);
	ctr &= (uint8_t)~CTR_KBDINT;
	ctr |= CTR_KBDDIS;
	write_ctr(c, ctr);
	assert_int_equal(read_ctr(c), ctr);
	/* Keyboard port test, then enable the port and its interrupt. */
	assert_int_equal(command(c, 0xab), 0x00);
	ctr &= (uint8_t)~CTR_KBDDIS;
	ctr |= CTR_KBDINT;
	write_ctr(c, ctr);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
	assert_int_equal(c->level, 0);
	assert_int_equal(c->resets, 0);
}

static void test_enable_disable_ports(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0xad);
	assert_int_equal(read_ctr(c) & CTR_KBDDIS, CTR_KBDDIS);
	wr(c, CMD, 0xae);
	assert_int_equal(read_ctr(c) & CTR_KBDDIS, 0);
	wr(c, CMD, 0xa7);
	assert_int_equal(read_ctr(c) & CTR_AUXDIS, CTR_AUXDIS);
	wr(c, CMD, 0xa8);
	assert_int_equal(read_ctr(c) & CTR_AUXDIS, 0);
	/* None of them produce a byte. */
	wr(c, CMD, 0xad);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
}

static void test_status_command_data_flag(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0xae);
	assert_int_equal(rd(c, STATUS) & STR_CMDDAT, STR_CMDDAT);
	wr(c, DATA, 0xf4);
	assert_int_equal(rd(c, STATUS) & STR_CMDDAT, 0);
	/* The controller consumes input at once: IBF is never seen. */
	assert_int_equal(rd(c, STATUS) & STR_IBF, 0);
}

static void test_unknown_commands_ignored(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0x00);
	wr(c, CMD, 0xc0);
	wr(c, CMD, 0xd4); /* no aux device */
	wr(c, CMD, 0xa9);
	wr(c, CMD, 0xff); /* pulse nothing */
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
	assert_int_equal(c->resets, 0);
	assert_int_equal(c->irq_calls, 0);
}

static void test_new_command_replaces_pending(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0x60); /* wants a parameter... */
	assert_int_equal(command(c, 0xaa), 0x55); /* ...but gets a new command */
	wr(c, DATA, 0x00); /* so this byte goes to the keyboard */
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_int_equal(read_ctr(c), POWER_ON_CTR);
}

/* ---- reset ---- */

static void test_reset_via_pulse_command(void **state)
{
	struct ctx *c = *state;

	/* native_machine_emergency_restart, BOOT_KBD: kb_wait, then 0xfe. */
	assert_int_equal(rd(c, STATUS) & STR_IBF, 0);
	wr(c, CMD, 0xfe);
	assert_int_equal(c->resets, 1);
	wr(c, CMD, 0xf0); /* pulse all four lines: bit 0 included */
	assert_int_equal(c->resets, 2);
	wr(c, CMD, 0xfd); /* mask bit 0 set: no reset */
	assert_int_equal(c->resets, 2);
}

static void test_reset_via_output_port(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0xd1);
	wr(c, DATA, 0x03);
	assert_int_equal(c->resets, 0);
	write_ctr(c, 0);
	assert_int_equal(command(c, 0xd0), 0x03);
	wr(c, CMD, 0xd1);
	wr(c, DATA, 0x02); /* bit 0 low: reset */
	assert_int_equal(c->resets, 1);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0); /* the parameter was not a kbd byte */
	assert_int_equal(command(c, 0xd0), 0x02);
}

/* ---- the keyboard ---- */

static void test_keyboard_acks_and_irq(void **state)
{
	struct ctx *c = *state;

	wr(c, DATA, 0xed); /* set LEDs */
	assert_int_equal(rd(c, STATUS) & STR_OBF, STR_OBF);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_int_equal(c->level, 0);
	wr(c, DATA, 0x07); /* its parameter is acked too */
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_hist(c, 4, 1, 0, 1, 0);
}

static void test_keyboard_reset_answers_bat(void **state)
{
	struct ctx *c = *state;

	wr(c, DATA, 0xff);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, DATA), 0xfa);
	/* More data waits: the line dropped and rose again (a new edge). */
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, DATA), 0xaa);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
	assert_hist(c, 4, 1, 0, 1, 0);
}

static void test_irq_only_when_enabled(void **state)
{
	struct ctx *c = *state;

	write_ctr(c, CTR_SYS);
	wr(c, DATA, 0xf4);
	assert_int_equal(rd(c, STATUS) & STR_OBF, STR_OBF);
	assert_int_equal(c->irq_calls, 0);
	/* Enabling the interrupt with a byte waiting raises the line. */
	write_ctr(c, CTR_SYS | CTR_KBDINT);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_hist(c, 2, 1, 0);
}

static void test_command_reply_flushes_buffer(void **state)
{
	struct ctx *c = *state;

	wr(c, DATA, 0xff); /* fa aa queued */
	/* A controller reply replaces whatever was queued, so the driver's
	 * next data read is the reply. */
	assert_int_equal(command(c, 0xab), 0x00);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
}

static void test_keyboard_write_flushes_buffer(void **state)
{
	struct ctx *c = *state;

	for (int i = 0; i < 40; i++)
		wr(c, DATA, 0xf4);
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
}

static void test_ctrl_alt_del(void **state)
{
	struct ctx *c = *state;
	static const uint8_t seq[] = { 0x14, 0x11, 0xe0, 0x71 };

	assert_int_equal(i8042_send_ctrl_alt_del(c->dev), 0);
	assert_int_equal(c->level, 1);
	for (unsigned i = 0; i < sizeof(seq); i++) {
		assert_true(rd(c, STATUS) & STR_OBF);
		assert_int_equal(rd(c, DATA), seq[i]);
	}
	assert_int_equal(c->level, 0);
	/* Four edges, one per byte. */
	assert_hist(c, 8, 1, 0, 1, 0, 1, 0, 1, 0);
}

static void test_ctrl_alt_del_bounded(void **state)
{
	struct ctx *c = *state;

	for (int i = 0; i < I8042_BUF_SIZE / 4; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(c->dev), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(c->dev), -ENOBUFS);
	for (int i = 0; i < I8042_BUF_SIZE; i++)
		rd(c, DATA);
	assert_int_equal(rd(c, STATUS) & STR_OBF, 0);
	/* With the interrupt off, the bytes still queue. */
	write_ctr(c, CTR_SYS);
	c->irq_calls = 0;
	assert_int_equal(i8042_send_ctrl_alt_del(c->dev), 0);
	assert_int_equal(c->irq_calls, 0);
	assert_int_equal(rd(c, DATA), 0x14);
}

static void test_irq_failure_is_retried(void **state)
{
	struct ctx *c = *state;

	c->irq_fail = 2;
	log_set_level(LOG_ERROR); /* the one warning is expected */
	wr(c, DATA, 0xf4); /* the line cannot be raised */
	assert_int_equal(c->irq_calls, 0);
	rd(c, STATUS); /* still failing */
	rd(c, STATUS); /* retried on the next access */
	log_set_level(LOG_WARN);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_hist(c, 2, 1, 0);
}

/* ---- hostile accesses ---- */

static void test_other_offsets_and_widths(void **state)
{
	struct ctx *c = *state;
	static const uint64_t offs[] = { 1, 2, 3, 5, 0x100, UINT64_MAX };
	static const uint32_t lens[] = { 2, 4, 8 };
	uint8_t buf[8];

	wr(c, DATA, 0xf4); /* an ack waits */
	c->irq_calls = 0;
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(rd(c, offs[i]), 0xff);
		wr(c, offs[i], 0xfe);
	}
	for (unsigned i = 0; i < 3; i++) {
		for (uint64_t off = 0; off < I8042_RANGE_LEN; off++) {
			memset(buf, 0, sizeof(buf));
			pthread_mutex_lock(&c->dev->lock);
			c->dev->ops->read(c->dev, off, buf, lens[i]);
			for (uint32_t k = 0; k < lens[i]; k++)
				assert_int_equal(buf[k], 0xff);
			memset(buf, 0xfe, sizeof(buf));
			c->dev->ops->write(c->dev, off, buf, lens[i]);
			c->dev->ops->read(c->dev, off, buf, 0);
			pthread_mutex_unlock(&c->dev->lock);
		}
	}
	assert_int_equal(c->resets, 0);
	assert_int_equal(c->irq_calls, 0);
	assert_int_equal(rd(c, DATA), 0xfa); /* the ack survived */
}

/* ---- device reset ---- */

static void test_device_reset(void **state)
{
	struct ctx *c = *state;

	write_ctr(c, 0x61);
	wr(c, CMD, 0xd1);
	wr(c, DATA, 0x01);
	wr(c, CMD, 0x60); /* left pending */
	i8042_send_ctrl_alt_del(c->dev);
	write_ctr(c, 0x61); /* consumes pending; ctr with KBDINT: line high */
	assert_int_equal(c->level, 1);
	wr(c, CMD, 0x60);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(c->level, 0);
	assert_int_equal(rd(c, STATUS), STR_SYS | STR_KEYLOCK);
	wr(c, DATA, 0xf4); /* no command pending any more: a keyboard byte */
	assert_int_equal(rd(c, DATA), 0xfa);
	assert_int_equal(read_ctr(c), POWER_ON_CTR);
	assert_int_equal(command(c, 0xd0), 0x03);
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

/* Queued bytes, a pending 0x60, an odd command byte and output port. */
static void make_busy(struct ctx *c)
{
	write_ctr(c, 0x45);
	wr(c, CMD, 0xd1);
	wr(c, DATA, 0x0b);
	assert_int_equal(i8042_send_ctrl_alt_del(c->dev), 0);
	wr(c, CMD, 0x60);
}

/* Observes everything, side effects included; same state, same trace. */
static size_t trace(struct ctx *c, uint8_t *t)
{
	size_t n = 0;

	t[n++] = rd(c, STATUS);
	t[n++] = (uint8_t)c->level;
	for (int i = 0; i < I8042_BUF_SIZE + 1; i++) {
		t[n++] = rd(c, STATUS);
		t[n++] = rd(c, DATA);
	}
	wr(c, DATA, 0x47); /* completes a pending command, or goes to the kbd */
	t[n++] = rd(c, STATUS);
	t[n++] = rd(c, DATA);
	wr(c, CMD, 0x20);
	t[n++] = rd(c, DATA);
	wr(c, CMD, 0xd0);
	t[n++] = rd(c, DATA);
	t[n++] = (uint8_t)c->resets;
	return n;
}

static void test_save_restore_round_trip(void **state)
{
	struct ctx *c = *state;
	struct ctx *d = NULL;
	struct state_writer w;
	uint8_t ta[64], tb[64];
	size_t na, nb, left;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	setup((void **)&d);
	assert_int_equal(restore(d, w.buf, w.len, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(d->level, 1);
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	assert_int_equal(ta[na - 3], 0x47); /* the pending 0x60 took the byte */
	/* Mutate, restore over it, and compare again. */
	wr(d, CMD, 0xad);
	assert_int_equal(restore(d, w.buf, w.len, NULL), 0);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_memory_equal(ta, tb, na);
	state_writer_free(&w);
	teardown((void **)&d);
}

static void test_restore_quiet_state_lowers_irq(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;

	assert_int_equal(save(c, &w), 0);
	make_busy(c);
	assert_int_equal(c->level, 1);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	assert_int_equal(c->level, 0);
	assert_int_equal(rd(c, STATUS), STR_SYS | STR_KEYLOCK);
	state_writer_free(&w);
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
	uint8_t a[64], b[64];
	size_t n;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, w.buf, len);
		assert_int_equal(restore(c, copy, len, NULL), -EINVAL);
		free(copy);
	}
	n = trace(c, a); /* untouched by the failures: still the busy state */
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	c->resets = 0;
	assert_int_equal(trace(c, b), n);
	assert_memory_equal(a, b, n);
	state_writer_free(&w);
}

/* Field offsets in the version-1 record (see i8042.c). */
enum { F_VERSION, F_CTR, F_OUTP, F_PENDING, F_CMDDAT, F_BUF_LEN };

static void test_restore_rejects_impossible_values(void **state)
{
	struct ctx *c = *state;
	struct ctx *src = NULL;
	struct state_writer w;
	static const struct { size_t field; uint8_t val; } bad[] = {
		{ F_VERSION, 0 },
		{ F_VERSION, 9 },
		{ F_CTR, 0x80 },        /* reserved bit */
		{ F_PENDING, 0x20 },    /* not a command that takes a parameter */
		{ F_PENDING, 0xfe },
		{ F_CMDDAT, 2 },
		{ F_BUF_LEN, I8042_BUF_SIZE + 1 },
		{ F_BUF_LEN + 2, 1 },   /* huge length */
	};

	setup((void **)&src);
	make_busy(src);
	assert_int_equal(save(src, &w), 0);
	assert_int_equal(w.buf[F_PENDING], 0x60);
	assert_int_equal(w.buf[F_BUF_LEN], 4);
	assert_int_equal(w.len, F_BUF_LEN + 4 + 4);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *copy = malloc(w.len);
		uint8_t t[64], ref[64];
		struct ctx *fresh = NULL;
		size_t n;

		/* Start each round from power-on (the trace below moves state). */
		pthread_mutex_lock(&c->dev->lock);
		c->dev->ops->reset(c->dev);
		pthread_mutex_unlock(&c->dev->lock);
		memcpy(copy, w.buf, w.len);
		copy[bad[i].field] = bad[i].val;
		assert_int_equal(restore(c, copy, w.len, NULL), -EINVAL);
		free(copy);
		setup((void **)&fresh);
		n = trace(fresh, ref);
		teardown((void **)&fresh);
		assert_int_equal(trace(c, t), n);
		assert_memory_equal(t, ref, n);
	}
	/* The legal parameter-taking commands restore fine. */
	w.buf[F_PENDING] = 0xd1;
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	w.buf[F_PENDING] = 0;
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	state_writer_free(&w);
	teardown((void **)&src);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_values),
		T(test_create_rejects_bad_args),
		T(test_command_byte_round_trip),
		T(test_linux_controller_init),
		T(test_enable_disable_ports),
		T(test_status_command_data_flag),
		T(test_unknown_commands_ignored),
		T(test_new_command_replaces_pending),
		T(test_reset_via_pulse_command),
		T(test_reset_via_output_port),
		T(test_keyboard_acks_and_irq),
		T(test_keyboard_reset_answers_bat),
		T(test_irq_only_when_enabled),
		T(test_command_reply_flushes_buffer),
		T(test_keyboard_write_flushes_buffer),
		T(test_ctrl_alt_del),
		T(test_ctrl_alt_del_bounded),
		T(test_irq_failure_is_retried),
		T(test_other_offsets_and_widths),
		T(test_device_reset),
		T(test_save_restore_round_trip),
		T(test_restore_quiet_state_lowers_irq),
		T(test_save_reports_writer_error),
		T(test_restore_truncated_at_every_length),
		T(test_restore_rejects_impossible_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
