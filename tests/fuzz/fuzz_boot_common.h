/* Shared body of the boot/ fuzz targets: any input goes through boot_load
 * into a small guest, then, if it loaded, through the vCPU setup. The
 * targets differ only in their seed corpora. Must never crash, read out of
 * bounds or leak. */
#ifndef EMBER_FUZZ_BOOT_COMMON_H
#define EMBER_FUZZ_BOOT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot/loader.h"
#include "vmm/guest_mem.h"

#define FUZZ_GUEST_LOW (8u << 20)
#define FUZZ_GUEST_HIGH (64u << 10)

static uint8_t fuzz_low[FUZZ_GUEST_LOW];
static uint8_t fuzz_high[FUZZ_GUEST_HIGH];
static const uint8_t fuzz_initrd[4096] = { 0x30, 0x37, 0x30, 0x37, 0x30, 0x31 }; /* "070701" */

static int fuzz_boot_one(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	struct boot_config cfg = {
		.kernel = data, .kernel_len = size,
		.initrd = fuzz_initrd, .initrd_len = sizeof(fuzz_initrd),
		.cmdline = "console=ttyS0 panic=-1", .nr_vcpus = 1,
	};
	struct boot_info info;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_msr_entry msrs[16];

	guest_mem_init(&mem);
	if (guest_mem_add_region(&mem, 0, sizeof(fuzz_low), fuzz_low) ||
	    guest_mem_add_region(&mem, 0x100000000ULL, sizeof(fuzz_high), fuzz_high))
		return 0;
	if (boot_load(&mem, &cfg, &info))
		return 0;
	memset(&sregs, 0, sizeof(sregs));
	boot_cpu_setup_regs(&info, &regs);
	boot_cpu_setup_sregs(&info, &sregs);
	boot_cpu_setup_fpu(&fpu);
	boot_cpu_setup_msrs(msrs, 16);
	/* Loaded means in bounds: the kernel lies in low memory above 1 MiB
	 * and the entry inside it. */
	if (info.kernel_start < 0x100000 || info.kernel_end > sizeof(fuzz_low) ||
	    info.entry < info.kernel_start || info.entry >= info.kernel_end)
		__builtin_trap();
	return 0;
}

#endif
