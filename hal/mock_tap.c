/* Mock TAP: per-interface frame queues in memory, an eventfd that polls
 * readable while RX frames wait, and the controls tests use to play the
 * host side of the wire. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hal/mock_internal.h"
#include "vmm/log.h"

#define OFFLOAD_MASK (HAL_TAP_CSUM | HAL_TAP_TSO4 | HAL_TAP_TSO6 | HAL_TAP_TSO_ECN | HAL_TAP_UFO)

static const struct hal_tap_ops mock_tap_ops;

static bool name_ok(const char *name)
{
	return name && name[0] && strlen(name) < sizeof(((struct mock_tapif *)0)->name);
}

static void queue_push(struct mock_queue *q, struct mock_frame *f)
{
	f->next = NULL;
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->n++;
}

static struct mock_frame *queue_pop(struct mock_queue *q)
{
	struct mock_frame *f = q->head;

	if (f) {
		q->head = f->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
	}
	return f;
}

static void queue_clear(struct mock_queue *q)
{
	struct mock_frame *f;

	while ((f = queue_pop(q)))
		free(f);
}

struct mock_tapif *mock_tapif_get(struct mock_hal *mh, const char *name, bool create)
{
	struct mock_tapif *ifc;

	for (ifc = mh->taps; ifc; ifc = ifc->next)
		if (!strcmp(ifc->name, name))
			return ifc;
	if (!create)
		return NULL;
	ifc = calloc(1, sizeof(*ifc));
	if (!ifc)
		return NULL;
	ifc->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ifc->event_fd < 0) {
		free(ifc);
		return NULL;
	}
	strcpy(ifc->name, name);
	ifc->vnet_hdr_size = MOCK_VNET_HDR_MIN; /* the kernel's default */
	ifc->next = mh->taps;
	mh->taps = ifc;
	return ifc;
}

void mock_tapif_free(struct mock_tapif *ifc)
{
	queue_clear(&ifc->rx);
	queue_clear(&ifc->tx);
	close(ifc->event_fd);
	free(ifc->open);
	free(ifc);
}

/* Keeps the eventfd readable exactly while RX frames wait. Both calls are
 * non-blocking: a write to a nonzero counter and a read of a zero one have
 * nothing left to do. */
static void rx_signal(struct mock_tapif *ifc, bool pending)
{
	uint64_t v = 1;
	ssize_t n = pending ? write(ifc->event_fd, &v, sizeof(v)) : read(ifc->event_fd, &v, sizeof(v));

	(void)n;
}

