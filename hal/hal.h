/* The hardware abstraction layer: every /dev/kvm ioctl, every mapping of
 * guest memory and every TAP access goes through these vtables.
 *
 * Objects are kernel style: a backend embeds `struct hal`, `struct hal_vm`
 * or `struct hal_vcpu` as its first member and points `ops` at its table.
 * Two backends exist: hal/kvm.c (real) and hal/mock.c (in memory, for tests).
 *
 * Architectural state (registers, LAPIC, irqchip, PIT, clock) travels in the
 * KVM ABI structs from <linux/kvm.h>: they are plain data, the snapshot
 * format stores them as bounded blobs, and the mock keeps them as state.
 * What is backend-specific is the run loop: run() returns a neutral
 * `struct hal_exit` and `struct kvm_run` never leaves hal/kvm.c. */
#ifndef EMBER_HAL_H
#define EMBER_HAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct hal;
struct hal_vm;
struct hal_vcpu;
struct hal_tap;

/* ---- exits ------------------------------------------------------------ */

enum hal_exit_reason {
	HAL_EXIT_IO = 1,
	HAL_EXIT_MMIO,
	HAL_EXIT_HLT,
	HAL_EXIT_SHUTDOWN,       /* triple fault: the x86 way to reset */
	HAL_EXIT_SYSTEM_EVENT,   /* PSCI-style shutdown/reset/crash */
	HAL_EXIT_INTERNAL_ERROR, /* emulation failure and friends */
	HAL_EXIT_FAIL_ENTRY,
	HAL_EXIT_INTR,           /* run() interrupted by a signal or immediate exit */
	HAL_EXIT_UNKNOWN,
};

enum hal_system_event { HAL_SYSTEM_SHUTDOWN = 1, HAL_SYSTEM_RESET = 2, HAL_SYSTEM_CRASH = 3 };

#define HAL_EXIT_MAX_DATA 4

struct hal_exit {
	enum hal_exit_reason reason;
	union {
		/* Port I/O. `data` points at size*count bytes owned by the
		 * backend: the VMM reads it for OUT and fills it for IN before
		 * the next run(). Valid until then. */
		struct {
			uint16_t port;
			uint8_t size;
			bool write;
			uint32_t count;
			uint8_t *data;
		} io;
		/* MMIO: same ownership rule for `data` (len <= 8 bytes). */
		struct {
			uint64_t addr;
			uint32_t len;
			bool write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t type; /* enum hal_system_event, or raw for unknown */
		} system_event;
		struct {
			uint32_t suberror;
			uint32_t ndata; /* valid entries of data[], <= HAL_EXIT_MAX_DATA */
			uint64_t data[HAL_EXIT_MAX_DATA];
		} internal;
		struct {
			uint64_t hardware_reason;
		} fail_entry;
		struct {
			uint32_t raw_reason;
		} unknown;
	};
};

/* ---- guest memory mappings -------------------------------------------- */

enum hal_mem_flags {
	HAL_MEM_HUGEPAGES = 1 << 0, /* back with 2 MiB pages if possible */
	HAL_MEM_NORESERVE = 1 << 1,
};

enum hal_slot_flags {
	HAL_SLOT_DIRTY_LOG = 1 << 0,
	HAL_SLOT_READONLY = 1 << 1,
};

/* ---- capabilities -------------------------------------------------------- */

enum hal_cap {
	HAL_CAP_IRQCHIP,
	HAL_CAP_PIT2,
	HAL_CAP_IOEVENTFD,
	HAL_CAP_IRQFD,
	HAL_CAP_IMMEDIATE_EXIT,
	HAL_CAP_READONLY_MEM,
	HAL_CAP_X2APIC_API,
	HAL_CAP_NR_VCPUS,
	HAL_CAP_MAX_VCPUS,
	HAL_CAP_TSC_CONTROL,
	HAL_CAP_COUNT, /* not a capability: the number of them */
};

/* ---- ioeventfd ----------------------------------------------------------- */

struct hal_ioeventfd {
	int fd;
	uint64_t addr;
	uint32_t len;      /* 0 (any), 1, 2, 4 or 8 */
	bool pio;
	bool datamatch;
	uint64_t data;
};

/* ---- the backend ---------------------------------------------------------- */

