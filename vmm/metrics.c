#include "vmm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_virtio.h"

enum api_method { API_GET, API_PUT, API_PATCH, API_METHODS };

static const char *const method_names[API_METHODS] = { "GET", "PUT", "PATCH" };
/* The JSON object each method's counters go in. */
static const char *const method_groups[API_METHODS] = { "get_api_requests", "put_api_requests",
							 "patch_api_requests" };

struct api_slot {
	enum api_method method;
	const char *group;
};

/* In the order they are written; GETs have no _fails in Firecracker. */
static const struct api_slot api_slots[] = {
	{ API_GET, "instance_info" }, { API_GET, "machine_cfg" },  { API_GET, "mmds" },
	{ API_GET, "vmm_version" },   { API_PUT, "actions" },      { API_PUT, "balloon" },
	{ API_PUT, "boot_source" },   { API_PUT, "cpu_cfg" },      { API_PUT, "drive" },
	{ API_PUT, "entropy" },       { API_PUT, "logger" },       { API_PUT, "machine_cfg" },
	{ API_PUT, "metrics" },       { API_PUT, "mmds" },         { API_PUT, "network" },
	{ API_PUT, "vsock" },         { API_PATCH, "balloon" },    { API_PATCH, "drive" },
	{ API_PATCH, "machine_cfg" }, { API_PATCH, "mmds" },       { API_PATCH, "network" },
	{ API_PATCH, "vm" },
};
_Static_assert(sizeof(api_slots) / sizeof(api_slots[0]) <= METRICS_API_SLOTS, "METRICS_API_SLOTS too small");
#define NR_API_SLOTS (sizeof(api_slots) / sizeof(api_slots[0]))

static const char *const exit_dir_names[VCPU_EXIT_DIRS] = {
	[VCPU_EXIT_IO_IN] = "exit_io_in",
	[VCPU_EXIT_IO_OUT] = "exit_io_out",
	[VCPU_EXIT_MMIO_READ] = "exit_mmio_read",
	[VCPU_EXIT_MMIO_WRITE] = "exit_mmio_write",
};

/* ember's exit reasons, as "vcpu" fields, beside Firecracker's split by
 * direction above. */
static const char *const exit_names[HAL_EXIT_UNKNOWN + 1] = {
	[HAL_EXIT_IO] = "exit_io",
	[HAL_EXIT_MMIO] = "exit_mmio",
	[HAL_EXIT_HLT] = "exit_hlt",
	[HAL_EXIT_SHUTDOWN] = "exit_shutdown",
	[HAL_EXIT_SYSTEM_EVENT] = "exit_system_event",
	[HAL_EXIT_INTERNAL_ERROR] = "exit_internal_error",
	[HAL_EXIT_FAIL_ENTRY] = "exit_fail_entry",
	[HAL_EXIT_INTR] = "exit_intr",
	[HAL_EXIT_UNKNOWN] = "exit_unknown",
};

/* A stalled reader gets this long to take the rest of a line that went
 * out in part, so the sink never holds half an object; then we give up. */
#define PARTIAL_WRITE_WAIT_MS 100

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = -1;
}

