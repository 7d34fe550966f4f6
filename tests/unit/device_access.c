#include "device_access.h"

uint8_t device_test_read8(struct device *dev, uint64_t offset)
{
	uint8_t v = 0;

	pthread_mutex_lock(&dev->lock);
	dev->ops->read(dev, offset, &v, 1);
	pthread_mutex_unlock(&dev->lock);
	return v;
}

void device_test_write8(struct device *dev, uint64_t offset, uint8_t value)
{
	pthread_mutex_lock(&dev->lock);
	dev->ops->write(dev, offset, &value, 1);
	pthread_mutex_unlock(&dev->lock);
}

int device_test_save(struct device *dev, struct state_writer *w)
{
	int err;

	state_writer_init(w);
	pthread_mutex_lock(&dev->lock);
	err = dev->ops->save(dev, w);
	pthread_mutex_unlock(&dev->lock);
	return err;
}

int device_test_restore(struct device *dev, const uint8_t *buf, size_t len, size_t *left)
{
	struct state_reader r;
	int err;

	state_reader_init(&r, buf, len);
	pthread_mutex_lock(&dev->lock);
	err = dev->ops->restore(dev, &r);
	pthread_mutex_unlock(&dev->lock);
	if (left)
		*left = state_reader_remaining(&r);
	return err;
}
