#include "devices/device.h"

void device_init(struct device *dev, const struct device_ops *ops)
{
	dev->ops = ops;
	pthread_mutex_init(&dev->lock, NULL);
}

void device_fini(struct device *dev)
{
	pthread_mutex_destroy(&dev->lock);
}