struct hal_ops {
	/* Returns >= 0 for the capability's value, or a negative errno. */
	int (*check_cap)(struct hal *hal, enum hal_cap cap);
	int (*create_vm)(struct hal *hal, struct hal_vm **out);
	/* Fills `cpuid` (entries preallocated by the caller in
	 * cpuid->nent) with what the backend supports and sets nent to the
	 * number filled. If nent is too small: -E2BIG, with nent set to the
	 * number needed (when the backend can tell) so the caller can retry. */
	int (*get_supported_cpuid)(struct hal *hal, struct kvm_cpuid2 *cpuid);
	/* Anonymous, zeroed guest memory. */
	int (*mem_alloc)(struct hal *hal, size_t size, unsigned flags, void **out);
	/* Map [offset, offset+size) of `fd`. private_cow maps MAP_PRIVATE
	 * (lazy copy-on-write); the caller has checked the range lies in the file. */
	int (*mem_map_file)(struct hal *hal, int fd, uint64_t offset, size_t size, bool private_cow,
			    void **out);
	int (*mem_free)(struct hal *hal, void *addr, size_t size);
	/* Bytes of [addr, addr+size) backed by host memory now (pages the
	 * guest or the VMM touched): for memory-overhead accounting. */
	int (*mem_resident)(struct hal *hal, void *addr, size_t size, uint64_t *bytes);
	/* Opens (creating if needed) the TAP interface `name` with
	 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking. */
	int (*tap_open)(struct hal *hal, const char *name, struct hal_tap **out);
	/* Releases everything still alive that was made through this hal:
	 * VMs (and their vCPUs), TAPs and guest memory mappings, so error
	 * paths that bail out early still leak nothing. */
	void (*destroy)(struct hal *hal);
};

struct hal {
	const struct hal_ops *ops;
	const char *name; /* "kvm" or "mock" */
};

struct hal_vm_ops {
	int (*set_tss_addr)(struct hal_vm *vm, uint64_t addr);
	int (*set_identity_map_addr)(struct hal_vm *vm, uint64_t addr);
	int (*set_memory_slot)(struct hal_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			       void *host, unsigned flags);
	int (*create_irqchip)(struct hal_vm *vm);
	int (*create_pit)(struct hal_vm *vm);
	/* Level 1/0; an edge is 1 then 0. */
	int (*set_irq_line)(struct hal_vm *vm, uint32_t gsi, int level);
	int (*irqfd)(struct hal_vm *vm, int fd, uint32_t gsi, bool assign);
	int (*ioeventfd)(struct hal_vm *vm, const struct hal_ioeventfd *ev, bool assign);
	int (*get_clock)(struct hal_vm *vm, struct kvm_clock_data *clock);
	int (*set_clock)(struct hal_vm *vm, const struct kvm_clock_data *clock);
	/* chip->chip_id selects PIC master (0), slave (1) or IOAPIC (2). */
	int (*get_irqchip)(struct hal_vm *vm, struct kvm_irqchip *chip);
	int (*set_irqchip)(struct hal_vm *vm, const struct kvm_irqchip *chip);
	int (*get_pit)(struct hal_vm *vm, struct kvm_pit_state2 *pit);
	int (*set_pit)(struct hal_vm *vm, const struct kvm_pit_state2 *pit);
	/* `bitmap` holds one bit per 4 KiB page of the slot, its size rounded
	 * up to a multiple of 8 bytes (KVM writes whole 64-bit words). Reading
	 * clears the log. -ENOENT if the slot has no dirty logging. */
	int (*get_dirty_log)(struct hal_vm *vm, uint32_t slot, void *bitmap);
	int (*create_vcpu)(struct hal_vm *vm, uint32_t id, struct hal_vcpu **out);
	/* Also destroys the VM's vCPUs that are still alive. */
	void (*destroy)(struct hal_vm *vm);
};

struct hal_vm {
	const struct hal_vm_ops *ops;
	struct hal *hal;
};

