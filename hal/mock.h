/* The in-memory HAL backend for unit tests, and its test controls.
 *
 * It keeps real state (registers read back what was written, memory slots
 * are recorded, irq lines have levels), logs every call as {op, args,
 * result}, plays back scripted exits from run(), and injects failures
 * ("fail the Nth call of op X with -E..."). It has no global state: each
 * test creates its own instance. */
#ifndef EMBER_HAL_MOCK_H
#define EMBER_HAL_MOCK_H

#include "hal/hal.h"

/* Limits of the mock machine; breaking one fails like KVM would. */
#define HAL_MOCK_MAX_VCPUS 32      /* vCPU ids 0..31 */
#define HAL_MOCK_MAX_SLOTS 32      /* memory slot numbers 0..31 */
#define HAL_MOCK_NR_GSI 24         /* IOAPIC pins, KVM's default routing */
#define HAL_MOCK_MAX_EXIT_DATA 4096
#define HAL_MOCK_TAP_MAX_FRAME 65550 /* a 64 KiB GSO frame plus vnet header */
#define HAL_MOCK_TAP_QUEUE_MAX 256   /* frames per direction */

enum hal_mock_op {
	MOCK_CHECK_CAP,
	MOCK_CREATE_VM,
	MOCK_GET_SUPPORTED_CPUID,
	MOCK_MEM_ALLOC,
	MOCK_MEM_MAP_FILE,
	MOCK_MEM_FREE,
	MOCK_TAP_OPEN,
	MOCK_SET_TSS_ADDR,
	MOCK_SET_IDENTITY_MAP_ADDR,
	MOCK_SET_MEMORY_SLOT,
	MOCK_CREATE_IRQCHIP,
	MOCK_CREATE_PIT,
	MOCK_SET_IRQ_LINE,
	MOCK_IRQFD,
	MOCK_IOEVENTFD,
	MOCK_GET_CLOCK,
	MOCK_SET_CLOCK,
	MOCK_GET_IRQCHIP,
	MOCK_SET_IRQCHIP,
	MOCK_GET_PIT,
	MOCK_SET_PIT,
	MOCK_GET_DIRTY_LOG,
	MOCK_CREATE_VCPU,
	MOCK_RUN,
	MOCK_GET_REGS,
	MOCK_SET_REGS,
	MOCK_GET_SREGS,
	MOCK_SET_SREGS,
	MOCK_GET_FPU,
	MOCK_SET_FPU,
	MOCK_GET_XSAVE,
	MOCK_SET_XSAVE,
	MOCK_GET_XCRS,
	MOCK_SET_XCRS,
	MOCK_GET_MSRS,
	MOCK_SET_MSRS,
	MOCK_GET_LAPIC,
	MOCK_SET_LAPIC,
	MOCK_SET_CPUID,
	MOCK_GET_CPUID,
	MOCK_GET_EVENTS,
	MOCK_SET_EVENTS,
	MOCK_GET_MP_STATE,
	MOCK_SET_MP_STATE,
	MOCK_TAP_READV,
	MOCK_TAP_WRITEV,
	MOCK_TAP_SET_OFFLOADS,
	MOCK_TAP_SET_VNET_HDR_SIZE,
	MOCK_OP_COUNT,
};

/* args[] per op (unlisted slots are 0):
 *   CHECK_CAP cap | GET_SUPPORTED_CPUID nent given | MEM_ALLOC size, flags,
 *   address | MEM_MAP_FILE fd, offset, size, private_cow | MEM_FREE address,
 *   size | SET_TSS_ADDR, SET_IDENTITY_MAP_ADDR addr | SET_MEMORY_SLOT slot,
 *   gpa, size, flags | SET_IRQ_LINE gsi, level | IRQFD fd, gsi, assign |
 *   IOEVENTFD addr, len, datamatch value, KVM_IOEVENTFD_FLAG_* (PIO,
 *   DATAMATCH, DEASSIGN) | GET/SET_CLOCK clock (ns) | GET/SET_IRQCHIP chip_id
 *   | GET_DIRTY_LOG slot | CREATE_VCPU id | TAP_READV/WRITEV iovcnt, bytes
 *   | TAP_SET_OFFLOADS offloads | TAP_SET_VNET_HDR_SIZE size.
 * vCPU ops have args[0] = vCPU id, then: RUN exit reason | SET_REGS rip,
 *   rsp | SET_SREGS cr0, cr3, cr4 | GET/SET_MSRS nmsrs | SET_XCRS nr_xcrs |
 *   SET_CPUID nent | GET_CPUID nent given | SET_MP_STATE mp_state.
 * `result` is the op's return value (bytes for TAP reads/writes, count for
 * MSRs). set_immediate_exit is not logged: it must stay signal-safe. */
