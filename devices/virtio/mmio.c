#include "devices/virtio/mmio.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

static struct virtio_mmio *mmio_of(struct device *dev)
{
	return (struct virtio_mmio *)dev;
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->nr_queues ? &t->queues[t->queue_sel] : NULL;
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return bit < 64 && (t->driver_features & VIRTIO_BIT(bit));
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(t->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t why)
{
	t->interrupt_status |= why;
	if (t->hooks.interrupt)
		t->hooks.interrupt(t->hooks.opaque);
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_guest(&t->log_limit, LOG_ERROR, "%s: %s; the device needs a reset", t->ops->kind, why);
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	raise_interrupt(t, VIRTIO_INT_CONFIG);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	raise_interrupt(t, VIRTIO_INT_CONFIG);
}

int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct virtq_chain *chain)
{
	int ret;

	if (!virtio_mmio_live(t) || q >= t->nr_queues)
		return 0;
	/* Out of budget: come back next turn through the queue's kick (without
	 * a kick hook nothing would bring us back, so there is no budget). */
	if (t->hooks.kick && !t->budget[q]) {
		t->hooks.kick(t->hooks.opaque, q);
		return 0;
	}
	ret = virtq_pop(&t->queues[q], chain);
	if (ret < 0) {
		virtio_mmio_fail(t, err_last());
		return ret;
	}
	t->requests += (unsigned)ret;
	t->budget[q] -= t->budget[q] ? (unsigned)ret : 0;
	return ret;
}

static void refill_budget(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->budget[i] = VIRTIO_CHAINS_PER_TURN;
}

void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t written)
{
	if (q < t->nr_queues && virtq_push(&t->queues[q], head, written))
		virtio_mmio_fail(t, err_last());
}

void virtio_mmio_flush(struct virtio_mmio *t, unsigned q)
{
	if (q < t->nr_queues && virtq_needs_interrupt(&t->queues[q]))
		raise_interrupt(t, VIRTIO_INT_USED_RING);
}

void virtio_mmio_notify(struct virtio_mmio *t, unsigned q)
{
	pthread_mutex_lock(&t->dev.lock);
	if (q < VIRTIO_MAX_QUEUES)
		t->budget[q] = VIRTIO_CHAINS_PER_TURN;
	if (virtio_mmio_live(t) && q < t->nr_queues && t->queues[q].ready)
		t->ops->process(t, q);
	pthread_mutex_unlock(&t->dev.lock);
}

void virtio_mmio_backend_event(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->dev.lock);
	refill_budget(t);
	if (t->ops->on_event)
		t->ops->on_event(t);
	pthread_mutex_unlock(&t->dev.lock);
}

static void transport_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t);
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->queue_sel = 0;
	t->status = 0;
	t->interrupt_status = 0;
	for (unsigned i = 0; i < t->nr_queues; i++)
		virtq_reset(&t->queues[i]);
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG: return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2 ? (uint32_t)(t->device_features >> (32 * t->device_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->interrupt_status;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW ... VIRTIO_MMIO_SHM_BASE_HIGH: return 0xffffffffu; /* no regions */
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;

	v &= 0xff; /* the status is a byte in a 32-bit register */
	if (!v) {
		transport_reset(t);
		return;
	}
	if ((v & old) != old) {
		log_guest(&t->log_limit, LOG_WARN,
			  "%s: driver cleared status bits (0x%x -> 0x%x) without a reset; ignored", t->ops->kind, old, v);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t extra = t->driver_features & ~t->device_features;

		if (extra || !(t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			/* The driver reads FEATURES_OK back and gives up. */
			log_guest(&t->log_limit, LOG_WARN,
				  "%s: refusing driver features 0x%llx (unoffered 0x%llx, VERSION_1 %s)", t->ops->kind,
				  (unsigned long long)t->driver_features, (unsigned long long)extra,
				  virtio_mmio_has_feature(t, VIRTIO_F_VERSION_1) ? "on" : "off");
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			for (unsigned i = 0; i < t->nr_queues; i++) {
				t->queues[i].event_idx = virtio_mmio_has_feature(t, VIRTIO_F_EVENT_IDX);
				t->queues[i].indirect = virtio_mmio_has_feature(t, VIRTIO_F_INDIRECT_DESC);
			}
		}
	}
	t->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK))
			virtio_mmio_fail(t, "DRIVER_OK before FEATURES_OK");
		else if (t->ops->activate && t->ops->activate(t))
			virtio_mmio_fail(t, err_last());
	}
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	if (!v) {
		if (q->ready)
			virtq_stop(q);
		return;
	}
	if (q->ready)
		return;
	if (virtq_validate(q)) {
		virtio_mmio_fail(t, err_last());
		return;
	}
	q->ready = true;
}

