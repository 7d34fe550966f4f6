/* KVM backend: TAP devices through /dev/net/tun, one frame per read or
 * write with a virtio-net header in front, non-blocking. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hal/kvm_internal.h"
#include "vmm/log.h"

static const struct hal_tap_ops kvm_tap_ops;

static struct kvm_hal_tap *tap_of(struct hal_tap *tap)
{
	return (struct kvm_hal_tap *)tap;
}

/* Empty / full is the normal state of a non-blocking TAP: -EAGAIN without
 * a message, since this is the data path. */
static ssize_t tap_result(struct hal_tap *tap, ssize_t n, const char *what)
{
	int e;

	if (n >= 0)
		return n;
	e = errno;
	if (e == EAGAIN || e == EWOULDBLOCK)
		return -EAGAIN;
	return err_set(-e, "%s on TAP %s: %s", what, tap->name, strerror(e));
}

static ssize_t kvm_tap_readv(struct hal_tap *tap, const struct iovec *iov, int iovcnt)
{
	return tap_result(tap, readv(tap_of(tap)->fd, iov, iovcnt), "readv");
}

static ssize_t kvm_tap_writev(struct hal_tap *tap, const struct iovec *iov, int iovcnt)
{
	return tap_result(tap, writev(tap_of(tap)->fd, iov, iovcnt), "writev");
}

static int kvm_tap_set_offloads(struct hal_tap *tap, unsigned offloads)
{
	if (ioctl(tap_of(tap)->fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0)
		return err_fail(-errno, "TUNSETOFFLOAD 0x%x on TAP %s: %s", offloads, tap->name, strerror(errno));
	return 0;
}

static int kvm_tap_set_vnet_hdr_size(struct hal_tap *tap, int size)
{
	if (ioctl(tap_of(tap)->fd, TUNSETVNETHDRSZ, &size) < 0)
		return err_fail(-errno, "TUNSETVNETHDRSZ %d on TAP %s: %s", size, tap->name, strerror(errno));
	return 0;
}

static int kvm_tap_poll_fd(struct hal_tap *tap)
{
	return tap_of(tap)->fd;
}

void kvm_tap_free(struct kvm_hal_tap *t)
{
	close(t->fd);
	free(t);
}

static void kvm_tap_close(struct hal_tap *tap)
{
	struct kvm_hal *h = kvm_hal_of(tap->hal);
	struct kvm_hal_tap *t = tap_of(tap);

	pthread_mutex_lock(&h->lock);
	for (struct kvm_hal_tap **pp = &h->taps; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	kvm_tap_free(t);
}

int kvm_tap_open(struct kvm_hal *h, const char *name, struct hal_tap **out)
{
	struct ifreq ifr;
	struct kvm_hal_tap *t;
	size_t len = name ? strlen(name) : 0;
	int fd, e;

	if (!len || len >= IFNAMSIZ)
		return err_fail(-EINVAL, "TAP name '%s' must have 1 to %d characters", name ? name : "",
				IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_fail(-errno, "open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return err_fail(-e, "TUNSETIFF %s: %s%s", name, strerror(e),
				e == EPERM ? " (needs CAP_NET_ADMIN, or a persistent TAP owned by this user)" : "");
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return err_fail(-ENOMEM, "TAP %s object", name);
	}
	t->base.ops = &kvm_tap_ops;
	t->base.hal = &h->base;
	/* The kernel may have completed the name; keep what it says. */
	memcpy(t->base.name, ifr.ifr_name, sizeof(t->base.name) - 1);
	t->fd = fd;
	pthread_mutex_lock(&h->lock);
	t->next = h->taps;
	h->taps = t;
	pthread_mutex_unlock(&h->lock);
	*out = &t->base;
	return 0;
}

static const struct hal_tap_ops kvm_tap_ops = {
	.readv = kvm_tap_readv,
	.writev = kvm_tap_writev,
	.set_offloads = kvm_tap_set_offloads,
	.set_vnet_hdr_size = kvm_tap_set_vnet_hdr_size,
	.poll_fd = kvm_tap_poll_fd,
	.close = kvm_tap_close,
};
