/* The mock backend: the hal object, its call log and fault table, guest
 * memory from the heap, supported CPUID, and the test controls that are
 * not about one VM, vCPU or TAP (those live in mock_vm.c, mock_vcpu.c and
 * mock_tap.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hal/mock_internal.h"
#include "vmm/log.h"

static const char *const op_names[MOCK_OP_COUNT] = {
	[MOCK_CHECK_CAP] = "check_cap",
	[MOCK_CREATE_VM] = "create_vm",
	[MOCK_GET_SUPPORTED_CPUID] = "get_supported_cpuid",
	[MOCK_MEM_ALLOC] = "mem_alloc",
	[MOCK_MEM_MAP_FILE] = "mem_map_file",
	[MOCK_MEM_FREE] = "mem_free",
	[MOCK_TAP_OPEN] = "tap_open",
	[MOCK_SET_TSS_ADDR] = "set_tss_addr",
	[MOCK_SET_IDENTITY_MAP_ADDR] = "set_identity_map_addr",
	[MOCK_SET_MEMORY_SLOT] = "set_memory_slot",
	[MOCK_CREATE_IRQCHIP] = "create_irqchip",
	[MOCK_CREATE_PIT] = "create_pit",
	[MOCK_SET_IRQ_LINE] = "set_irq_line",
	[MOCK_IRQFD] = "irqfd",
	[MOCK_IOEVENTFD] = "ioeventfd",
	[MOCK_GET_CLOCK] = "get_clock",
	[MOCK_SET_CLOCK] = "set_clock",
	[MOCK_GET_IRQCHIP] = "get_irqchip",
	[MOCK_SET_IRQCHIP] = "set_irqchip",
	[MOCK_GET_PIT] = "get_pit",
	[MOCK_SET_PIT] = "set_pit",
	[MOCK_GET_DIRTY_LOG] = "get_dirty_log",
	[MOCK_CREATE_VCPU] = "create_vcpu",
	[MOCK_RUN] = "run",
	[MOCK_GET_REGS] = "get_regs",
	[MOCK_SET_REGS] = "set_regs",
	[MOCK_GET_SREGS] = "get_sregs",
	[MOCK_SET_SREGS] = "set_sregs",
	[MOCK_GET_FPU] = "get_fpu",
	[MOCK_SET_FPU] = "set_fpu",
	[MOCK_GET_XSAVE] = "get_xsave",
	[MOCK_SET_XSAVE] = "set_xsave",
	[MOCK_GET_XCRS] = "get_xcrs",
	[MOCK_SET_XCRS] = "set_xcrs",
	[MOCK_GET_MSRS] = "get_msrs",
	[MOCK_SET_MSRS] = "set_msrs",
	[MOCK_GET_LAPIC] = "get_lapic",
	[MOCK_SET_LAPIC] = "set_lapic",
	[MOCK_SET_CPUID] = "set_cpuid",
	[MOCK_GET_CPUID] = "get_cpuid",
	[MOCK_GET_EVENTS] = "get_events",
	[MOCK_SET_EVENTS] = "set_events",
	[MOCK_GET_MP_STATE] = "get_mp_state",
	[MOCK_SET_MP_STATE] = "set_mp_state",
	[MOCK_TAP_READV] = "tap_readv",
	[MOCK_TAP_WRITEV] = "tap_writev",
	[MOCK_TAP_SET_OFFLOADS] = "tap_set_offloads",
	[MOCK_TAP_SET_VNET_HDR_SIZE] = "tap_set_vnet_hdr_size",
};

/* What a KVM host of these machines reports, give or take. */
static const int default_caps[HAL_CAP_COUNT] = {
	[HAL_CAP_IRQCHIP] = 1,        [HAL_CAP_PIT2] = 1,        [HAL_CAP_IOEVENTFD] = 1,
	[HAL_CAP_IRQFD] = 1,          [HAL_CAP_IMMEDIATE_EXIT] = 1, [HAL_CAP_READONLY_MEM] = 1,
	[HAL_CAP_X2APIC_API] = 3,     [HAL_CAP_NR_VCPUS] = HAL_MOCK_MAX_VCPUS,
	[HAL_CAP_MAX_VCPUS] = HAL_MOCK_MAX_VCPUS, [HAL_CAP_TSC_CONTROL] = 1,
};

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A small plausible KVM-on-Intel CPUID: enough leaves for the VMM's
 * patching (topology, APIC id, hypervisor leaves) to find what it needs. */
