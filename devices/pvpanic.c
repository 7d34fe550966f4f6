/* pvpanic-mmio model. See pvpanic.h. */
#include "devices/pvpanic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define OFS_EVENTS 0

#define PVPANIC_STATE_VERSION 1

struct pvpanic {
	struct device dev; /* first, so a struct device * converts back */
	struct pvpanic_config cfg;
	uint8_t seen; /* events written so far (supported bits only) */
	struct log_limit log_limit; /* a guest may write the register in a loop */
};

static struct pvpanic *to_pvpanic(struct device *dev)
{
	return (struct pvpanic *)dev;
}

static void pvpanic_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)dev;
	if (!len)
		return;
	if (len != 1 || offset != OFS_EVENTS) {
		memset(data, 0xff, len);
		return;
	}
	data[0] = PVPANIC_SUPPORTED;
}

static void pvpanic_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pvpanic *s = to_pvpanic(dev);
	uint8_t ev;

	if (len != 1 || offset != OFS_EVENTS)
		return;
	ev = data[0] & PVPANIC_SUPPORTED;
	if (!ev)
		return;
	s->seen |= ev;
	if (!(ev & PVPANIC_PANICKED)) {
		log_guest(&s->log_limit, LOG_WARN, "pvpanic: guest panicked; its crash kernel will handle it");
		return;
	}
	log_guest(&s->log_limit, LOG_ERROR, "pvpanic: guest panicked (events 0x%x)", ev);
	if (s->cfg.on_panic)
		s->cfg.on_panic(s->cfg.opaque, ev);
}

static void pvpanic_reset(struct device *dev)
{
	to_pvpanic(dev)->seen = 0;
}

/* Record (version 1): u8 version, u8 events seen. */
static int pvpanic_save(struct device *dev, struct state_writer *w)
{
	state_put_u8(w, PVPANIC_STATE_VERSION);
	state_put_u8(w, to_pvpanic(dev)->seen);
	return state_writer_error(w);
}

static int pvpanic_restore(struct device *dev, struct state_reader *rd)
{
	uint8_t seen;

	if (state_get_u8(rd) != PVPANIC_STATE_VERSION)
		state_reader_reject(rd, "pvpanic: unknown state version");
	seen = state_get_u8(rd);
	if (seen & ~PVPANIC_SUPPORTED)
		state_reader_reject(rd, "pvpanic: unsupported events recorded");
	if (state_reader_error(rd))
		return state_reader_error(rd);
	to_pvpanic(dev)->seen = seen;
	return 0;
}

static void pvpanic_destroy(struct device *dev)
{
	device_fini(dev);
	free(to_pvpanic(dev));
}

static const struct device_ops pvpanic_ops = {
	.kind = "pvpanic",
	.read = pvpanic_read,
	.write = pvpanic_write,
	.reset = pvpanic_reset,
	.save = pvpanic_save,
	.restore = pvpanic_restore,
	.destroy = pvpanic_destroy,
};

int pvpanic_create(const struct pvpanic_config *cfg, struct device **out)
{
	struct pvpanic *s;

	if (!cfg || !out)
		return err_fail(-EINVAL, "missing config or output pointer");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_fail(-ENOMEM, "cannot allocate the pvpanic device");
	device_init(&s->dev, &pvpanic_ops);
	s->cfg = *cfg;
	*out = &s->dev;
	return 0;
}

uint8_t pvpanic_events_seen(struct device *dev)
{
	uint8_t seen;

	pthread_mutex_lock(&dev->lock);
	seen = to_pvpanic(dev)->seen;
	pthread_mutex_unlock(&dev->lock);
	return seen;
}
