#include "vmm/cpuid.h"

#include <stddef.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < t->head.nent && i < CPUID_MAX_ENTRIES; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

void cpuid_patch_vcpu(struct cpuid_table *t, uint32_t vcpu_id, uint32_t nr_vcpus)
{
	struct kvm_cpuid_entry2 *e;

	for (uint32_t i = 0; i < t->head.nent && i < CPUID_MAX_ENTRIES; i++) {
		e = &t->entries[i];
		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors. */
			e->ebx = (e->ebx & 0x0000ffffu) | (vcpu_id << 24) | ((nr_vcpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_vcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: EDX is the x2APIC ID at every level. */
			e->edx = vcpu_id;
			break;
		default:
			break;
		}
	}
}
