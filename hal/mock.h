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

struct hal_mock_call {
	enum hal_mock_op op;
	uint64_t args[4]; /* op-specific, e.g. slot/gpa/size for SET_MEMORY_SLOT */
	int result;
};

int hal_mock_create(struct hal **out);
const char *hal_mock_op_name(enum hal_mock_op op);

/* ---- the call log ---- */
size_t hal_mock_call_count(struct hal *hal, enum hal_mock_op op);
/* The i-th call overall (NULL past the end). */
const struct hal_mock_call *hal_mock_call_at(struct hal *hal, size_t i);
size_t hal_mock_calls_total(struct hal *hal);
/* The most recent call of `op`, or NULL. */
const struct hal_mock_call *hal_mock_last_call(struct hal *hal, enum hal_mock_op op);

/* ---- fault injection: the nth (1-based) call of `op` from now on fails
 * with `err` (negative errno) instead of doing its work. One pending
 * fault per op. */
void hal_mock_fail_nth(struct hal *hal, enum hal_mock_op op, unsigned nth, int err);

/* ---- scripted exits: run() on vCPU `vcpu_id` returns these in order.
 * For an IO/MMIO exit, `data` (up to 4096 bytes) is copied into the exit
 * buffer; after the VMM handles an IN/read the test can read back what it
 * stored with hal_mock_last_io_data(). When the script is empty run()
 * fails with -ENODATA. */
int hal_mock_queue_exit(struct hal *hal, uint32_t vcpu_id, const struct hal_exit *exit,
			const void *data, size_t len);
/* Data buffer of vCPU `vcpu_id`'s last IO/MMIO exit, as the VMM left it. */
const uint8_t *hal_mock_last_io_data(struct hal *hal, uint32_t vcpu_id);
/* A run() with an empty script blocks (until immediate exit) instead of
 * failing, for tests of threads and shutdown. */
void hal_mock_set_run_blocks(struct hal *hal, bool blocks);

/* ---- state inspection ---- */
struct hal_vm *hal_mock_vm(struct hal *hal); /* the last VM created */
struct hal_vcpu *hal_mock_vcpu(struct hal *hal, uint32_t vcpu_id);
int hal_mock_irq_level(struct hal *hal, uint32_t gsi);
/* How many 0->1 transitions gsi has seen. */
unsigned hal_mock_irq_raises(struct hal *hal, uint32_t gsi);
/* Memory slot recorded under `slot`: returns false if none. */
bool hal_mock_slot(struct hal *hal, uint32_t slot, uint64_t *gpa, uint64_t *size, void **host,
		   unsigned *flags);
/* The fd registered with irqfd for gsi, or -1. */
int hal_mock_irqfd(struct hal *hal, uint32_t gsi);
/* The eventfd registered with ioeventfd for (addr, pio), or -1. Tests write
 * to it to emulate a guest kick. */
int hal_mock_ioeventfd(struct hal *hal, uint64_t addr, bool pio);
/* Supported CPUID the mock reports; default is a small plausible set. */
int hal_mock_set_supported_cpuid(struct hal *hal, const struct kvm_cpuid2 *cpuid);
/* The CPUID last set on a vCPU (NULL if none). */
const struct kvm_cpuid2 *hal_mock_vcpu_cpuid(struct hal *hal, uint32_t vcpu_id);
/* Dirty bitmap returned by get_dirty_log for `slot` (bytes copied). */
int hal_mock_set_dirty_bitmap(struct hal *hal, uint32_t slot, const void *bitmap, size_t len);

/* ---- mock TAP: two in-memory frame queues per interface ---- */
/* Queue a frame for the device to read (host -> guest). */
int hal_mock_tap_inject(struct hal *hal, const char *name, const void *frame, size_t len);
/* Pop a frame the device wrote (guest -> host): returns its length, or
 * -EAGAIN if none. */
ssize_t hal_mock_tap_take(struct hal *hal, const char *name, void *buf, size_t cap);
/* Make writev return -EAGAIN once `limit` frames are queued (0 = never). */
void hal_mock_tap_set_tx_limit(struct hal *hal, const char *name, unsigned limit);

#endif
