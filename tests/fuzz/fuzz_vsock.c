/* libFuzzer target for what a guest controls on virtio-vsock: hostile TX
 * packets (headers, lengths, ops, ports, credit) in hostile RX/TX/event
 * rings, with real Unix sockets on the host side: a program listening on
 * port 1 (so REQUESTs connect), optionally a host program that sends
 * "CONNECT 1", writes data or hangs up. The input is a header and then
 * the guest's RAM:
 *   [0]  queue sizes: log2 RX (low nibble), log2 TX (high nibble), mod 9
 *   [1]  bit0 EVENT_IDX, bit1 a host program connects, bit2 save+restore,
 *        bit3 host programs write data, bit4 they hang up, bit5 reset at the end,
 *        bit6 a racing guest (tests/virtio/racer.c, driven by the RAM bytes)
 *        rewrites RAM and registers while the device is served, 16 turns
 *   [2..13] RX desc, avail, used, TX desc, avail, used (u16 each)
 *   [14..15] event queue desc (avail +0x100, used +0x200, 4 entries)
 * tests/fuzz/corpus/fuzz_vsock/ holds seeds with valid rings and packets
 * (tests/fuzz/gen_vsock_seeds.py). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/vsock.h"
#include "tests/fuzz/fuzz_mmio.h"
#include "tests/virtio/racer.h"
#include "vmm/log.h"

#define RAM_SIZE (64u * 1024)
#define HEADER 16u
#define MAX_HOST 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static char uds[128];
static int port1 = -1;




static int unix_socket(const char *path, bool do_listen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (do_listen ? bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)
		      : connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool once(void)
{
	static char dir[] = "/tmp/ember-fuzz-vsock-XXXXXX";
	char p[160];

	if (port1 >= 0)
		return true;
	/* Hostile rings make the transport log each NEEDS_RESET. */
	log_configure(&(struct log_options){ .off = true });
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		return false;
	snprintf(uds, sizeof(uds), "%s/v", dir);
	snprintf(p, sizeof(p), "%s_1", uds);
	port1 = unix_socket(p, true);
	return port1 >= 0;
}

static void events(struct virtio_mmio *t)
{
	for (int i = 0; i < 4; i++)
		virtio_mmio_backend_event(t);
}

static void host_side(const uint8_t *h, int *fds, unsigned *n)
{
	int fd;

	while (*n < MAX_HOST && (fd = accept4(port1, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		fds[(*n)++] = fd;
	for (unsigned i = 0; i < *n; i++) {
		if (fds[i] < 0)
			continue;
		if (h[1] & 8)
			(void)!send(fds[i], ram, 100 + 700 * i, MSG_NOSIGNAL | MSG_DONTWAIT);
		if ((h[1] & 16) && (i & 1)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
}

static void drive(struct virtio_mmio *t, const uint8_t *h, struct racer *racing)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | ((h[1] & 1) ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
	uint32_t s;
	uint16_t ev = fuzz_u16(h + 14);
	int fds[MAX_HOST];
	unsigned n = 0;

	s = fuzz_negotiate(t, f);
	fuzz_setup_queue(t, VIRTIO_VSOCK_RXQ, 1u << ((h[0] & 15) % 9), fuzz_u16(h + 2), fuzz_u16(h + 4), fuzz_u16(h + 6));
	fuzz_setup_queue(t, VIRTIO_VSOCK_TXQ, 1u << ((h[0] >> 4) % 9), fuzz_u16(h + 8), fuzz_u16(h + 10),
		    fuzz_u16(h + 12));
	fuzz_setup_queue(t, VIRTIO_VSOCK_EVQ, 4, ev, (uint16_t)(ev + 0x100), (uint16_t)(ev + 0x200));
	fuzz_reg(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	if (racing && racer_start(racing))
		racing = NULL;
	if (h[1] & 2) {
		int c = unix_socket(uds, false);

		if (c >= 0) {
			(void)!send(c, "CONNECT 1\nhello", 15, MSG_NOSIGNAL);
			fds[n++] = c;
		}
	}
	for (unsigned turn = 0; turn < (racing ? 16u : 1u); turn++) {
		events(t);
		virtio_mmio_notify(t, VIRTIO_VSOCK_TXQ);
		host_side(h, fds, &n);
		events(t);
		virtio_mmio_notify(t, VIRTIO_VSOCK_RXQ);
	}
	if (h[1] & 4)
		fuzz_save_restore(t);
	events(t);
	virtio_mmio_notify(t, VIRTIO_VSOCK_EVQ);
	virtio_mmio_notify(t, VIRTIO_VSOCK_TXQ);
	events(t);
	if (racing)
		racer_stop(racing);
	if (h[1] & 32)
		fuzz_reg(t, VIRTIO_MMIO_STATUS, 0);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsock_config cfg = { .guest_cid = 3, .uds_path = uds };
	struct guest_mem mem;
	struct virtio_mmio *t;
	size_t body;
	char junk[4096];

	if (size < HEADER || !once())
		return 0;
	body = fuzz_load_ram(ram, RAM_SIZE, data, size, HEADER, &mem);
	if (!vsock_create(&mem, &cfg, NULL, &t)) {
		struct racer r = { .ram = ram, .len = RAM_SIZE, .regs = t, .script = data + HEADER, .script_len = body };

		drive(t, data, data[1] & 64 ? &r : NULL);
		t->dev.ops->destroy(&t->dev);
	}
	/* Connections the device made and dropped: accept and close. */
	for (int fd; (fd = accept4(port1, NULL, NULL, SOCK_NONBLOCK)) >= 0;) {
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		close(fd);
	}
	return 0;
}