int mock_tap_open(struct mock_hal *mh, const char *name, struct hal_tap **out)
{
	struct mock_tapif *ifc;
	struct mock_tap *t;

	if (!name_ok(name))
		return err_fail(-EINVAL, "mock: TAP name '%s' must have 1 to 15 characters", name ? name : "");
	ifc = mock_tapif_get(mh, name, true);
	if (!ifc)
		return err_fail(-ENOMEM, "mock: TAP %s", name);
	if (ifc->open)
		return err_fail(-EBUSY, "mock: TAP %s is open already", name);
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_fail(-ENOMEM, "mock: TAP %s", name);
	t->base.ops = &mock_tap_ops;
	t->base.hal = &mh->base;
	strcpy(t->base.name, ifc->name);
	t->ifc = ifc;
	ifc->open = t;
	*out = &t->base;
	return 0;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

static int do_readv(struct mock_tapif *ifc, const struct iovec *iov, int iovcnt)
{
	struct mock_frame *f = queue_pop(&ifc->rx);
	size_t done = 0;

	if (!f)
		return -EAGAIN;
	for (int i = 0; i < iovcnt && done < f->len; i++) {
		size_t n = f->len - done < iov[i].iov_len ? f->len - done : iov[i].iov_len;

		memcpy(iov[i].iov_base, f->data + done, n);
		done += n;
	}
	free(f);
	if (!ifc->rx.n)
		rx_signal(ifc, false);
	return (int)done;
}

static ssize_t mock_tap_readv(struct hal_tap *tap, const struct iovec *iov, int iovcnt)
{
	struct mock_tap *t = (struct mock_tap *)tap;

	return MOCK_OP(mock_of(tap->hal), MOCK_TAP_READV, iovcnt, iov_total(iov, iovcnt), 0, 0,
		       do_readv(t->ifc, iov, iovcnt));
}

static int do_writev(struct mock_tapif *ifc, const struct iovec *iov, int iovcnt)
{
	size_t len = iov_total(iov, iovcnt), done = 0;
	struct mock_frame *f;

	if (len > HAL_MOCK_TAP_MAX_FRAME)
		return err_fail(-EINVAL, "mock: TAP %s: frame of %zu bytes, at most %u", ifc->name, len,
				HAL_MOCK_TAP_MAX_FRAME);
	if (len < (size_t)ifc->vnet_hdr_size)
		return err_fail(-EINVAL, "mock: TAP %s: frame of %zu bytes is shorter than its vnet header",
				ifc->name, len);
	if ((ifc->tx_limit && ifc->tx.n >= ifc->tx_limit) || ifc->tx.n >= HAL_MOCK_TAP_QUEUE_MAX)
		return -EAGAIN;
	if (ifc->before_write)
		ifc->before_write(ifc->before_write_opaque);
	f = malloc(sizeof(*f) + len);
	if (!f)
		return err_fail(-ENOMEM, "mock: TAP %s frame", ifc->name);
	f->len = len;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(f->data + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	queue_push(&ifc->tx, f);
	return (int)len;
}

static ssize_t mock_tap_writev(struct hal_tap *tap, const struct iovec *iov, int iovcnt)
{
	struct mock_tap *t = (struct mock_tap *)tap;

	return MOCK_OP(mock_of(tap->hal), MOCK_TAP_WRITEV, iovcnt, iov_total(iov, iovcnt), 0, 0,
		       do_writev(t->ifc, iov, iovcnt));
}

static int do_set_offloads(struct mock_tapif *ifc, unsigned offloads)
{
	if (offloads & ~(unsigned)OFFLOAD_MASK)
		return err_fail(-EINVAL, "mock: TAP %s: unknown offloads 0x%x", ifc->name, offloads);
	ifc->offloads = offloads;
	return 0;
}

static int mock_tap_set_offloads(struct hal_tap *tap, unsigned offloads)
{
	struct mock_tap *t = (struct mock_tap *)tap;

	return MOCK_OP(mock_of(tap->hal), MOCK_TAP_SET_OFFLOADS, offloads, 0, 0, 0,
		       do_set_offloads(t->ifc, offloads));
}

static int do_set_vnet_hdr_size(struct mock_tapif *ifc, int size)
{
	if (size < MOCK_VNET_HDR_MIN)
		return err_fail(-EINVAL, "mock: TAP %s: vnet header size %d, at least %d", ifc->name, size,
				MOCK_VNET_HDR_MIN);
	ifc->vnet_hdr_size = size;
	return 0;
}

static int mock_tap_set_vnet_hdr_size(struct hal_tap *tap, int size)
{
	struct mock_tap *t = (struct mock_tap *)tap;

	return MOCK_OP(mock_of(tap->hal), MOCK_TAP_SET_VNET_HDR_SIZE, size, 0, 0, 0,
		       do_set_vnet_hdr_size(t->ifc, size));
}

static int mock_tap_poll_fd(struct hal_tap *tap)
{
	return ((struct mock_tap *)tap)->ifc->event_fd;
}

static void mock_tap_close(struct hal_tap *tap)
{
	struct mock_hal *mh = mock_of(tap->hal);
	struct mock_tap *t = (struct mock_tap *)tap;

	pthread_mutex_lock(&mh->lock);
	t->ifc->open = NULL;
	free(t);
	pthread_mutex_unlock(&mh->lock);
}

static const struct hal_tap_ops mock_tap_ops = {
	.readv = mock_tap_readv,
	.writev = mock_tap_writev,
	.set_offloads = mock_tap_set_offloads,
	.set_vnet_hdr_size = mock_tap_set_vnet_hdr_size,
	.poll_fd = mock_tap_poll_fd,
	.close = mock_tap_close,
};

/* ---- controls ---------------------------------------------------------------- */

int hal_mock_tap_inject(struct hal *hal, const char *name, const void *frame, size_t len)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_tapif *ifc;
	struct mock_frame *f;
	int r = 0;

	if (!name_ok(name) || !frame || !len)
		return err_fail(-EINVAL, "mock: injecting %zu bytes into TAP '%s'", len, name ? name : "");
	if (len > HAL_MOCK_TAP_MAX_FRAME)
		return err_fail(-EMSGSIZE, "mock: frame of %zu bytes, at most %u", len, HAL_MOCK_TAP_MAX_FRAME);
	pthread_mutex_lock(&mh->lock);
	ifc = mock_tapif_get(mh, name, true);
	f = ifc && ifc->rx.n < HAL_MOCK_TAP_QUEUE_MAX ? malloc(sizeof(*f) + len) : NULL;
	if (!ifc) {
		r = err_fail(-ENOMEM, "mock: TAP %s", name);
	} else if (ifc->rx.n >= HAL_MOCK_TAP_QUEUE_MAX) {
		r = err_fail(-ENOBUFS, "mock: TAP %s already has %u frames waiting", name, ifc->rx.n);
	} else if (!f) {
		r = err_fail(-ENOMEM, "mock: TAP %s frame", name);
	} else {
		f->len = len;
		memcpy(f->data, frame, len);
		queue_push(&ifc->rx, f);
		if (ifc->rx.n == 1)
			rx_signal(ifc, true);
	}
	pthread_mutex_unlock(&mh->lock);
	return r;
}

ssize_t hal_mock_tap_take(struct hal *hal, const char *name, void *buf, size_t cap)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_tapif *ifc;
	struct mock_frame *f = NULL;
	ssize_t len = -EAGAIN;

	pthread_mutex_lock(&mh->lock);
	ifc = name_ok(name) ? mock_tapif_get(mh, name, false) : NULL;
	if (ifc)
		f = queue_pop(&ifc->tx);
	pthread_mutex_unlock(&mh->lock);
	if (f) {
		memcpy(buf, f->data, f->len < cap ? f->len : cap);
		len = (ssize_t)f->len;
		free(f);
	}
	return len;
}