struct hal_mock_call {
	enum hal_mock_op op;
	uint64_t args[4];
	int result;
};

/* Every op and control is thread-safe. hal->ops->destroy frees everything
 * the mock still tracks: VMs, vCPUs, TAPs (and their interfaces), guest
 * memory (shared file mappings are written back first), scripts and log. */
int hal_mock_create(struct hal **out);
const char *hal_mock_op_name(enum hal_mock_op op);

/* ---- the call log ---- */
size_t hal_mock_call_count(struct hal *hal, enum hal_mock_op op);
/* The i-th call overall (NULL past the end). Pointers into the log stay
 * valid until the next call into the mock. */
const struct hal_mock_call *hal_mock_call_at(struct hal *hal, size_t i);
size_t hal_mock_calls_total(struct hal *hal);
/* The most recent call of `op`, or NULL. */
const struct hal_mock_call *hal_mock_last_call(struct hal *hal, enum hal_mock_op op);

/* ---- fault injection: the nth (1-based) call of `op` from now on fails
 * with `err` (negative errno) instead of doing its work; the failed call
 * is logged with result `err`. One pending fault per op: arming again
 * replaces it, nth 0 or err >= 0 disarms. */
void hal_mock_fail_nth(struct hal *hal, enum hal_mock_op op, unsigned nth, int err);

/* ---- scripted exits: run() on vCPU `vcpu_id` returns these in order.
 * For an IO/MMIO exit, `data` (up to 4096 bytes) is copied into the exit
 * buffer; after the VMM handles an IN/read the test can read back what it
 * stored with hal_mock_last_io_data(). When the script is empty run()
 * fails with -ENODATA. The exit's own data pointer is ignored; bytes past
 * `len` read as zero. -EINVAL if vcpu_id >= HAL_MOCK_MAX_VCPUS, len is too
 * big, or an IO exit's size*count / an MMIO exit's len (max 8) does not
 * fit. Scripts belong to the hal, keyed by vCPU id, so they can be queued
 * before the VMM creates the vCPU. While immediate exit is on, run()
 * returns HAL_EXIT_INTR without consuming the script. */
int hal_mock_queue_exit(struct hal *hal, uint32_t vcpu_id, const struct hal_exit *exit,
			const void *data, size_t len);
/* Data buffer of vCPU `vcpu_id`'s last IO/MMIO exit, as the VMM left it
 * (NULL if vcpu_id is out of range). */
const uint8_t *hal_mock_last_io_data(struct hal *hal, uint32_t vcpu_id);
/* Scripted exits not yet consumed by run(). */
size_t hal_mock_exits_pending(struct hal *hal, uint32_t vcpu_id);
/* A run() with an empty script blocks (until immediate exit, or until an
 * exit is queued) instead of failing, for tests of threads and shutdown. */
void hal_mock_set_run_blocks(struct hal *hal, bool blocks);

/* ---- the simulated host ---- */
/* What check_cap reports for `cap` (defaults: 1 for the booleans, 3 for
 * X2APIC_API, 32 for NR/MAX_VCPUS). create_vcpu refuses more vCPUs than
 * MAX_VCPUS. -EINVAL for an unknown cap. */
int hal_mock_set_cap(struct hal *hal, enum hal_cap cap, int value);
/* get_msrs/set_msrs stop at MSR `index` like KVM at an MSR it refuses,
 * returning the count done so far. */
