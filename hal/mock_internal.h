/* Private structures of the mock backend, shared by hal/mock*.c only.
 *
 * One mutex per hal instance guards everything below it. Ops take it,
 * check the fault table, do their work, log the call and release it. The
 * only lock-free paths are the immediate-exit flag (signal-safe by design)
 * and the run_blocks switch, both atomics. */
#ifndef EMBER_HAL_MOCK_INTERNAL_H
#define EMBER_HAL_MOCK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "hal/mock.h"

#define MOCK_PAGE 4096u
#define MOCK_MAX_CPUID 256 /* KVM_MAX_CPUID_ENTRIES */
#define MOCK_MAX_MSRS 256  /* KVM's MAX_IO_MSRS per call */
#define MOCK_VNET_HDR_MIN 10

struct mock_hal;

/* Guest memory handed out by mem_alloc/mem_map_file. */
struct mock_mem {
	struct mock_mem *next;
	void *addr; /* page aligned, what the caller got */
	void *base; /* what free() takes */
	size_t size;
	int fd; /* dup of the file for a shared mapping, written back on free; else -1 */
	uint64_t offset;
};

struct mock_slot {
	bool used;
	uint64_t gpa, size;
	void *host;
	unsigned flags;
	uint8_t *dirty; /* pending dirty bitmap, NULL when clean */
};

struct mock_irqfd {
	struct mock_irqfd *next;
	int fd;
	uint32_t gsi;
};

struct mock_ioeventfd {
	struct mock_ioeventfd *next;
	struct hal_ioeventfd ev;
};

struct mock_vcpu;

struct mock_vm {
	struct hal_vm base;
	struct mock_vm *next;
	struct mock_slot slots[HAL_MOCK_MAX_SLOTS];
	bool irqchip, pit;
	int irq_level[HAL_MOCK_NR_GSI];
	unsigned irq_raises[HAL_MOCK_NR_GSI];
	struct mock_irqfd *irqfds;
	struct mock_ioeventfd *ioeventfds;
	struct kvm_clock_data clock;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit_state;
	struct mock_vcpu *vcpus[HAL_MOCK_MAX_VCPUS];
	unsigned nr_vcpus;     /* alive */
	unsigned created_vcpus; /* ever: KVM's ordering rules look at this */
};

struct mock_msr {
	uint32_t index;
	uint64_t data;
};

struct mock_vcpu {
	struct hal_vcpu base;
	atomic_bool immediate_exit;
	bool ran;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct mock_msr *msrs;
	size_t nmsrs, msr_cap;
	struct kvm_cpuid2 *cpuid;
};

/* One scripted exit with its data bytes. */
struct mock_step {
	struct mock_step *next;
	struct hal_exit exit;
	size_t len;
	uint8_t data[];
};

struct mock_script {
	struct mock_step *head, *tail;
	size_t n;
};

struct mock_frame {
	struct mock_frame *next;
	size_t len;
	uint8_t data[];
};

struct mock_queue {
	struct mock_frame *head, *tail;
	unsigned n;
};

/* A TAP interface: outlives the handles opened on it (see mock.h). */
struct mock_tapif {
	struct mock_tapif *next;
	char name[16];
	struct mock_queue rx, tx; /* rx: host -> device, tx: device -> host */
	unsigned tx_limit;
	void (*before_write)(void *opaque);
	void *before_write_opaque;
	unsigned offloads;
	int vnet_hdr_size;
	int event_fd; /* readable while rx holds frames */
	struct mock_tap *open;
};

struct mock_tap {
	struct hal_tap base;
	struct mock_tapif *ifc;
};

struct mock_fault {
	unsigned remaining; /* 0: disarmed */
	int err;
};

struct mock_hal {
	struct hal base;
	pthread_mutex_t lock;
	struct hal_mock_call *log;
	size_t nlog, log_cap;
	size_t counts[MOCK_OP_COUNT];
	struct mock_fault faults[MOCK_OP_COUNT];
	int caps[HAL_CAP_COUNT];
	struct kvm_cpuid2 *supported;
	uint32_t *rejected_msrs;
	size_t nrejected;
	atomic_bool run_blocks;
	struct mock_vm *vms; /* newest first */
	struct mock_mem *mems;
	struct mock_tapif *taps;
	struct mock_script scripts[HAL_MOCK_MAX_VCPUS];
	uint8_t exit_buf[HAL_MOCK_MAX_VCPUS][HAL_MOCK_MAX_EXIT_DATA];
};

static inline struct mock_hal *mock_of(struct hal *hal)
{
	return (struct mock_hal *)hal;
}

static inline struct mock_vm *mock_vm_of(struct hal_vm *vm)
{
	return (struct mock_vm *)vm;
}

static inline struct mock_vcpu *mock_vcpu_of(struct hal_vcpu *vcpu)
{
	return (struct mock_vcpu *)vcpu;
}

static inline struct mock_hal *mock_hal_of_vm(struct hal_vm *vm)
{
	return mock_of(vm->hal);
}

static inline struct mock_hal *mock_hal_of_vcpu(struct hal_vcpu *vcpu)
{
	return mock_of(vcpu->vm->hal);
}

/* Called with the lock held: returns the injected error (and sets the
 * message) when this call of `op` is the armed one, else 0. */
int mock_fault(struct mock_hal *mh, enum hal_mock_op op);
/* Called with the lock held: appends {op, args, result} to the log. */
void mock_log(struct mock_hal *mh, enum hal_mock_op op, uint64_t a0, uint64_t a1, uint64_t a2,
	      uint64_t a3, int result);

/* Runs one op the mock way: take the lock, fail if a fault is armed for
 * this call, else evaluate `work` (an int expression doing the op), log
 * {op, args, result} and release the lock. The args are evaluated after
 * `work`, so they may name what it produced; both may use `mh_`, the
 * mock_hal being called. */
#define MOCK_OP(mh, op, a0, a1, a2, a3, work)                                      \
	({                                                                          \
		struct mock_hal *mh_ = (mh);                                        \
		pthread_mutex_lock(&mh_->lock);                                     \
		int r_ = mock_fault(mh_, (op));                                     \
		if (!r_)                                                            \
			r_ = (work);                                                \
		mock_log(mh_, (op), (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), \
			 (uint64_t)(a3), r_);                                       \
		pthread_mutex_unlock(&mh_->lock);                                   \
		r_;                                                                 \
	})

/* Constructors and destructors; lock held. */
int mock_vm_new(struct mock_hal *mh, struct mock_vm **out);
void mock_vm_free(struct mock_vm *vm);
int mock_vcpu_new(struct mock_vm *vm, uint32_t id, struct mock_vcpu **out);
/* Like KVM: the eventfd of an ioeventfd that catches this guest write, or -1. */
int mock_vm_ioeventfd_match(const struct mock_vm *vm, bool pio, uint64_t addr, uint32_t len, const uint8_t *data);
void mock_vcpu_free(struct mock_vcpu *v);
struct mock_tapif *mock_tapif_get(struct mock_hal *mh, const char *name, bool create);
int mock_tap_open(struct mock_hal *mh, const char *name, struct hal_tap **out);
void mock_tapif_free(struct mock_tapif *ifc);
void mock_script_clear(struct mock_script *s);

/* The current VM for inspection controls: the newest alive. */
static inline struct mock_vm *mock_current_vm(struct mock_hal *mh)
{
	return mh->vms;
}

#endif