static const struct kvm_cpuid_entry2 default_cpuid[] = {
	{ .function = 0x0, .eax = 0xd, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
	{ .function = 0x1, .eax = 0x000806f8, .ebx = 0x00000800,
	  .ecx = 0x1 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 | 1u << 21 | 1u << 23 | 1u << 26 | 1u << 31,
	  .edx = 0x078bfbff },
	{ .function = 0x4, .index = 0, .flags = SIG, .eax = 0x121, .ebx = 0x01c0003f, .ecx = 0x3f },
	{ .function = 0x7, .index = 0, .flags = SIG, .ebx = 0x000007ab },
	{ .function = 0xb, .index = 0, .flags = SIG, .eax = 0, .ebx = 1, .ecx = 0x100 },
	{ .function = 0xb, .index = 1, .flags = SIG, .eax = 0, .ebx = 1, .ecx = 0x201 },
	{ .function = 0xd, .index = 0, .flags = SIG, .eax = 0x7, .ebx = 0x340, .ecx = 0x340 },
	{ .function = 0xd, .index = 1, .flags = SIG, .eax = 0x1 },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d },
	{ .function = 0x40000001, .eax = 0x01007afb },
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .ecx = 0x121, .edx = 0x28100800 },
	{ .function = 0x80000008, .eax = 0x3028 },
};

const char *hal_mock_op_name(enum hal_mock_op op)
{
	if ((unsigned)op >= MOCK_OP_COUNT)
		return "?";
	return op_names[op];
}

int mock_fault(struct mock_hal *mh, enum hal_mock_op op)
{
	struct mock_fault *f = &mh->faults[op];

	if (!f->remaining || --f->remaining)
		return 0;
	return err_set(f->err, "mock %s: injected failure %d", op_names[op], f->err);
}

void mock_log(struct mock_hal *mh, enum hal_mock_op op, uint64_t a0, uint64_t a1, uint64_t a2,
	      uint64_t a3, int result)
{
	mh->counts[op]++;
	if (mh->nlog == mh->log_cap) {
		size_t cap = mh->log_cap ? mh->log_cap * 2 : 64;
		struct hal_mock_call *log = realloc(mh->log, cap * sizeof(*log));

		/* Out of memory: keep counting, drop the entry. */
		if (!log)
			return;
		mh->log = log;
		mh->log_cap = cap;
	}
	mh->log[mh->nlog++] = (struct hal_mock_call){ op, { a0, a1, a2, a3 }, result };
}

/* ---- hal ops ---------------------------------------------------------------- */

static int do_check_cap(struct mock_hal *mh, enum hal_cap cap)
{
	if ((unsigned)cap >= HAL_CAP_COUNT)
		return err_fail(-EINVAL, "mock: unknown capability %d", cap);
	return mh->caps[cap];
}

static int mock_check_cap(struct hal *hal, enum hal_cap cap)
{
	return MOCK_OP(mock_of(hal), MOCK_CHECK_CAP, cap, 0, 0, 0, do_check_cap(mh_, cap));
}

static int do_create_vm(struct mock_hal *mh, struct hal_vm **out)
{
	struct mock_vm *vm;
	int r = mock_vm_new(mh, &vm);

	if (r)
		return r;
	*out = &vm->base;
	return 0;
}

static int mock_create_vm(struct hal *hal, struct hal_vm **out)
{
	return MOCK_OP(mock_of(hal), MOCK_CREATE_VM, 0, 0, 0, 0, do_create_vm(mh_, out));
}

static int do_get_supported_cpuid(struct mock_hal *mh, struct kvm_cpuid2 *cpuid)
{
	uint32_t need = mh->supported->nent;

	if (cpuid->nent < need) {
		uint32_t given = cpuid->nent;

		cpuid->nent = need;
		return err_fail(-E2BIG, "mock: supported CPUID needs %u entries, %u given", need, given);
	}
	memcpy(cpuid->entries, mh->supported->entries, need * sizeof(cpuid->entries[0]));
	cpuid->nent = need;
	return 0;
}