int hal_mock_msr_reject(struct hal *hal, uint32_t index);

/* ---- state inspection: of the last VM created that is still alive ---- */
struct hal_vm *hal_mock_vm(struct hal *hal);
struct hal_vcpu *hal_mock_vcpu(struct hal *hal, uint32_t vcpu_id);
int hal_mock_irq_level(struct hal *hal, uint32_t gsi);
/* How many 0->1 transitions gsi has seen. */
unsigned hal_mock_irq_raises(struct hal *hal, uint32_t gsi);
/* Memory slot recorded under `slot`: returns false if none. */
bool hal_mock_slot(struct hal *hal, uint32_t slot, uint64_t *gpa, uint64_t *size, void **host,
		   unsigned *flags);
/* The fd registered with irqfd for gsi, or -1. Like KVM: an irqfd before
 * the irqchip is -EAGAIN, an fd assigned twice -EEXIST, deassigning an
 * unknown (fd, gsi) -ENOENT. ioeventfd: a registration that could match
 * the same access as another is -EEXIST, deassign needs an exact match
 * (else -ENOENT), len must be 0/1/2/4/8 and datamatch needs a len. */
int hal_mock_irqfd(struct hal *hal, uint32_t gsi);
/* The eventfd registered with ioeventfd for (addr, pio), or -1. Tests write
 * to it to emulate a guest kick. */
int hal_mock_ioeventfd(struct hal *hal, uint64_t addr, bool pio);
/* Supported CPUID the mock reports; default is a small plausible set. */
int hal_mock_set_supported_cpuid(struct hal *hal, const struct kvm_cpuid2 *cpuid);
/* The CPUID last set on a vCPU (NULL if none). */
const struct kvm_cpuid2 *hal_mock_vcpu_cpuid(struct hal *hal, uint32_t vcpu_id);
/* Dirty bitmap returned by get_dirty_log for `slot` (bytes copied, the
 * rest of the slot's bitmap zero); the read clears it. -ENOENT without
 * such a slot, -EINVAL if longer than the slot's bitmap. */
int hal_mock_set_dirty_bitmap(struct hal *hal, uint32_t slot, const void *bitmap, size_t len);

/* ---- mock TAP: two in-memory frame queues per interface ----
 * An interface comes to exist on first use by tap_open or by a control
 * below, and lives (with its queued frames) until the hal is destroyed, so
 * tests can queue frames before the VMM opens it and read them after it
 * closed it. tap_open of an interface that is already open: -EBUSY. Its
 * poll_fd is an eventfd that is readable exactly while RX frames wait.
 * readv of a frame bigger than the iovecs copies what fits and drops the
 * rest; writev of a frame shorter than the vnet header size: -EINVAL. */
/* Queue a frame for the device to read (host -> guest). -EINVAL for an
 * empty frame or bad name, -EMSGSIZE over HAL_MOCK_TAP_MAX_FRAME, -ENOBUFS
 * once HAL_MOCK_TAP_QUEUE_MAX frames wait. */
int hal_mock_tap_inject(struct hal *hal, const char *name, const void *frame, size_t len);
/* Pop a frame the device wrote (guest -> host): returns its length, or
 * -EAGAIN if none. Copies at most `cap` bytes. */
ssize_t hal_mock_tap_take(struct hal *hal, const char *name, void *buf, size_t cap);
/* Make writev return -EAGAIN once `limit` frames are queued (0 = only at
 * HAL_MOCK_TAP_QUEUE_MAX). */
void hal_mock_tap_set_tx_limit(struct hal *hal, const char *name, unsigned limit);
/* Calls fn(opaque) in every writev to `name`, just before the TAP reads the
 * frame: a guest that rewrites its buffers at the worst moment, for
 * double-fetch tests (NULL removes it). */
void hal_mock_tap_before_write(struct hal *hal, const char *name, void (*fn)(void *opaque), void *opaque);
/* What the device configured: -ENOENT if the interface never existed. */
int hal_mock_tap_state(struct hal *hal, const char *name, unsigned *offloads,
		       int *vnet_hdr_size, bool *open);

#endif
