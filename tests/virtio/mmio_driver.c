#include "tests/virtio/mmio_driver.h"

#include <string.h>

uint32_t mmio_driver_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->read(&t->dev, off, (uint8_t *)&v, 4);
	pthread_mutex_unlock(&t->dev.lock);
	return v;
}

void mmio_driver_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->write(&t->dev, off, (const uint8_t *)&v, 4);
	pthread_mutex_unlock(&t->dev.lock);
}

uint64_t mmio_driver_device_features(struct virtio_mmio *t)
{
	uint64_t f;

	mmio_driver_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)mmio_driver_read(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	mmio_driver_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | mmio_driver_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
}

uint32_t mmio_driver_negotiate(struct virtio_mmio *t, uint64_t features)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE;

	mmio_driver_write(t, VIRTIO_MMIO_STATUS, 0);
	mmio_driver_write(t, VIRTIO_MMIO_STATUS, s);
	mmio_driver_write(t, VIRTIO_MMIO_STATUS, s |= VIRTIO_STATUS_DRIVER);
	mmio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mmio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	mmio_driver_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return mmio_driver_read(t, VIRTIO_MMIO_STATUS);
}

void mmio_driver_setup_queue(struct virtio_mmio *t, unsigned q, const struct vq_driver *d)
{
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_NUM, d->size);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)VQ_DRIVER_DESC);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)VQ_DRIVER_AVAIL);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)VQ_DRIVER_USED);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

uint32_t mmio_driver_bring_up(struct virtio_mmio *t, const struct vq_driver *d, uint64_t features)
{
	uint32_t s = mmio_driver_negotiate(t, features);

	mmio_driver_setup_queue(t, 0, d);
	mmio_driver_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	return mmio_driver_read(t, VIRTIO_MMIO_STATUS);
}

void mmio_driver_kick(struct virtio_mmio *t, unsigned q)
{
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}
