/* Custom CPU templates in Firecracker's JSON format: bit-level masks on
 * CPUID leaves and MSRs, applied on top of what the backend supports.
 *
 *   {"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
 *      "modifiers": [{"register": "ecx", "bitmap": "0bxxxx...0x1"}]}],
 *    "msr_modifiers": [{"addr": "0x1a0", "bitmap": "0b...64 chars"}]}
 *
 * A bitmap lists bits from the most significant: '1' sets, '0' clears,
 * 'x' keeps; '_' separates for readability. */
#ifndef EMBER_CPU_TEMPLATE_H
#define EMBER_CPU_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/cpuid.h"

#define CPU_TEMPLATE_MAX_CPUID 64
#define CPU_TEMPLATE_MAX_MSR 32
#define CPU_TEMPLATE_MAX_BYTES (256u << 10)

enum cpu_template_reg { CPU_REG_EAX, CPU_REG_EBX, CPU_REG_ECX, CPU_REG_EDX };

/* Bits in `mask` are forced to the matching bits of `value`. */
struct cpu_template_bits {
	uint64_t mask;
	uint64_t value;
};

struct cpu_template_leaf {
	uint32_t leaf;
	uint32_t subleaf;
	uint32_t flags; /* KVM_CPUID_FLAG_SIGNIFCANT_INDEX or 0 */
	struct cpu_template_bits regs[4];
};

struct cpu_template_msr {
	uint32_t addr;
	struct cpu_template_bits bits;
};

struct cpu_template {
	struct cpu_template_leaf cpuid[CPU_TEMPLATE_MAX_CPUID];
	unsigned nr_cpuid;
	struct cpu_template_msr msr[CPU_TEMPLATE_MAX_MSR];
	unsigned nr_msr;
};

/* Parses `len` bytes of JSON. -EINVAL names the key path that is wrong. */
int cpu_template_parse(const char *json, size_t len, struct cpu_template *out);
/* Applies the CPUID modifiers; a leaf the table lacks is added. */
int cpu_template_apply_cpuid(const struct cpu_template *tpl, struct cpuid_table *t);
/* Applies any modifier for MSR `addr` to *value. */
void cpu_template_apply_msr(const struct cpu_template *tpl, uint32_t addr, uint64_t *value);

#endif