struct hal_vcpu_ops {
	int (*run)(struct hal_vcpu *vcpu, struct hal_exit *exit);
	/* While on, run() returns HAL_EXIT_INTR at once instead of entering
	 * the guest. A run() already inside the guest leaves only when a
	 * signal hits the vCPU thread (KVM), so kickers set this and then
	 * signal; the mock's blocking run() notices the flag by itself. Safe
	 * to call from a signal handler and from other threads. */
	void (*set_immediate_exit)(struct hal_vcpu *vcpu, bool on);
	int (*get_regs)(struct hal_vcpu *vcpu, struct kvm_regs *regs);
	int (*set_regs)(struct hal_vcpu *vcpu, const struct kvm_regs *regs);
	int (*get_sregs)(struct hal_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct hal_vcpu *vcpu, const struct kvm_sregs *sregs);
	int (*get_fpu)(struct hal_vcpu *vcpu, struct kvm_fpu *fpu);
	int (*set_fpu)(struct hal_vcpu *vcpu, const struct kvm_fpu *fpu);
	int (*get_xsave)(struct hal_vcpu *vcpu, struct kvm_xsave *xsave);
	int (*set_xsave)(struct hal_vcpu *vcpu, const struct kvm_xsave *xsave);
	int (*get_xcrs)(struct hal_vcpu *vcpu, struct kvm_xcrs *xcrs);
	int (*set_xcrs)(struct hal_vcpu *vcpu, const struct kvm_xcrs *xcrs);
	/* msrs->nmsrs entries with indices filled in; returns how many were
	 * read/written (>= 0) or a negative errno. */
	int (*get_msrs)(struct hal_vcpu *vcpu, struct kvm_msrs *msrs);
	int (*set_msrs)(struct hal_vcpu *vcpu, const struct kvm_msrs *msrs);
	int (*get_lapic)(struct hal_vcpu *vcpu, struct kvm_lapic_state *lapic);
	int (*set_lapic)(struct hal_vcpu *vcpu, const struct kvm_lapic_state *lapic);
	int (*set_cpuid)(struct hal_vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
	/* The CPUID the vCPU has now (what set_cpuid installed), into
	 * cpuid->nent preallocated entries; nent becomes the number filled (0
	 * before any set_cpuid). Too few: -E2BIG with nent set to the number
	 * needed (when the backend can tell), as get_supported_cpuid. */
	int (*get_cpuid)(struct hal_vcpu *vcpu, struct kvm_cpuid2 *cpuid);
	int (*get_events)(struct hal_vcpu *vcpu, struct kvm_vcpu_events *events);
	int (*set_events)(struct hal_vcpu *vcpu, const struct kvm_vcpu_events *events);
	int (*get_mp_state)(struct hal_vcpu *vcpu, struct kvm_mp_state *mp);
	int (*set_mp_state)(struct hal_vcpu *vcpu, const struct kvm_mp_state *mp);
	void (*destroy)(struct hal_vcpu *vcpu);
};

struct hal_vcpu {
	const struct hal_vcpu_ops *ops;
	struct hal_vm *vm;
	uint32_t id;
};

/* TUN_F_* offload bits, as TUNSETOFFLOAD takes them. */
enum hal_tap_offload {
	HAL_TAP_CSUM = 0x01,
	HAL_TAP_TSO4 = 0x02,
	HAL_TAP_TSO6 = 0x04,
	HAL_TAP_TSO_ECN = 0x08,
	HAL_TAP_UFO = 0x10,
};

struct hal_tap_ops {
	/* One frame per call, vnet header first. Return bytes moved, or
	 * -EAGAIN when nothing is queued / the device is full. */
	ssize_t (*readv)(struct hal_tap *tap, const struct iovec *iov, int iovcnt);
	ssize_t (*writev)(struct hal_tap *tap, const struct iovec *iov, int iovcnt);
	int (*set_offloads)(struct hal_tap *tap, unsigned offloads);
	int (*set_vnet_hdr_size)(struct hal_tap *tap, int size);
	/* An fd that polls readable when a frame can be read. */
	int (*poll_fd)(struct hal_tap *tap);
	void (*close)(struct hal_tap *tap);
};

struct hal_tap {
	const struct hal_tap_ops *ops;
	struct hal *hal;
	char name[16];
};

/* Opens the real KVM backend: checks /dev/kvm, API version 12 and the
 * capabilities ember requires. */
int hal_kvm_open(struct hal **out);

const char *hal_exit_reason_name(enum hal_exit_reason reason);

#endif
