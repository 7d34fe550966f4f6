/* Capturing and restoring the architectural state of a paused VM through
 * the HAL: each vCPU's registers, LAPIC, MSRs, CPUID and events, and the
 * VM's PICs, IOAPIC, PIT and kvmclock. The encoding is snapshot/cpu_state.h.
 *
 * Every vCPU must be out of run() (paused) while its state is read or
 * written: KVM_GET/SET_VCPU_EVENTS are unsafe with vCPUs running.
 *
 * Restore, in Firecracker's order: create the VM with its irqchip and PIT
 * and register guest memory (the kvmclock, steal-time and async-PF MSRs
 * point into it), create the vCPUs, arch_vcpu_apply each of them, then
 * arch_vm_apply. */
#ifndef EMBER_ARCH_SNAPSHOT_H
#define EMBER_ARCH_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "hal/hal.h"
#include "snapshot/cpu_state.h"

/* The MSRs saved for each vCPU, in the order they are read and written;
 * those the backend refuses are left out of the captured state. */
size_t arch_saved_msrs(const uint32_t **indices);

/* Order matters: KVM_GET_MP_STATE may change LAPIC and vCPU state, so it
 * comes first; events come last. On success *s passes cpu_state_check.
 * Errors name the vCPU and the piece that failed. */
int arch_vcpu_capture(struct hal_vcpu *v, struct cpu_state *s);
/* CPUID, mp_state, regs, sregs (the APIC base), xsave, xcrs, LAPIC, MSRs
 * (after the LAPIC; TSC_DEADLINE after all others), events (last: SET_REGS
 * clears pending exceptions). Every MSR must be accepted: a refused one
 * fails with its index named. -EINVAL if s fails cpu_state_check. */
int arch_vcpu_apply(struct hal_vcpu *v, const struct cpu_state *s);

/* PIT, kvmclock, PIC master, PIC slave, IOAPIC. chip_ids are set. */
int arch_vm_capture(struct hal_vm *vm, struct vm_arch_state *s);
/* Same order. The clock is set with no flags (see arch_snapshot.c). */
int arch_vm_apply(struct hal_vm *vm, const struct vm_arch_state *s);

#endif