static void set_half(uint64_t *reg, bool high, uint32_t v)
{
	if (high)
		*reg = (*reg & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*reg = (*reg & ~0xffffffffULL) | v;
}

/* Queue layout registers count only while the driver sets the queue up:
 * after FEATURES_OK, before the queue is live. */
static void write_queue_register(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = selected_queue(t);

	if (!q)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, q, v);
		return;
	}
	if (q->ready || !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
		log_guest(&t->log_limit, LOG_WARN, "%s: queue %u register 0x%llx written while %s; ignored", t->ops->kind,
			  t->queue_sel, (unsigned long long)off, q->ready ? "live" : "features are not negotiated");
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->size = v > UINT16_MAX ? 0 : (uint16_t)v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc, false, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc, true, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail, false, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail, true, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used, false, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used, true, v); break;
	}
}

static void write_register(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	bool negotiating = (t->status & VIRTIO_STATUS_DRIVER) && !(t->status & VIRTIO_STATUS_FEATURES_OK);

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (negotiating && t->driver_features_sel < 2)
			set_half(&t->driver_features, t->driver_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v >= t->nr_queues)
			break;
		if (t->hooks.kick)
			t->hooks.kick(t->hooks.opaque, v);
		else if (virtio_mmio_live(t) && t->queues[v].ready)
			t->ops->process(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: t->interrupt_status &= ~v; break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW ... VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		write_queue_register(t, off, v);
		break;
	default: break;
	}
}

static void mmio_read(struct device *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = mmio_of(dev);

	memset(data, 0, len);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c + len <= t->ops->config_len && t->ops->config_read)
			t->ops->config_read(t, (uint32_t)c, data, len);
		return;
	}
	if (len == 4 && !(off & 3)) {
		uint32_t v = read_register(t, off);

		memcpy(data, &v, 4);
	}
}

static void mmio_write(struct device *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = mmio_of(dev);
	uint32_t v;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c + len <= t->ops->config_len && t->ops->config_write)
			t->ops->config_write(t, (uint32_t)c, data, len);
		return;
	}
	if (len != 4 || (off & 3)) {
		log_guest(&t->log_limit, LOG_WARN, "%s: %u-byte write at register 0x%llx ignored (registers are 32-bit)",
			  t->ops->kind, len, (unsigned long long)off);
		return;
	}
	memcpy(&v, data, 4);
	write_register(t, off, v);
}

static void mmio_reset(struct device *dev)
{
	transport_reset(mmio_of(dev));
}

#define MMIO_STATE_VERSION 1u

static int mmio_save(struct device *dev, struct state_writer *w)
{
	struct virtio_mmio *t = mmio_of(dev);

	if (t->ops->quiesce)
		t->ops->quiesce(t);
	state_put_u32(w, MMIO_STATE_VERSION);
	state_put_u32(w, t->ops->device_id);
	state_put_u64(w, t->device_features);
	state_put_u64(w, t->driver_features);
	state_put_u32(w, t->device_features_sel);
	state_put_u32(w, t->driver_features_sel);
	state_put_u32(w, t->queue_sel);
	state_put_u32(w, t->status);
	state_put_u32(w, t->interrupt_status);
	state_put_u32(w, t->config_generation);
	state_put_u32(w, t->nr_queues);
	for (unsigned i = 0; i < t->nr_queues; i++)
		virtq_save(&t->queues[i], w);
	if (t->ops->save)
		t->ops->save(t, w);
	return state_writer_error(w);
}

