/* Hardware-reduced ACPI sleep and reset registers. See acpi_pm.h. */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define OFS_SLEEP_CONTROL 0
#define OFS_SLEEP_STATUS 1
#define OFS_RESET 2

#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x1c
#define SLP_EN 0x20

#define ACPI_PM_STATE_VERSION 1

struct acpi_pm {
	struct device dev; /* first, so a struct device * converts back */
	struct acpi_pm_config cfg;
	struct log_limit log_limit; /* a guest may write the register in a loop */
};

static struct acpi_pm *to_acpi_pm(struct device *dev)
{
	return (struct acpi_pm *)dev;
}

static void write_sleep_control(struct acpi_pm *s, uint8_t val)
{
	uint8_t typ = (uint8_t)((val & SLP_TYP_MASK) >> SLP_TYP_SHIFT);

	/* Without SLP_EN the write only stages SLP_TYP, which no one reads. */
	if (!(val & SLP_EN))
		return;
	if (typ != s->cfg.s5_slp_typ) {
		log_guest(&s->log_limit, LOG_WARN, "acpi_pm: sleep type %u is not supported (only S5, type %u); ignored",
			  typ, s->cfg.s5_slp_typ);
		return;
	}
	log_info("acpi_pm: guest entered S5, powering off");
	if (s->cfg.on_poweroff)
		s->cfg.on_poweroff(s->cfg.opaque);
}

static void acpi_pm_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)dev;
	if (!len)
		return;
	if (len != 1 || offset >= ACPI_PM_RANGE_LEN) {
		memset(data, 0xff, len);
		return;
	}
	/* Control and reset are write-only; WAK_STS is never set. */
	data[0] = 0;
}

static void acpi_pm_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *s = to_acpi_pm(dev);

	if (len != 1)
		return;
	switch (offset) {
	case OFS_SLEEP_CONTROL:
		write_sleep_control(s, data[0]);
		break;
	case OFS_RESET:
		if (data[0] != ACPI_PM_RESET_VALUE)
			break;
		log_info("acpi_pm: guest requested a reset");
		if (s->cfg.on_reset)
			s->cfg.on_reset(s->cfg.opaque);
		break;
	default: /* OFS_SLEEP_STATUS: clearing a WAK_STS that is always 0 */
		break;
	}
}

static void acpi_pm_reset(struct device *dev)
{
	(void)dev; /* no state */
}

/* Record (version 1): u8 version. */
static int acpi_pm_save(struct device *dev, struct state_writer *w)
{
	(void)dev;
	state_put_u8(w, ACPI_PM_STATE_VERSION);
	return state_writer_error(w);
}

static int acpi_pm_restore(struct device *dev, struct state_reader *rd)
{
	(void)dev;
	if (state_get_u8(rd) != ACPI_PM_STATE_VERSION)
		state_reader_reject(rd, "acpi_pm: unknown state version");
	return state_reader_error(rd);
}

static void acpi_pm_destroy(struct device *dev)
{
	device_fini(dev);
	free(to_acpi_pm(dev));
}

static const struct device_ops acpi_pm_ops = {
	.kind = "acpi_pm",
	.read = acpi_pm_read,
	.write = acpi_pm_write,
	.reset = acpi_pm_reset,
	.save = acpi_pm_save,
	.restore = acpi_pm_restore,
	.destroy = acpi_pm_destroy,
};

int acpi_pm_create(const struct acpi_pm_config *cfg, struct device **out)
{
	struct acpi_pm *s;

	if (!cfg || !out)
		return err_fail(-EINVAL, "missing config or output pointer");
	if (cfg->s5_slp_typ > ACPI_PM_SLP_TYP_MAX)
		return err_fail(-EINVAL, "S5 sleep type %u does not fit in SLP_TYP (0-%u)",
				cfg->s5_slp_typ, ACPI_PM_SLP_TYP_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_fail(-ENOMEM, "cannot allocate the acpi_pm device");
	device_init(&s->dev, &acpi_pm_ops);
	s->cfg = *cfg;
	*out = &s->dev;
	return 0;
}
