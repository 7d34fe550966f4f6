/* Architectural state of one vCPU and of the VM's in-kernel devices, and
 * the bounded encoding of a vCPU's state (the opaque blob of a snapshot's
 * VCPU record). Pure: no HAL calls (vmm/arch_snapshot.c does those).
 *
 * vCPU state encoding (all integers little-endian):
 *
 *   u32 version (CPU_STATE_VERSION)
 *   then exactly one of each section, in any order:
 *     u32 id | u32 len | len bytes
 *
 *   REGS, SREGS, XSAVE, XCRS, LAPIC, EVENTS, MP_STATE
 *       the KVM struct's bytes (x86 is little-endian, so the kernel's
 *       layout is the wire layout); len must equal its sizeof.
 *       XCRS: nr_xcrs <= KVM_MAX_XCRS. MP_STATE: an x86 KVM_MP_STATE_*.
 *   MSRS   u32 n | n x { u32 index | u64 data }      n <= CPU_STATE_MAX_MSRS
 *   CPUID  u32 n | n x { u32 function, index, flags, eax, ebx, ecx, edx }
 *                                                     n <= CPU_STATE_MAX_CPUID
 *   (len must be exactly what the count says.)
 *
 * Unknown, duplicate or missing sections, a version other than ours and
 * trailing bytes are refused. Padding and reserved fields are not stored
 * for MSRs and CPUID entries and decode as zero. */
#ifndef EMBER_SNAPSHOT_CPU_STATE_H
#define EMBER_SNAPSHOT_CPU_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/format.h"
#include "snapshot/state.h"

#define CPU_STATE_VERSION 1u
#define CPU_STATE_MAX_MSRS 256
#define CPU_STATE_MAX_CPUID 256

enum cpu_state_section {
	CPU_SEC_REGS = 1,
	CPU_SEC_SREGS,
	CPU_SEC_XSAVE,
	CPU_SEC_XCRS,
	CPU_SEC_LAPIC,
	CPU_SEC_EVENTS,
	CPU_SEC_MP_STATE,
	CPU_SEC_MSRS,
	CPU_SEC_CPUID,
	CPU_SEC_COUNT = CPU_SEC_CPUID, /* ids are 1..CPU_SEC_COUNT */
};

struct cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	uint32_t nmsrs;
	struct kvm_msr_entry msrs[CPU_STATE_MAX_MSRS];
	uint32_t ncpuid;
	struct kvm_cpuid_entry2 cpuid[CPU_STATE_MAX_CPUID];
};

/* 0 if `s` could be encoded (counts within the maxima, nr_xcrs and
 * mp_state valid), else -EINVAL with a message naming the field. */
int cpu_state_check(const struct cpu_state *s);
/* Appends the encoding of `s` to `w`. -EINVAL if cpu_state_check fails
 * (nothing appended), else the writer's error (0 on success). */
int cpu_state_encode(const struct cpu_state *s, struct state_writer *w);
/* Validates all of buf first: on failure (-EINVAL, message naming the
 * section and offset) *out is untouched; on success it is fully written,
 * unused entries and padding zeroed. */
int cpu_state_decode(const void *buf, size_t len, struct cpu_state *out);

/* The VM-wide in-kernel state: PICs, IOAPIC, PIT and kvmclock. */
struct vm_arch_state {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* The container's IRQCHIP and CLOCK payloads for `s`: the blobs point
 * into *s, which must outlive them. */
void vm_arch_state_to_snap(const struct vm_arch_state *s, struct snap_irqchip *ic, struct snap_clock *c);
/* Back from the container: each blob must be exactly its struct's size
 * and an irqchip blob's chip_id must name its slot. -EINVAL otherwise,
 * with *out untouched; on success *out is fully written (the clock's
 * fields beyond clock and flags zero). */
int vm_arch_state_from_snap(const struct snap_irqchip *ic, const struct snap_clock *c, struct vm_arch_state *out);

#endif