static int mock_get_supported_cpuid(struct hal *hal, struct kvm_cpuid2 *cpuid)
{
	uint32_t given = cpuid->nent;

	return MOCK_OP(mock_of(hal), MOCK_GET_SUPPORTED_CPUID, given, 0, 0, 0,
		       do_get_supported_cpuid(mh_, cpuid));
}

/* Heap memory, page aligned. calloc rather than aligned_alloc+memset:
 * for big sizes libc hands out fresh zero pages lazily, so a test's large
 * guest costs nothing until it is touched. */
static int mem_new(struct mock_hal *mh, size_t size, struct mock_mem **out)
{
	struct mock_mem *m;

	if (!size)
		return err_fail(-EINVAL, "mock: zero-sized guest memory");
	if (size > SIZE_MAX - MOCK_PAGE)
		return err_fail(-ENOMEM, "mock: %zu bytes of guest memory", size);
	m = calloc(1, sizeof(*m));
	if (!m)
		return err_fail(-ENOMEM, "mock: guest memory record");
	m->base = calloc(1, size + MOCK_PAGE);
	if (!m->base) {
		free(m);
		return err_fail(-ENOMEM, "mock: %zu bytes of guest memory", size);
	}
	m->addr = (void *)(((uintptr_t)m->base + MOCK_PAGE - 1) & ~(uintptr_t)(MOCK_PAGE - 1));
	m->size = size;
	m->fd = -1;
	m->next = mh->mems;
	mh->mems = m;
	*out = m;
	return 0;
}

/* Writes a shared mapping back to its file (the mock's stand-in for
 * MAP_SHARED) and frees it. */
static int mem_release(struct mock_mem *m)
{
	int r = 0;

	if (m->fd >= 0) {
		for (size_t done = 0; done < m->size;) {
			ssize_t n = pwrite(m->fd, (uint8_t *)m->addr + done, m->size - done,
					   (off_t)(m->offset + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = err_fail(n < 0 ? -errno : -EIO, "mock: writing back shared mapping at offset %llu",
					     (unsigned long long)(m->offset + done));
				break;
			}
			done += (size_t)n;
		}
		close(m->fd);
	}
	free(m->base);
	free(m);
	return r;
}

static void mem_unlink(struct mock_hal *mh, struct mock_mem *m)
{
	for (struct mock_mem **pp = &mh->mems; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			return;
		}
	}
}

static int do_mem_alloc(struct mock_hal *mh, size_t size, unsigned flags, void **out)
{
	struct mock_mem *m;
	int r;

	if (flags & ~(unsigned)(HAL_MEM_HUGEPAGES | HAL_MEM_NORESERVE))
		return err_fail(-EINVAL, "mock: unknown memory flags 0x%x", flags);
	r = mem_new(mh, size, &m);
	if (r)
		return r;
	*out = m->addr;
	return 0;
}

static int mock_mem_alloc(struct hal *hal, size_t size, unsigned flags, void **out)
{
	void *addr = NULL;
	int r = MOCK_OP(mock_of(hal), MOCK_MEM_ALLOC, size, flags, (uintptr_t)addr, 0,
			do_mem_alloc(mh_, size, flags, &addr));

	if (!r)
		*out = addr;
	return r;
}

static int do_mem_map_file(struct mock_hal *mh, int fd, uint64_t offset, size_t size, bool private_cow,
			   void **out)
{
	struct mock_mem *m;
	int r;

	if (fd < 0)
		return err_fail(-EBADF, "mock: mapping fd %d", fd);
	if (offset % MOCK_PAGE)
		return err_fail(-EINVAL, "mock: file offset 0x%llx is not page aligned",
				(unsigned long long)offset);
	r = mem_new(mh, size, &m);
	if (r)
		return r;
	for (size_t done = 0; done < size;) {
		ssize_t n = pread(fd, (uint8_t *)m->addr + done, size - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? err_fail(-errno, "mock: reading fd %d at offset %llu", fd,
					     (unsigned long long)(offset + done))
				  : err_fail(-EINVAL, "mock: [0x%llx, 0x%llx) of fd %d goes past its end of file",
					     (unsigned long long)offset, (unsigned long long)(offset + size), fd);
			mem_unlink(mh, m);
			mem_release(m);
			return r;
		}
		done += (size_t)n;
	}
	if (!private_cow) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd < 0) {
			r = err_fail(-errno, "mock: dup of fd %d", fd);
			mem_unlink(mh, m);
			mem_release(m);
			return r;
		}
		m->offset = offset;
	}
	*out = m->addr;
	return 0;
}

