/* Wires the guest UART to the host terminal: guest output to an fd,
 * host input pushed into the UART from the event loop, with backpressure
 * when the UART's receive FIFO is full. A terminal is put in raw mode so
 * keys such as Ctrl-C reach the guest, and restored on exit. Raw mode
 * leaves a user no key of their own, so an optional escape (QEMU's:
 * Ctrl-A x) lets them end a guest that no longer answers. */
#ifndef EMBER_CONSOLE_H
#define EMBER_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "vmm/event_loop.h"

#define CONSOLE_CHUNK 64
/* Guest output waiting for a slow or absent reader; beyond it, dropped. */
#define CONSOLE_OUT_RING (64 * 1024)
/* How long console_fini waits for the reader to take what is left. */
#define CONSOLE_FINI_DRAIN_MS 2000
#define CONSOLE_ESCAPE_KEY 0x01 /* Ctrl-A */

typedef void (*console_escape_fn)(void *opaque);

/* Pushes up to len bytes into the UART; returns how many it took. */
typedef size_t (*console_push_fn)(void *opaque, const uint8_t *buf, size_t len);

struct console {
	int in_fd;
	int out_fd;
	int space_fd; /* eventfd: the UART has room again */
	struct event_loop *loop;
	console_push_fn push;
	void *push_opaque;
	uint8_t pending[CONSOLE_CHUNK];
	size_t pending_off;
	size_t pending_len;
	console_escape_fn on_escape; /* NULL: every key goes to the guest */
	void *escape_opaque;
	bool escape_armed; /* the last key was Ctrl-A */
	bool input_open;
	bool tty_raw;
	struct termios saved_tty;

	/* Output: vCPUs append under out_lock and never write to out_fd
	 * themselves; the event loop drains through out_nb_fd, a non-blocking
	 * description of out_fd, with no lock held across the write. */
	pthread_mutex_t out_lock;
	uint8_t out_ring[CONSOLE_OUT_RING];
	size_t out_head, out_len;
	uint64_t out_dropped;
	bool out_dead;      /* the reader went away: output is dropped */
	int out_wake_fd;    /* eventfd: output is waiting */
	int out_nb_fd;
	bool out_nb_owned;  /* out_nb_fd is our own reopened description */
	int out_old_flags;  /* out_fd's flags when we had to set O_NONBLOCK on it, else -1 */
	bool out_pollable;
	bool out_watching;  /* waiting for EPOLLOUT on out_nb_fd */
	int out_drain_epfd; /* console_fini's own wait for the reader */
};

/* in_fd < 0 means no input. */
int console_init(struct console *con, struct event_loop *loop, int in_fd, int out_fd);
/* Ctrl-A x calls on_escape instead of reaching the guest; Ctrl-A a (or
 * Ctrl-A Ctrl-A) types one Ctrl-A; Ctrl-A and any other key types both. */
void console_set_escape(struct console *con, console_escape_fn on_escape, void *opaque);
/* Connects the UART once it exists, and starts watching input. */
int console_attach(struct console *con, console_push_fn push, void *opaque);
void console_fini(struct console *con);
/* vm_console callbacks. console_write never blocks: it queues what fits
 * in the output ring and returns how much that was (the rest is dropped
 * and counted). Any thread. */
ssize_t console_write(void *opaque, const uint8_t *buf, size_t len);
/* Writes out the guest output still queued, waiting at most timeout_ms
 * for a slow reader (its last lines are often what a user waits for).
 * The event-loop thread only. console_fini does it too. */
void console_flush(struct console *con, int timeout_ms);
/* Bytes of guest output dropped so far (ring full, or the reader gone). */
uint64_t console_dropped(struct console *con);
void console_notify_space(void *opaque);

#endif
