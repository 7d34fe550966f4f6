/* The io_uring ring virtio-blk submits its reads and writes to, built so
 * that nothing else can be done through it: a thread that gets control of
 * the VMM and so of io_uring_enter (which seccomp has to allow, since the
 * ring's fd is only known at run time) still cannot open a file or a
 * socket through the kernel's io_uring workers, which seccomp does not
 * filter. */
#ifndef EMBER_BLK_RING_H
#define EMBER_BLK_RING_H

#include <liburing.h>

/* A ring of `depth` entries that signals each completion on event_fd and
 * accepts only IORING_OP_READV and IORING_OP_WRITEV without SQE flags,
 * and no io_uring_register call once it runs. 0, or a negative errno
 * (the kernel lacks io_uring or its restrictions, 5.10) with the reason
 * in err_last(). */
int blk_ring_open(struct io_uring *ring, unsigned depth, int event_fd);

#endif
