/* virtio-vsock (virtio 1.2, 5.10) with Firecracker's host side: no vhost,
 * the host end of every connection is a Unix stream socket.
 *   host-initiated: a host program connects to `uds_path` and writes
 *     "CONNECT <port>\n"; the device asks the guest (REQUEST); when the guest
 *     accepts (RESPONSE) the program reads "OK <host_port>\n" and the socket
 *     carries the stream.
 *   guest-initiated: a guest connection to host port P is connected to the
 *     Unix socket "<uds_path>_P", on which a host program listens.
 * Per-connection credit (buf_alloc / fwd_cnt) bounds what either side may
 * send, so neither the guest nor a host program can make the VMM buffer
 * without limit. */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"

#define VIRTIO_VSOCK_QUEUE_SIZE 256
#define VIRTIO_VSOCK_RXQ 0
#define VIRTIO_VSOCK_TXQ 1
#define VIRTIO_VSOCK_EVQ 2
#define VSOCK_HOST_CID 2
#define VSOCK_MAX_CONNS 1024       /* connections open at once, both directions */
#define VSOCK_UDS_PATH_MAX 107     /* sun_path, NUL excluded, minus room for "_<port>" is checked */

struct vsock_config {
	uint64_t guest_cid; /* >= 3 */
	const char *uds_path; /* the device binds and listens here; unlinked on destroy */
	/* How long a host program may take to send its "CONNECT <port>\n"
	 * line before it is dropped; 0 means VSOCK_CONNECT_TIMEOUT_MS. */
	uint32_t connect_timeout_ms;
};
#define VSOCK_CONNECT_TIMEOUT_MS 2000

/* Counters for metrics, named as Firecracker's vsock metrics; they only
 * grow. Bumped on the thread serving the device, read from any thread. */
enum vsock_stat {
	VSOCK_STAT_RX_BYTES,
	VSOCK_STAT_RX_PACKETS,
	VSOCK_STAT_TX_BYTES,
	VSOCK_STAT_TX_PACKETS,
	VSOCK_STAT_CONNS_ADDED,
	VSOCK_STAT_CONNS_KILLED,   /* reset by the device: limit, errors, hostile headers */
	VSOCK_STAT_CONNS_REMOVED,
	VSOCK_STAT_TX_MALFORMED,   /* packets refused: bad length, op, CID, type */
	VSOCK_STAT_COUNT
};
extern const char *const vsock_stat_names[VSOCK_STAT_COUNT];

struct vsock_stats {
	uint64_t v[VSOCK_STAT_COUNT];
};

/* Binds and listens on cfg->uds_path (an existing path is refused). The
 * device's event_fd (virtio_backend_ops) polls the listener and every
 * connection's socket. */
int vsock_create(const struct guest_mem *mem, const struct vsock_config *cfg,
		 const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out);
/* `t` must be a virtio-vsock device (ops->device_id == VIRTIO_ID_VSOCK). */
void vsock_get_stats(const struct virtio_mmio *t, struct vsock_stats *out);

#endif