static int mock_mem_map_file(struct hal *hal, int fd, uint64_t offset, size_t size, bool private_cow,
			     void **out)
{
	return MOCK_OP(mock_of(hal), MOCK_MEM_MAP_FILE, fd, offset, size, private_cow,
		       do_mem_map_file(mh_, fd, offset, size, private_cow, out));
}

static int do_mem_free(struct mock_hal *mh, void *addr, size_t size)
{
	struct mock_mem *m = mh->mems;

	while (m && m->addr != addr)
		m = m->next;
	if (!m)
		return err_fail(-EINVAL, "mock: %p is not guest memory from this hal", addr);
	if (m->size != size)
		return err_fail(-EINVAL, "mock: freeing %p with size %zu, it was mapped with size %zu", addr,
				size, m->size);
	mem_unlink(mh, m);
	return mem_release(m);
}

static int mock_mem_free(struct hal *hal, void *addr, size_t size)
{
	return MOCK_OP(mock_of(hal), MOCK_MEM_FREE, (uintptr_t)addr, size, 0, 0, do_mem_free(mh_, addr, size));
}

static int mock_tap_open_op(struct hal *hal, const char *name, struct hal_tap **out)
{
	return MOCK_OP(mock_of(hal), MOCK_TAP_OPEN, 0, 0, 0, 0, mock_tap_open(mh_, name, out));
}

void mock_script_clear(struct mock_script *s)
{
	while (s->head) {
		struct mock_step *next = s->head->next;

		free(s->head);
		s->head = next;
	}
	s->tail = NULL;
	s->n = 0;
}

static void mock_destroy(struct hal *hal)
{
	struct mock_hal *mh = mock_of(hal);

	while (mh->vms) {
		struct mock_vm *vm = mh->vms;

		mh->vms = vm->next;
		mock_vm_free(vm);
	}
	while (mh->taps) {
		struct mock_tapif *ifc = mh->taps;

		mh->taps = ifc->next;
		mock_tapif_free(ifc);
	}
	while (mh->mems) {
		struct mock_mem *m = mh->mems;

		mh->mems = m->next;
		mem_release(m);
	}
	for (unsigned i = 0; i < HAL_MOCK_MAX_VCPUS; i++)
		mock_script_clear(&mh->scripts[i]);
	free(mh->supported);
	free(mh->rejected_msrs);
	free(mh->log);
	pthread_mutex_destroy(&mh->lock);
	free(mh);
}

/* The mock's memory is calloc'd: a page counts as touched once it holds a
 * non-zero byte, which is what the tests can observe. */
static int mock_mem_resident(struct hal *hal, void *addr, size_t size, uint64_t *bytes)
{
	const uint8_t *p = addr;
	uint64_t total = 0;

	(void)hal;
	for (size_t off = 0; off < size; off += 4096) {
		size_t len = size - off < 4096 ? size - off : 4096;

		for (size_t i = 0; i < len; i++) {
			if (p[off + i]) {
				total += len;
				break;
			}
		}
	}
	*bytes = total;
	return 0;
}

static const struct hal_ops mock_ops = {
	.check_cap = mock_check_cap,
	.create_vm = mock_create_vm,
	.get_supported_cpuid = mock_get_supported_cpuid,
	.mem_alloc = mock_mem_alloc,
	.mem_map_file = mock_mem_map_file,
	.mem_free = mock_mem_free,
	.mem_resident = mock_mem_resident,
	.tap_open = mock_tap_open_op,
	.destroy = mock_destroy,
};

static struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *c)
{
	size_t bytes = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *copy = malloc(bytes);

	if (copy)
		memcpy(copy, c, bytes);
	return copy;
}

int hal_mock_create(struct hal **out)
{
	struct mock_hal *mh = calloc(1, sizeof(*mh));
	struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 e[sizeof(default_cpuid) / sizeof(default_cpuid[0])];
	} def;

	if (!mh)
		return err_fail(-ENOMEM, "mock: hal instance");
	def.head = (struct kvm_cpuid2){ .nent = sizeof(def.e) / sizeof(def.e[0]) };
	memcpy(def.e, default_cpuid, sizeof(def.e));
	mh->supported = cpuid_dup(&def.head);
	if (!mh->supported) {
		free(mh);
		return err_fail(-ENOMEM, "mock: supported CPUID");
	}
	pthread_mutex_init(&mh->lock, NULL);
	memcpy(mh->caps, default_caps, sizeof(mh->caps));
	atomic_init(&mh->run_blocks, false);
	mh->base.ops = &mock_ops;
	mh->base.name = "mock";
	*out = &mh->base;
	return 0;
}