struct mmio_regs {
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel, status, interrupt_status,
		config_generation;
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

static void regs_swap(struct virtio_mmio *t, struct mmio_regs *g)
{
	struct mmio_regs cur = {
		t->driver_features, t->device_features_sel, t->driver_features_sel, t->queue_sel,
		t->status, t->interrupt_status, t->config_generation, { { 0 } },
	};

	memcpy(cur.queues, t->queues, sizeof(cur.queues));
	t->driver_features = g->driver_features;
	t->device_features_sel = g->device_features_sel;
	t->driver_features_sel = g->driver_features_sel;
	t->queue_sel = g->queue_sel;
	t->status = g->status;
	t->interrupt_status = g->interrupt_status;
	t->config_generation = g->config_generation;
	memcpy(t->queues, g->queues, sizeof(t->queues));
	*g = cur;
}

static void regs_check(const struct virtio_mmio *t, const struct mmio_regs *g, struct state_reader *r)
{
	if (g->driver_features & ~t->device_features)
		state_reader_reject(r, "virtio-mmio record: driver features the device never offered");
	else if (g->interrupt_status & ~(VIRTIO_INT_USED_RING | VIRTIO_INT_CONFIG))
		state_reader_reject(r, "virtio-mmio record: bad interrupt status");
	else if (g->status & ~0xffu)
		state_reader_reject(r, "virtio-mmio record: bad device status");
}

/* Reads everything aside first, so a rejected record leaves the device as
 * it was. */
static int mmio_restore(struct device *dev, struct state_reader *r)
{
	struct virtio_mmio *t = mmio_of(dev);
	struct mmio_regs g;
	uint32_t version = state_get_u32(r), id = state_get_u32(r);
	uint64_t dev_features = state_get_u64(r);

	if (t->ops->quiesce)
		t->ops->quiesce(t);
	g.driver_features = state_get_u64(r);
	g.device_features_sel = state_get_u32(r);
	g.driver_features_sel = state_get_u32(r);
	g.queue_sel = state_get_u32(r);
	g.status = state_get_u32(r);
	g.interrupt_status = state_get_u32(r);
	g.config_generation = state_get_u32(r);
	memcpy(g.queues, t->queues, sizeof(g.queues));
	if (state_reader_error(r))
		return state_reader_error(r);
	if (version != MMIO_STATE_VERSION)
		state_reader_reject(r, "virtio-mmio record: unknown version");
	else if (id != t->ops->device_id)
		state_reader_reject(r, "virtio-mmio record: saved from another device type");
	else if (dev_features != t->device_features)
		state_reader_reject(r, "virtio-mmio record: the device now offers other features");
	else if (state_get_u32(r) != t->nr_queues)
		state_reader_reject(r, "virtio-mmio record: queue count differs");
	else
		regs_check(t, &g, r);
	for (unsigned i = 0; i < t->nr_queues && !state_reader_error(r); i++)
		virtq_restore(&g.queues[i], r);
	if (state_reader_error(r))
		return state_reader_error(r);
	regs_swap(t, &g);
	if (t->ops->restore)
		t->ops->restore(t, r);
	if (state_reader_error(r))
		regs_swap(t, &g); /* back to what it was */
	return state_reader_error(r);
}

static void mmio_destroy(struct device *dev)
{
	struct virtio_mmio *t = mmio_of(dev);

	device_fini(&t->dev);
	t->ops->destroy(t);
}

static const struct device_ops mmio_device_ops = {
	.kind = "virtio-mmio",
	.read = mmio_read,
	.write = mmio_write,
	.reset = mmio_reset,
	.save = mmio_save,
	.restore = mmio_restore,
	.destroy = mmio_destroy,
};

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_backend_ops *ops, const struct guest_mem *mem,
		     uint64_t features, unsigned nr_queues, uint16_t queue_max,
		     const struct virtio_mmio_hooks *hooks)
{
	if (!nr_queues || nr_queues > VIRTIO_MAX_QUEUES)
		return err_fail(-EINVAL, "%s: %u queues (1..%d)", ops->kind, nr_queues, VIRTIO_MAX_QUEUES);
	if (!queue_max || queue_max > VIRTQ_MAX_SIZE || (queue_max & (queue_max - 1)))
		return err_fail(-EINVAL, "%s: queue size %u (a power of two up to %d)", ops->kind, queue_max,
				VIRTQ_MAX_SIZE);
	memset(t, 0, sizeof(*t));
	device_init(&t->dev, &mmio_device_ops);
	t->ops = ops;
	t->mem = mem;
	t->device_features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	t->nr_queues = nr_queues;
	refill_budget(t);
	if (hooks)
		t->hooks = *hooks;
	for (unsigned i = 0; i < nr_queues; i++)
		virtq_init(&t->queues[i], mem, queue_max);
	return 0;
}
