/* The KVM backend: /dev/kvm itself (open, capabilities, supported CPUID),
 * guest memory mappings, and the hal object's lifetime. VMs, vCPUs and
 * TAPs live in kvm_vm.c, kvm_vcpu.c and kvm_tap.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hal/kvm_internal.h"
#include "vmm/log.h"

#define KVM_API 12
#define CPUID_PROBE_MAX 4096 /* far above KVM_MAX_CPUID_ENTRIES (256) */

/* What ember cannot run without; each is in KVM's x86 baseline. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK" },
};

int kvm_cap_number(enum hal_cap cap)
{
	switch (cap) {
	case HAL_CAP_IRQCHIP: return KVM_CAP_IRQCHIP;
	case HAL_CAP_PIT2: return KVM_CAP_PIT2;
	case HAL_CAP_IOEVENTFD: return KVM_CAP_IOEVENTFD;
	case HAL_CAP_IRQFD: return KVM_CAP_IRQFD;
	case HAL_CAP_IMMEDIATE_EXIT: return KVM_CAP_IMMEDIATE_EXIT;
	case HAL_CAP_READONLY_MEM: return KVM_CAP_READONLY_MEM;
	case HAL_CAP_X2APIC_API: return KVM_CAP_X2APIC_API;
	case HAL_CAP_NR_VCPUS: return KVM_CAP_NR_VCPUS;
	case HAL_CAP_MAX_VCPUS: return KVM_CAP_MAX_VCPUS;
	case HAL_CAP_TSC_CONTROL: return KVM_CAP_TSC_CONTROL;
	case HAL_CAP_COUNT: break;
	}
	return -1;
}

static int kvm_check_cap(struct hal *hal, enum hal_cap cap)
{
	int n = kvm_cap_number(cap), r;

	if (n < 0)
		return err_fail(-EINVAL, "unknown capability %d", cap);
	r = ioctl(kvm_hal_of(hal)->fd, KVM_CHECK_EXTENSION, n);
	if (r < 0)
		return err_fail(-errno, "KVM_CHECK_EXTENSION %d: %s", n, strerror(errno));
	return r;
}

static int kvm_create_vm_op(struct hal *hal, struct hal_vm **out)
{
	return kvm_vm_create(kvm_hal_of(hal), out);
}

/* KVM does not say how many entries it wanted when it returns E2BIG, so
 * ask again with bigger buffers to tell the caller. 0 if it never fits. */
static uint32_t cpuid_probe_need(int fd, uint32_t given)
{
	for (uint32_t n = given < 32 ? 64 : given * 2; n <= CPUID_PROBE_MAX; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		uint32_t need = 0;
		int r, e;

		if (!c)
			return 0;
		c->nent = n;
		r = ioctl(fd, KVM_GET_SUPPORTED_CPUID, c);
		e = errno;
		if (r == 0)
			need = c->nent;
		free(c);
		if (r == 0)
			return need;
		if (e != E2BIG)
			return 0;
	}
	return 0;
}

static int kvm_get_supported_cpuid(struct hal *hal, struct kvm_cpuid2 *cpuid)
{
	int fd = kvm_hal_of(hal)->fd;
	uint32_t given = cpuid->nent, need;

	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
		return 0;
	if (errno != E2BIG)
		return err_fail(-errno, "KVM_GET_SUPPORTED_CPUID (%u entries): %s", given, strerror(errno));
	need = cpuid_probe_need(fd, given);
	if (!need)
		return err_fail(-E2BIG, "KVM_GET_SUPPORTED_CPUID: %u entries are too few", given);
	cpuid->nent = need;
	return err_fail(-E2BIG, "KVM_GET_SUPPORTED_CPUID: %u entries given, %u needed", given, need);
}

/* ---- guest memory ------------------------------------------------------------ */

static int map_track(struct kvm_hal *h, void *addr, size_t size)
{
	struct kvm_hal_map *m = malloc(sizeof(*m));

	if (!m) {
		munmap(addr, size);
		return err_fail(-ENOMEM, "tracking a mapping of %zu bytes", size);
	}
	m->addr = addr;
	m->size = size;
	pthread_mutex_lock(&h->lock);
	m->next = h->maps;
	h->maps = m;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int kvm_mem_alloc(struct hal *hal, size_t size, unsigned flags, void **out)
{
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;
	int r;

	if (!size)
		return err_fail(-EINVAL, "zero-sized guest memory");
	if (flags & ~(unsigned)(HAL_MEM_HUGEPAGES | HAL_MEM_NORESERVE))
		return err_fail(-EINVAL, "unknown memory flags 0x%x", flags);
	if (flags & HAL_MEM_NORESERVE)
		mflags |= MAP_NORESERVE;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, mflags, -1, 0);
	if (p == MAP_FAILED)
		return err_fail(-errno, "mmap of %zu bytes of guest memory: %s", size, strerror(errno));
	/* Transparent hugepages are a hint: without them the guest still runs. */
	if ((flags & HAL_MEM_HUGEPAGES) && madvise(p, size, MADV_HUGEPAGE) < 0)
		log_warn("madvise(MADV_HUGEPAGE) on %zu bytes: %s; using 4 KiB pages", size, strerror(errno));
	r = map_track(kvm_hal_of(hal), p, size);
	if (r)
		return r;
	*out = p;
	return 0;
}

