/* Firecracker's metrics (PUT /metrics, --metrics-path, the FlushMetrics
 * action): one JSON object per flush, appended to a file or a named pipe
 * as a single line.
 *
 * Counters are what happened since the previous successful flush, as
 * Firecracker's SharedIncMetric reports them; a flush whose write fails
 * reports nothing, so its counts go out with the next one. Store metrics
 * (the startup times) are absolute. One flush looks like:
 *
 *   {"utc_timestamp_ms":1714560000123,
 *    "api_server":{"process_startup_time_us":0,"process_startup_time_cpu_us":0},
 *    "get_api_requests":{"instance_info_count":0,"machine_cfg_count":0,...},
 *    "put_api_requests":{"actions_count":0,"actions_fails":0,...},
 *    "patch_api_requests":{"drive_count":0,"drive_fails":0,...},
 *    "block":{<sums of every block_* object>},
 *    "block_rootfs":{"read_bytes":0,"write_bytes":0,"read_count":0,...},
 *    "net":{<sums of every net_* object>},
 *    "net_eth0":{"rx_bytes_count":0,"rx_packets_count":0,"tx_bytes_count":0,...},
 *    "entropy":{"entropy_event_count":0,"entropy_bytes":0,"host_rng_fails":0},
 *    "uart":{"read_count":0,"write_count":0,"missed_read_count":0,"missed_write_count":0},
 *    "vcpu":{"exit_io":0,"exit_mmio":0,...,"failures":0},
 *    "logger":{"missed_metrics_count":0,"metrics_fails":0,"missed_log_count":0,"log_count":0}}
 *
 * Threads: any thread may count API requests; metrics_flush may run on
 * the event-loop thread while vCPUs and devices run (it only reads their
 * counters). Flushes are serialised by the object's lock. */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/vsock.h"
#include "hal/hal.h"
#include "vmm/resources.h"
#include "vmm/vcpu.h"

struct vm;

/* API counter slots: one per (method, group) that Firecracker counts. */
#define METRICS_API_SLOTS 24

/* Everything a flush reports as a difference: the value last reported. */
struct metrics_seen {
	uint64_t api[METRICS_API_SLOTS][2]; /* [slot][0: count, 1: fails] */
	uint64_t blk[RESOURCES_MAX_VIRTIO][BLK_STAT_COUNT]; /* by vm->virtio index */
	uint64_t rng[RESOURCES_MAX_VIRTIO][RNG_STAT_COUNT];
	uint64_t vsock[VSOCK_STAT_COUNT]; /* one vsock device per VM */
	uint64_t net[RESOURCES_MAX_VIRTIO][NET_STAT_COUNT];
	uint64_t uart[SERIAL_STAT_COUNT];
	uint64_t exits[HAL_EXIT_UNKNOWN + 1];
	uint64_t exit_dirs[VCPU_EXIT_DIRS];
	uint64_t log_lines, log_dropped, missed_metrics, metrics_fails;
};

/* Embed it; the fields are the module's own. */
struct metrics {
	pthread_mutex_t lock; /* one flush at a time */
	int fd;               /* -1 until metrics_open */
	_Atomic uint64_t api[METRICS_API_SLOTS][2];
	_Atomic uint64_t missed_metrics; /* flushes whose write failed */
	_Atomic uint64_t metrics_fails;  /* flushes that could not be built */
	_Atomic uint64_t startup_us, startup_cpu_us;
	const struct vm *vm; /* whose device counters `seen` holds */
	struct metrics_seen seen;
};

void metrics_init(struct metrics *m);
/* Opens the sink as the logger does (O_WRONLY|O_APPEND|O_CREAT|O_NONBLOCK,
 * 0600); a FIFO without a reader is -ENXIO. A second call replaces the
 * sink. */
int metrics_open(struct metrics *m, const char *path);
/* Counts one API request: `method` "GET", "PUT" or "PATCH" (any case),
 * `group` Firecracker's metric group:
 *   GET:   instance_info, machine_cfg, mmds, vmm_version (no _fails)
 *   PUT:   actions, balloon, boot_source, cpu_cfg, drive, entropy, logger,
 *          machine_cfg, metrics, mmds, network, vsock
 *   PATCH: balloon, drive, machine_cfg, mmds, network, vm
 * (entropy, balloon and PATCH vm are ember's, Firecracker has no counter
 * for them). `<group>_count` always grows; `<group>_fails` too when
 * `failed`. -ENOENT for a pair not listed (nothing is counted). */
int metrics_count_api(struct metrics *m, const char *method, const char *group, bool failed);
/* api_server.process_startup_time_us / _cpu_us (store metrics). */
void metrics_set_startup(struct metrics *m, uint64_t wall_us, uint64_t cpu_us);
/* Builds and writes one line. `vm` may be NULL (before boot): devices and
 * vCPUs then report zeros. Without a sink, does nothing and returns 0.
 * A write that fails is counted (logger.missed_metrics_count, reported by
 * the next flush) and returned as a negative errno; it is never fatal. */
int metrics_flush(struct metrics *m, const struct vm *vm);
/* Closes the sink. Call after the last flush. */
void metrics_fini(struct metrics *m);

#endif
