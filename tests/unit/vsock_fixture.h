/* The virtio-vsock test fixture: the device on the synthetic driver with
 * its three queues in one fake RAM, a private directory for the Unix
 * sockets, and the guest's and host programs' moves. Shared by
 * test_vsock.c (guest side, hostile input, limits, snapshot) and
 * test_vsock_host.c (host programs, credit, shutdown). */
#ifndef EMBER_TEST_VSOCK_FIXTURE_H
#define EMBER_TEST_VSOCK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/vsock_internal.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define CID 42u
#define QSZ 64
#define RAM (12u << 20)
/* Each queue's rings in their own 64 KiB, seen through a vq_driver whose
 * RAM starts there; buffers sit at fixed slots per descriptor. */
#define TXOFF 0x10000u
#define EVOFF 0x20000u
#define SLOT 0x11000u
#define RXBUF 0x100000u
#define TXBUF 0x600000u
#define EVBUF 0xb00000u

struct fx {
	struct vq_driver rx, tx, ev;
	struct virtio_mmio *t;
	char dir[64], uds[128];
	uint16_t rxd, txd, evd;
	uint32_t buf_alloc, fwd_cnt; /* what the test guest advertises */
	unsigned irqs;
};

void vs_bring_up(struct fx *fx);
struct fx *vs_fx_new_timeout(uint32_t timeout_ms);
struct fx *vs_fx_new(void);
void vs_fx_free(struct fx *fx);
uint64_t vs_vstat(struct fx *fx, enum vsock_stat s);
void vs_pump_ms(struct fx *fx, int ms);
/* Serves the device's events until it has been quiet for 20 ms. */
void vs_pump(struct fx *fx);
/* Posts a TX chain: a raw header (+ payload) over nseg (1, 2) descriptors. */
void vs_tx_raw(struct fx *fx, const uint8_t *hdr, uint32_t hdr_len, const void *payload, uint32_t len,
	       unsigned nseg);
void vs_hdr_make(struct fx *fx, uint8_t *b, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		 uint32_t len);
/* A well-formed packet from the test guest (its buf_alloc and fwd_cnt). */
void vs_guest_send(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		   const void *payload, uint32_t len);
void vs_rx_post(struct fx *fx, unsigned n, uint32_t len);
bool vs_rx_take(struct fx *fx, struct vsock_hdr *h, uint8_t *payload, uint32_t cap);
void vs_expect_op(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port);
void vs_expect_nothing(struct fx *fx);
int vs_unix_listen(const char *path);
int vs_unix_connect(const char *path);
int vs_host_listen(struct fx *fx, uint32_t port);
/* Socket receive timeout, so a test that waits in vain fails. */
void vs_set_timeout(int fd, int ms);
void vs_read_exact(int fd, void *buf, size_t n);
void vs_expect_closed(int fd);
void vs_write_all(int fd, const void *buf, size_t n);
uint8_t *vs_pattern(size_t len, uint8_t seed);
/* Guest port 1000 -> host port: returns the host program's socket. */
int vs_guest_connect(struct fx *fx, int lfd, uint32_t port);
/* A host program's CONNECT the guest accepts: its socket, *local its port. */
int vs_host_connect(struct fx *fx, uint32_t gport, uint32_t *local);

#endif