static int kvm_mem_map_file(struct hal *hal, int fd, uint64_t offset, size_t size, bool private_cow,
			    void **out)
{
	void *p;
	int r;

	if (!size)
		return err_fail(-EINVAL, "zero-sized file mapping");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, private_cow ? MAP_PRIVATE : MAP_SHARED, fd, (off_t)offset);
	if (p == MAP_FAILED)
		return err_fail(-errno, "mmap of fd %d [0x%llx, +%zu) %s: %s", fd, (unsigned long long)offset, size,
				private_cow ? "private" : "shared", strerror(errno));
	r = map_track(kvm_hal_of(hal), p, size);
	if (r)
		return r;
	*out = p;
	return 0;
}

static int kvm_mem_free(struct hal *hal, void *addr, size_t size)
{
	struct kvm_hal *h = kvm_hal_of(hal);
	struct kvm_hal_map *m = NULL;

	pthread_mutex_lock(&h->lock);
	for (struct kvm_hal_map **pp = &h->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->addr == addr && (*pp)->size == size) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!m)
		return err_fail(-EINVAL, "%p (+%zu) is not guest memory from this hal", addr, size);
	free(m);
	if (munmap(addr, size) < 0)
		return err_fail(-errno, "munmap %p (+%zu): %s", addr, size, strerror(errno));
	return 0;
}

static int kvm_tap_open_op(struct hal *hal, const char *name, struct hal_tap **out)
{
	return kvm_tap_open(kvm_hal_of(hal), name, out);
}

static void kvm_destroy(struct hal *hal)
{
	struct kvm_hal *h = kvm_hal_of(hal);

	while (h->vms) {
		struct kvm_hal_vm *vm = h->vms;

		h->vms = vm->next;
		kvm_vm_free(vm);
	}
	while (h->taps) {
		struct kvm_hal_tap *t = h->taps;

		h->taps = t->next;
		kvm_tap_free(t);
	}
	while (h->maps) {
		struct kvm_hal_map *m = h->maps;

		h->maps = m->next;
		munmap(m->addr, m->size);
		free(m);
	}
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int kvm_mem_resident(struct hal *hal, void *addr, size_t size, uint64_t *bytes)
{
	enum { CHUNK = 4096 };
	unsigned char vec[CHUNK];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t total = 0;

	(void)hal;
	for (size_t off = 0; off < size; off += CHUNK * page) {
		size_t len = size - off < CHUNK * page ? size - off : CHUNK * page;
		size_t pages = (len + page - 1) / page;

		if (mincore((uint8_t *)addr + off, len, vec) < 0)
			return err_fail(-errno, "mincore %p+0x%zx: %m", (void *)((uint8_t *)addr + off), len);
		for (size_t i = 0; i < pages; i++)
			total += (vec[i] & 1) ? page : 0;
	}
	*bytes = total;
	return 0;
}

static const struct hal_ops kvm_ops = {
	.check_cap = kvm_check_cap,
	.create_vm = kvm_create_vm_op,
	.get_supported_cpuid = kvm_get_supported_cpuid,
	.mem_alloc = kvm_mem_alloc,
	.mem_map_file = kvm_mem_map_file,
	.mem_free = kvm_mem_free,
	.mem_resident = kvm_mem_resident,
	.tap_open = kvm_tap_open_op,
	.destroy = kvm_destroy,
};

/* ---- open ---------------------------------------------------------------------- */

static int kvm_check_host(int fd, size_t *run_size)
{
	int r = ioctl(fd, KVM_GET_API_VERSION, 0);

	if (r < 0)
		return err_fail(-errno, "KVM_GET_API_VERSION: %s", strerror(errno));
	if (r != KVM_API)
		return err_fail(-ENOTSUP, "/dev/kvm speaks API version %d, ember needs %d", r, KVM_API);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		r = ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap);
		if (r < 0)
			return err_fail(-errno, "KVM_CHECK_EXTENSION %s: %s", required_caps[i].name, strerror(errno));
		if (r == 0)
			return err_fail(-ENOTSUP, "/dev/kvm lacks %s, which ember needs", required_caps[i].name);
	}
	r = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return err_fail(-errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	if ((size_t)r < sizeof(struct kvm_run))
		return err_fail(-EINVAL, "KVM_GET_VCPU_MMAP_SIZE %d is smaller than struct kvm_run (%zu)", r,
				sizeof(struct kvm_run));
	*run_size = (size_t)r;
	/* get_xsave moves the 4 KiB legacy struct kvm_xsave; state beyond it
	 * (AMX tiles) is not saved yet. Say so where it matters. */
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (r > (int)sizeof(struct kvm_xsave))
		log_debug("KVM_CAP_XSAVE2 is %d bytes; snapshots keep the first %zu", r, sizeof(struct kvm_xsave));
	return 0;
}

int hal_kvm_open(struct hal **out)
{
	struct kvm_hal *h;
	size_t run_size = 0;
	int fd, r;

	*out = NULL;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_fail(-errno, "open /dev/kvm: %s", strerror(errno));
	r = kvm_check_host(fd, &run_size);
	if (r) {
		close(fd);
		return r;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return err_fail(-ENOMEM, "KVM backend");
	}
	h->base.ops = &kvm_ops;
	h->base.name = "kvm";
	h->fd = fd;
	h->run_size = run_size;
	pthread_mutex_init(&h->lock, NULL);
	*out = &h->base;
	return 0;
}
