/* Per-vCPU CPUID: start from what the backend supports and make each vCPU
 * see its own APIC ID, the topology and the hypervisor bit. */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256

/* A kvm_cpuid2 with room for CPUID_MAX_ENTRIES. */
struct cpuid_table {
	struct kvm_cpuid2 head;
	struct kvm_cpuid_entry2 entries[CPUID_MAX_ENTRIES];
};

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t function, uint32_t index);
/* Rewrites, in place, the leaves that depend on the vCPU's identity. */
void cpuid_patch_vcpu(struct cpuid_table *t, uint32_t vcpu_id, uint32_t nr_vcpus);

#endif