/* ---- controls: log and faults ----------------------------------------------- */

size_t hal_mock_call_count(struct hal *hal, enum hal_mock_op op)
{
	struct mock_hal *mh = mock_of(hal);
	size_t n;

	if ((unsigned)op >= MOCK_OP_COUNT)
		return 0;
	pthread_mutex_lock(&mh->lock);
	n = mh->counts[op];
	pthread_mutex_unlock(&mh->lock);
	return n;
}

const struct hal_mock_call *hal_mock_call_at(struct hal *hal, size_t i)
{
	struct mock_hal *mh = mock_of(hal);
	const struct hal_mock_call *c;

	pthread_mutex_lock(&mh->lock);
	c = i < mh->nlog ? &mh->log[i] : NULL;
	pthread_mutex_unlock(&mh->lock);
	return c;
}

size_t hal_mock_calls_total(struct hal *hal)
{
	struct mock_hal *mh = mock_of(hal);
	size_t n;

	pthread_mutex_lock(&mh->lock);
	n = mh->nlog;
	pthread_mutex_unlock(&mh->lock);
	return n;
}

const struct hal_mock_call *hal_mock_last_call(struct hal *hal, enum hal_mock_op op)
{
	struct mock_hal *mh = mock_of(hal);
	const struct hal_mock_call *c = NULL;

	pthread_mutex_lock(&mh->lock);
	for (size_t i = mh->nlog; i-- > 0;) {
		if (mh->log[i].op == op) {
			c = &mh->log[i];
			break;
		}
	}
	pthread_mutex_unlock(&mh->lock);
	return c;
}

void hal_mock_fail_nth(struct hal *hal, enum hal_mock_op op, unsigned nth, int err)
{
	struct mock_hal *mh = mock_of(hal);

	if ((unsigned)op >= MOCK_OP_COUNT)
		return;
	pthread_mutex_lock(&mh->lock);
	mh->faults[op] = (struct mock_fault){ .remaining = err < 0 ? nth : 0, .err = err };
	pthread_mutex_unlock(&mh->lock);
}

/* ---- controls: the simulated host --------------------------------------------- */

int hal_mock_set_cap(struct hal *hal, enum hal_cap cap, int value)
{
	struct mock_hal *mh = mock_of(hal);

	if ((unsigned)cap >= HAL_CAP_COUNT)
		return err_fail(-EINVAL, "mock: unknown capability %d", cap);
	pthread_mutex_lock(&mh->lock);
	mh->caps[cap] = value;
	pthread_mutex_unlock(&mh->lock);
	return 0;
}

int hal_mock_set_supported_cpuid(struct hal *hal, const struct kvm_cpuid2 *cpuid)
{
	struct mock_hal *mh = mock_of(hal);
	struct kvm_cpuid2 *copy;

	if (cpuid->nent > MOCK_MAX_CPUID)
		return err_fail(-E2BIG, "mock: %u CPUID entries, at most %u", cpuid->nent, MOCK_MAX_CPUID);
	copy = cpuid_dup(cpuid);
	if (!copy)
		return err_fail(-ENOMEM, "mock: supported CPUID");
	pthread_mutex_lock(&mh->lock);
	free(mh->supported);
	mh->supported = copy;
	pthread_mutex_unlock(&mh->lock);
	return 0;
}

int hal_mock_msr_reject(struct hal *hal, uint32_t index)
{
	struct mock_hal *mh = mock_of(hal);
	uint32_t *list;
	int r = 0;

	pthread_mutex_lock(&mh->lock);
	list = realloc(mh->rejected_msrs, (mh->nrejected + 1) * sizeof(*list));
	if (list) {
		list[mh->nrejected++] = index;
		mh->rejected_msrs = list;
	} else {
		r = err_fail(-ENOMEM, "mock: rejected MSR list");
	}
	pthread_mutex_unlock(&mh->lock);
	return r;
}