int metrics_open(struct metrics *m, const char *path)
{
	int fd, old;

	if (!path || !path[0])
		return err_fail(-EINVAL, "no metrics path");
	/* Non-blocking for the same reason as the logger: a stalled reader
	 * must cost us metrics, never block the event loop. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0 && errno == ENXIO)
		return err_fail(-ENXIO, "%s is a named pipe with no reader: start the reader before configuring", path);
	if (fd < 0)
		return err_fail(-errno, "%s: %m", path);
	pthread_mutex_lock(&m->lock);
	old = m->fd;
	m->fd = fd;
	pthread_mutex_unlock(&m->lock);
	if (old >= 0)
		close(old);
	return 0;
}

void metrics_fini(struct metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	pthread_mutex_destroy(&m->lock);
}

int metrics_count_api(struct metrics *m, const char *method, const char *group, bool failed)
{
	for (unsigned i = 0; method && group && i < NR_API_SLOTS; i++) {
		if (strcasecmp(method, method_names[api_slots[i].method]) || strcmp(group, api_slots[i].group))
			continue;
		atomic_fetch_add_explicit(&m->api[i][0], 1, memory_order_relaxed);
		if (failed && api_slots[i].method != API_GET)
			atomic_fetch_add_explicit(&m->api[i][1], 1, memory_order_relaxed);
		return 0;
	}
	return err_fail(-ENOENT, "no API metric for %s %s", method ? method : "(null)", group ? group : "(null)");
}

void metrics_set_startup(struct metrics *m, uint64_t wall_us, uint64_t cpu_us)
{
	atomic_store_explicit(&m->startup_us, wall_us, memory_order_relaxed);
	atomic_store_explicit(&m->startup_cpu_us, cpu_us, memory_order_relaxed);
}

/* Adds name: now - *seen to obj and remembers `now` in *next. */
static int put_delta(json_t *obj, const char *name, uint64_t now, uint64_t seen)
{
	return json_object_set_new(obj, name, json_integer((json_int_t)(now - seen)));
}

static int put_api(json_t *root, struct metrics_seen *next, const struct metrics_seen *seen, struct metrics *m)
{
	int ret = 0;

	for (unsigned meth = 0; meth < API_METHODS; meth++) {
		json_t *obj = json_object();

		if (!obj)
			return -ENOMEM;
		for (unsigned i = 0; i < NR_API_SLOTS; i++) {
			char name[64];

			if (api_slots[i].method != meth)
				continue;
			for (unsigned k = 0; k < (meth == API_GET ? 1u : 2u); k++) {
				next->api[i][k] = atomic_load_explicit(&m->api[i][k], memory_order_relaxed);
				snprintf(name, sizeof(name), "%s_%s", api_slots[i].group, k ? "fails" : "count");
				ret |= put_delta(obj, name, next->api[i][k], seen->api[i][k]);
			}
		}
		ret |= json_object_set_new(root, method_groups[meth], obj);
	}
	return ret ? -ENOMEM : 0;
}

/* An object of counters named `names`, now - seen each. */
static json_t *counters(const char *const *names, unsigned n, const uint64_t *now, const uint64_t *seen)
{
	json_t *obj = json_object();
	int ret = 0;

	for (unsigned i = 0; obj && i < n; i++)
		ret |= put_delta(obj, names[i], now[i], seen[i]);
	if (ret) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int put_obj(json_t *root, const char *key, json_t *obj)
{
	return obj ? json_object_set_new(root, key, obj) : -1;
}

/* "block" and "net" (the sums), one "block_<drive id>" per disk and one
 * "net_<iface id>" per NIC, and "entropy" (the sum of the rng devices:
 * Firecracker has at most one). */
static int put_devices(json_t *root, const struct vm *vm, struct metrics_seen *next, const struct metrics_seen *seen)
{
	uint64_t blk_now[BLK_STAT_COUNT] = { 0 }, blk_seen[BLK_STAT_COUNT] = { 0 };
	uint64_t rng_now[RNG_STAT_COUNT] = { 0 }, rng_seen[RNG_STAT_COUNT] = { 0 };
	uint64_t net_now[NET_STAT_COUNT] = { 0 }, net_seen[NET_STAT_COUNT] = { 0 };
	uint64_t uart_now[SERIAL_STAT_COUNT] = { 0 };
	uint64_t vsock_now[VSOCK_STAT_COUNT] = { 0 };
	int ret = 0;

	for (unsigned i = 0; vm && i < vm->nr_virtio && i < RESOURCES_MAX_VIRTIO; i++) {
		const struct vm_virtio *v = vm->virtio[i];
		char key[8 + VM_VIRTIO_ID_MAX + 1];

		if (v->dev->ops->device_id == VIRTIO_ID_BLOCK) {
			struct blk_stats st;

			blk_get_stats(v->dev, &st);
			memcpy(next->blk[i], st.v, sizeof(st.v));
			for (unsigned k = 0; k < BLK_STAT_COUNT; k++) {
				blk_now[k] += st.v[k];
				blk_seen[k] += seen->blk[i][k];
			}
			snprintf(key, sizeof(key), "block_%s", v->id);
			ret |= put_obj(root, key, counters(blk_stat_names, BLK_STAT_COUNT, st.v, seen->blk[i]));
		} else if (v->dev->ops->device_id == VIRTIO_ID_NET) {
			struct net_stats st;

			vm_virtio_net_stats(v, &st);
			memcpy(next->net[i], st.v, sizeof(st.v));
			for (unsigned k = 0; k < NET_STAT_COUNT; k++) {
				net_now[k] += st.v[k];
				net_seen[k] += seen->net[i][k];
			}
			snprintf(key, sizeof(key), "net_%s", v->id);
			ret |= put_obj(root, key, counters(vm_virtio_net_stat_names(), NET_STAT_COUNT, st.v, seen->net[i]));
		} else if (v->dev->ops->device_id == VIRTIO_ID_VSOCK) {
			struct vsock_stats st;

			vsock_get_stats(v->dev, &st);
			memcpy(vsock_now, st.v, sizeof(st.v));
		} else if (v->dev->ops->device_id == VIRTIO_ID_RNG) {
			struct rng_stats st;

			rng_get_stats(v->dev, &st);
			memcpy(next->rng[i], st.v, sizeof(st.v));
			for (unsigned k = 0; k < RNG_STAT_COUNT; k++) {
				rng_now[k] += st.v[k];
				rng_seen[k] += seen->rng[i][k];
			}
		}
	}
	ret |= put_obj(root, "block", counters(blk_stat_names, BLK_STAT_COUNT, blk_now, blk_seen));
	ret |= put_obj(root, "net", counters(vm_virtio_net_stat_names(), NET_STAT_COUNT, net_now, net_seen));
	ret |= put_obj(root, "entropy", counters(rng_stat_names, RNG_STAT_COUNT, rng_now, rng_seen));
	memcpy(next->vsock, vsock_now, sizeof(vsock_now));
	ret |= put_obj(root, "vsock", counters(vsock_stat_names, VSOCK_STAT_COUNT, vsock_now, seen->vsock));
	if (vm && vm->serial) {
		struct serial_stats st;

		serial_get_stats(vm->serial, &st);
		memcpy(uart_now, st.v, sizeof(st.v));
	}
	memcpy(next->uart, uart_now, sizeof(uart_now));
	ret |= put_obj(root, "uart", counters(serial_stat_names, SERIAL_STAT_COUNT, uart_now, seen->uart));
	return ret ? -ENOMEM : 0;
}

static int put_vcpu(json_t *root, const struct vm *vm, struct metrics_seen *next, const struct metrics_seen *seen)
{
	json_t *obj = json_object();
	uint64_t failures = 0, failures_seen = 0;
	int ret = 0;

	if (!obj)
		return -ENOMEM;
	memset(next->exits, 0, sizeof(next->exits));
	memset(next->exit_dirs, 0, sizeof(next->exit_dirs));
	if (vm) {
		vm_exit_counts(vm, next->exits);
		vm_exit_dirs(vm, next->exit_dirs);
	}
	for (unsigned d = 0; d < VCPU_EXIT_DIRS; d++)
		ret |= put_delta(obj, exit_dir_names[d], next->exit_dirs[d], seen->exit_dirs[d]);
	for (unsigned r = HAL_EXIT_IO; r <= HAL_EXIT_UNKNOWN; r++)
		ret |= put_delta(obj, exit_names[r], next->exits[r], seen->exits[r]);
	/* Firecracker's "failures": runs that ended in an error. */
	for (unsigned r = HAL_EXIT_INTERNAL_ERROR; r <= HAL_EXIT_FAIL_ENTRY; r++) {
		failures += next->exits[r];
		failures_seen += seen->exits[r];
	}
	failures += next->exits[HAL_EXIT_UNKNOWN];
	failures_seen += seen->exits[HAL_EXIT_UNKNOWN];
	ret |= put_delta(obj, "failures", failures, failures_seen);
	ret |= json_object_set_new(root, "vcpu", obj);
	return ret ? -ENOMEM : 0;
}

static int put_logger(json_t *root, struct metrics *m, struct metrics_seen *next, const struct metrics_seen *seen)
{
	json_t *obj = json_object();
	int ret = 0;

	if (!obj)
		return -ENOMEM;
	log_counters(&next->log_lines, &next->log_dropped);
	next->missed_metrics = atomic_load_explicit(&m->missed_metrics, memory_order_relaxed);
	next->metrics_fails = atomic_load_explicit(&m->metrics_fails, memory_order_relaxed);
	ret |= put_delta(obj, "missed_metrics_count", next->missed_metrics, seen->missed_metrics);
	ret |= put_delta(obj, "metrics_fails", next->metrics_fails, seen->metrics_fails);
	ret |= put_delta(obj, "missed_log_count", next->log_dropped, seen->log_dropped);
	ret |= put_delta(obj, "log_count", next->log_lines, seen->log_lines);
	ret |= json_object_set_new(root, "logger", obj);
	return ret ? -ENOMEM : 0;
}

static json_t *build(struct metrics *m, const struct vm *vm, struct metrics_seen *next)
{
	json_t *root = json_object(), *api = json_object();
	struct timespec ts;
	int ret = 0;

	if (!root || !api) {
		json_decref(root);
		json_decref(api);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ret |= json_object_set_new(root, "utc_timestamp_ms",
				   json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	ret |= json_object_set_new(api, "process_startup_time_us",
				   json_integer((json_int_t)atomic_load_explicit(&m->startup_us, memory_order_relaxed)));
	ret |= json_object_set_new(api, "process_startup_time_cpu_us",
				   json_integer((json_int_t)atomic_load_explicit(&m->startup_cpu_us,
										 memory_order_relaxed)));
	ret |= json_object_set_new(root, "api_server", api);
	ret |= put_api(root, next, &m->seen, m);
	ret |= put_devices(root, vm, next, &m->seen);
	ret |= put_vcpu(root, vm, next, &m->seen);
	ret |= put_logger(root, m, next, &m->seen);
	if (ret) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* All of buf, or an error. A FIFO may take part of a line larger than
 * PIPE_BUF; the rest gets a short, bounded wait so the line stays whole. */
static int write_line(int fd, const char *buf, size_t len)
{
	size_t done = 0;
	int waited = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		/* Nothing of the line went out yet: drop it whole rather than wait. */
		if (!done || waited >= PARTIAL_WRITE_WAIT_MS)
			return done ? -ETIMEDOUT : -EAGAIN;
		poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 10);
		waited += 10;
	}
	return 0;
}

int metrics_flush(struct metrics *m, const struct vm *vm)
{
	struct metrics_seen *next;
	json_t *root;
	char *text = NULL;
	size_t len;
	int ret;

	pthread_mutex_lock(&m->lock);
	if (m->fd < 0) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	/* A different VM starts its device counters at zero. */
	if (vm != m->vm) {
		memset(m->seen.blk, 0, sizeof(m->seen.blk));
		memset(m->seen.rng, 0, sizeof(m->seen.rng));
		memset(m->seen.net, 0, sizeof(m->seen.net));
		memset(m->seen.vsock, 0, sizeof(m->seen.vsock));
		memset(m->seen.uart, 0, sizeof(m->seen.uart));
		memset(m->seen.exits, 0, sizeof(m->seen.exits));
		m->vm = vm;
	}
	next = malloc(sizeof(*next));
	if (next) {
		*next = m->seen;
		root = build(m, vm, next);
		if (root) {
			text = json_dumps(root, JSON_COMPACT);
			json_decref(root);
		}
	}
	if (!text) {
		free(next);
		atomic_fetch_add_explicit(&m->metrics_fails, 1, memory_order_relaxed);
		pthread_mutex_unlock(&m->lock);
		return err_fail(-ENOMEM, "cannot build the metrics object");
	}
	len = strlen(text);
	text[len] = '\n'; /* json_dumps' terminator: the line is one write */
	ret = write_line(m->fd, text, len + 1);
	if (ret) {
		atomic_fetch_add_explicit(&m->missed_metrics, 1, memory_order_relaxed);
		err_fail(ret, "writing metrics: %s", strerror(-ret));
	} else {
		m->seen = *next;
	}
	free(text);
	free(next);
	pthread_mutex_unlock(&m->lock);
	return ret;
}