/* The interface `name` (made if new) with the mock's lock held, or NULL
 * (and not locked) for a bad name or no memory. */
static struct mock_tapif *tapif_lock(struct mock_hal *mh, const char *name)
{
	struct mock_tapif *ifc;

	if (!name_ok(name))
		return NULL;
	pthread_mutex_lock(&mh->lock);
	ifc = mock_tapif_get(mh, name, true);
	if (!ifc)
		pthread_mutex_unlock(&mh->lock);
	return ifc;
}

void hal_mock_tap_before_write(struct hal *hal, const char *name, void (*fn)(void *opaque), void *opaque)
{
	struct mock_tapif *ifc = tapif_lock(mock_of(hal), name);

	if (ifc) {
		ifc->before_write = fn;
		ifc->before_write_opaque = opaque;
		pthread_mutex_unlock(&mock_of(hal)->lock);
	}
}

void hal_mock_tap_set_tx_limit(struct hal *hal, const char *name, unsigned limit)
{
	struct mock_tapif *ifc = tapif_lock(mock_of(hal), name);

	if (ifc) {
		ifc->tx_limit = limit;
		pthread_mutex_unlock(&mock_of(hal)->lock);
	}
}

int hal_mock_tap_state(struct hal *hal, const char *name, unsigned *offloads, int *vnet_hdr_size, bool *open)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_tapif *ifc;
	int r = 0;

	pthread_mutex_lock(&mh->lock);
	ifc = name_ok(name) ? mock_tapif_get(mh, name, false) : NULL;
	if (!ifc) {
		r = err_fail(-ENOENT, "mock: no TAP '%s'", name ? name : "");
	} else {
		if (offloads)
			*offloads = ifc->offloads;
		if (vnet_hdr_size)
			*vnet_hdr_size = ifc->vnet_hdr_size;
		if (open)
			*open = ifc->open != NULL;
	}
	pthread_mutex_unlock(&mh->lock);
	return r;
}
