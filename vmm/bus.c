#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_fini(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* Index of the first range whose end lies above addr. */
static unsigned bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, struct device *dev)
{
	uint64_t end;
	unsigned at;

	if (!dev || len == 0 || __builtin_add_overflow(base, len, &end))
		return err_fail(-EINVAL, "%s bus: bad range 0x%llx+0x%llx", bus->name,
				(unsigned long long)base, (unsigned long long)len);
	at = bus_lower_bound(bus, base);
	if (at < bus->nr && bus->ranges[at].base < end)
		return err_fail(-EEXIST, "%s bus: 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx",
				bus->name, (unsigned long long)base, (unsigned long long)end,
				bus->ranges[at].dev->ops->kind,
				(unsigned long long)bus->ranges[at].base,
				(unsigned long long)(bus->ranges[at].base + bus->ranges[at].len));
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *ranges = realloc(bus->ranges, cap * sizeof(*ranges));

		if (!ranges)
			return err_fail(-ENOMEM, "%s bus: no memory for %u ranges", bus->name, cap);
		bus->ranges = ranges;
		bus->cap = cap;
	}
	memmove(&bus->ranges[at + 1], &bus->ranges[at], (bus->nr - at) * sizeof(*bus->ranges));
	bus->ranges[at] = (struct bus_range){ base, len, dev };
	bus->nr++;
	return 0;
}

unsigned bus_nr_ranges(const struct bus *bus)
{
	return bus->nr;
}

static int bus_find(const struct bus *bus, uint64_t addr, uint32_t len, const struct bus_range **out)
{
	const struct bus_range *r;
	unsigned at;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	at = bus_lower_bound(bus, addr);
	if (at == bus->nr || bus->ranges[at].base > addr)
		return -ENOENT;
	r = &bus->ranges[at];
	/* addr >= base here, so addr - base cannot underflow. */
	if (len > r->len || addr - r->base > r->len - len)
		return -EINVAL;
	*out = r;
	return 0;
}

int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r;
	int ret = bus_find(bus, addr, len, &r);

	if (len <= 8)
		memset(data, 0xff, len);
	if (ret)
		return ret;
	if (r->dev->ops->read) {
		pthread_mutex_lock(&r->dev->lock);
		r->dev->ops->read(r->dev, addr - r->base, data, len);
		pthread_mutex_unlock(&r->dev->lock);
	}
	return 0;
}

int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r;
	int ret = bus_find(bus, addr, len, &r);

	if (ret)
		return ret;
	if (r->dev->ops->write) {
		pthread_mutex_lock(&r->dev->lock);
		r->dev->ops->write(r->dev, addr - r->base, data, len);
		pthread_mutex_unlock(&r->dev->lock);
	}
	return 0;
}
