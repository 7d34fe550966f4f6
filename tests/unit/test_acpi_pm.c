/* The hardware-reduced ACPI sleep/reset registers: the writes ACPICA's
 * acpi_hw_extended_sleep and acpi_reset make, every SLP_TYP with and
 * without SLP_EN, reset values, hostile accesses and the (empty) snapshot
 * record. */
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

#include "boot/layout.h"
#include "devices/acpi_pm.h"
#include "snapshot/state.h"
#include "vmm/log.h"

enum { CONTROL = 0, STATUS = 1, RESET = 2 };
#define SLP_EN 0x20
#define WAK_STS 0x80
#define SLP_TYP(t) ((uint8_t)((t) << 2))

struct ctx {
	struct device *dev;
	int poweroffs;
	int resets;
};

static void fake_poweroff(void *opaque)
{
	((struct ctx *)opaque)->poweroffs++;
}

static void fake_reset(void *opaque)
{
	((struct ctx *)opaque)->resets++;
}

static struct ctx *make(uint8_t s5, int with_callbacks)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct acpi_pm_config cfg = { .s5_slp_typ = s5, .opaque = c };

	assert_non_null(c);
	if (with_callbacks) {
		cfg.on_poweroff = fake_poweroff;
		cfg.on_reset = fake_reset;
	}
	assert_int_equal(acpi_pm_create(&cfg, &c->dev), 0);
	return c;
}

static int setup(void **state)
{
	*state = make(ACPI_PM_DEFAULT_S5_SLP_TYP, 1);
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

static void test_layout_agrees(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(c->dev->ops->kind, "acpi_pm");
	assert_int_equal(ACPI_PM_RESET_VALUE, LAYOUT_ACPI_RESET_VALUE);
	assert_int_equal(LAYOUT_ACPI_SLEEP_CONTROL_PORT + STATUS, LAYOUT_ACPI_SLEEP_STATUS_PORT);
	assert_int_equal(LAYOUT_ACPI_SLEEP_CONTROL_PORT + RESET, LAYOUT_ACPI_RESET_PORT);
	assert_int_equal(ACPI_PM_RANGE_LEN, RESET + 1);
}

static void test_create_rejects_bad_args(void **state)
{
	struct acpi_pm_config cfg = { .s5_slp_typ = 8 };
	struct device *dev = NULL;

	(void)state;
	assert_int_equal(acpi_pm_create(&cfg, &dev), -EINVAL);
	assert_non_null(strstr(err_last(), "S5 sleep type 8"));
	cfg.s5_slp_typ = 0;
	assert_int_equal(acpi_pm_create(NULL, &dev), -EINVAL);
	assert_int_equal(acpi_pm_create(&cfg, NULL), -EINVAL);
	assert_null(dev);
}

/* acpi_hw_extended_sleep(S5): clear WAK_STS, then SLP_TYP | SLP_EN. */
static void test_linux_poweroff(void **state)
{
	struct ctx *c = *state;

	wr(c, STATUS, WAK_STS);
	assert_int_equal(c->poweroffs, 0);
	wr(c, CONTROL, SLP_TYP(5) | SLP_EN);
	assert_int_equal(c->poweroffs, 1);
	assert_int_equal(c->resets, 0);
	/* The status register never reports a wake. */
	assert_int_equal(rd(c, STATUS), 0);
}

static void test_every_sleep_type(void **state)
{
	struct ctx *c = *state;

	log_set_level(LOG_ERROR); /* the unsupported-type warnings are expected */
	for (unsigned v = 0; v < 256; v++) {
		int before = c->poweroffs;
		int s5 = (v & SLP_EN) && ((v >> 2) & 7) == 5;

		wr(c, CONTROL, (uint8_t)v);
		/* Reserved bits 0-1 and 6-7 do not matter. */
		assert_int_equal(c->poweroffs - before, s5);
	}
	log_set_level(LOG_WARN);
	assert_int_equal(c->poweroffs, 16);
	assert_int_equal(c->resets, 0);
	assert_int_equal(rd(c, CONTROL), 0);
}

static void test_s5_value_from_config(void **state)
{
	struct ctx *c = make(0, 1); /* QEMU's PIIX uses \_S5 = 0 */

	(void)state;
	log_set_level(LOG_ERROR);
	wr(c, CONTROL, SLP_TYP(5) | SLP_EN);
	assert_int_equal(c->poweroffs, 0);
	wr(c, CONTROL, SLP_TYP(0) | SLP_EN);
	assert_int_equal(c->poweroffs, 1);
	log_set_level(LOG_WARN);
	teardown((void **)&c);
	c = make(7, 1);
	wr(c, CONTROL, SLP_TYP(7) | SLP_EN);
	assert_int_equal(c->poweroffs, 1);
	teardown((void **)&c);
}

static void test_reset_register(void **state)
{
	struct ctx *c = *state;

	for (unsigned v = 0; v < 256; v++)
		wr(c, RESET, (uint8_t)v);
	assert_int_equal(c->resets, 1);
	assert_int_equal(c->poweroffs, 0);
	wr(c, RESET, ACPI_PM_RESET_VALUE);
	assert_int_equal(c->resets, 2);
	assert_int_equal(rd(c, RESET), 0);
}

static void test_null_callbacks(void **state)
{
	struct ctx *c = make(5, 0);

	(void)state;
	wr(c, CONTROL, SLP_TYP(5) | SLP_EN);
	wr(c, RESET, 1);
	assert_int_equal(c->poweroffs + c->resets, 0);
	teardown((void **)&c);
}

static void test_other_offsets_and_widths(void **state)
{
	struct ctx *c = *state;
	static const uint32_t lens[] = { 2, 4, 8 };
	uint8_t buf[8];

	assert_int_equal(rd(c, 3), 0xff);
	assert_int_equal(rd(c, UINT64_MAX), 0xff);
	wr(c, 3, 1);
	wr(c, UINT64_MAX, SLP_TYP(5) | SLP_EN);
	for (unsigned i = 0; i < 3; i++) {
		for (uint64_t off = 0; off < ACPI_PM_RANGE_LEN; off++) {
			pthread_mutex_lock(&c->dev->lock);
			memset(buf, 0, sizeof(buf));
			c->dev->ops->read(c->dev, off, buf, lens[i]);
			for (uint32_t k = 0; k < lens[i]; k++)
				assert_int_equal(buf[k], 0xff);
			memset(buf, 0, sizeof(buf));
			buf[0] = off == RESET ? 1 : SLP_TYP(5) | SLP_EN;
			c->dev->ops->write(c->dev, off, buf, lens[i]);
			c->dev->ops->read(c->dev, off, buf, 0);
			pthread_mutex_unlock(&c->dev->lock);
		}
	}
	assert_int_equal(c->poweroffs + c->resets, 0);
}

static void test_reset_save_restore(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	struct state_reader r;
	uint8_t bad = 2;

	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	state_writer_init(&w);
	assert_int_equal(c->dev->ops->save(c->dev, &w), 0);
	assert_int_equal(w.len, 1);
	state_reader_init(&r, w.buf, w.len);
	assert_int_equal(c->dev->ops->restore(c->dev, &r), 0);
	assert_int_equal(state_reader_remaining(&r), 0);
	state_reader_init(&r, w.buf, 0);
	assert_int_equal(c->dev->ops->restore(c->dev, &r), -EINVAL);
	state_reader_init(&r, &bad, 1);
	assert_int_equal(c->dev->ops->restore(c->dev, &r), -EINVAL);
	state_writer_free(&w);
	state_writer_init(&w);
	w.err = -EOVERFLOW;
	assert_int_equal(c->dev->ops->save(c->dev, &w), -EOVERFLOW);
	pthread_mutex_unlock(&c->dev->lock);
	state_writer_free(&w);
	/* Still works afterwards. */
	wr(c, CONTROL, SLP_TYP(5) | SLP_EN);
	assert_int_equal(c->poweroffs, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_layout_agrees),
		T(test_create_rejects_bad_args),
		T(test_linux_poweroff),
		T(test_every_sleep_type),
		T(test_s5_value_from_config),
		T(test_reset_register),
		T(test_null_callbacks),
		T(test_other_offsets_and_widths),
		T(test_reset_save_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
