/* Lays a kernel, initrd and command line into guest memory and writes the
 * boot structures, as pure functions over `struct guest_mem`.
 *
 * The kernel image is detected by content: an ELF64 vmlinux boots through
 * PVH when it carries XEN_ELFNOTE_PHYS32_ENTRY (note type 18), otherwise
 * through its ELF 64-bit entry with boot_params; anything with the "HdrS"
 * setup header boots through the Linux 64-bit boot protocol. */
#ifndef EMBER_BOOT_LOADER_H
#define EMBER_BOOT_LOADER_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/acpi.h"
#include "boot/image.h"
#include "vmm/guest_mem.h"

enum boot_entry_mode {
	BOOT_ENTRY_LINUX64, /* long mode, paging on, rsi = boot_params */
	BOOT_ENTRY_PVH,     /* 32-bit protected mode, paging off, ebx = start_info */
};

enum boot_kernel_format { BOOT_FORMAT_BZIMAGE, BOOT_FORMAT_ELF_PVH, BOOT_FORMAT_ELF64 };

struct boot_config {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL for none */
	size_t initrd_len;
	const char *cmdline;   /* NULL for empty */
	uint32_t nr_vcpus;
	/* NULL: no ACPI or MP tables. Otherwise both are written, and the
	 * RSDP's address goes into start_info / boot_params. */
	const struct acpi_config *acpi;
	/* Hears which parts of `kernel` are copied and done with. */
	struct boot_release kernel_release;
};

struct boot_info {
	enum boot_kernel_format format;
	enum boot_entry_mode mode;
	uint64_t entry;        /* guest physical entry point */
	uint64_t boot_arg;     /* gpa of boot_params or hvm_start_info */
	uint64_t kernel_start; /* [start, end) of the loaded kernel */
	uint64_t kernel_end;
	uint64_t initrd_addr;  /* 0 if none */
	uint64_t initrd_size;
	uint64_t cmdline_addr;
	uint64_t cmdline_size; /* bytes including the NUL */
	uint64_t rsdp_addr;    /* 0 without ACPI tables */
};

/* Everything: kernel, initrd, cmdline, E820, boot_params or start_info,
 * GDT, page tables. Returns 0 or a negative errno with err_last() saying
 * what was wrong (a truncated image, a kernel that does not fit, ...). */
int boot_load(const struct guest_mem *mem, const struct boot_config *cfg, struct boot_info *out);

/* Initial vCPU state for the boot processor. `sregs` must hold the vCPU's
 * current special registers (apic_base and friends are kept). */
void boot_cpu_setup_regs(const struct boot_info *info, struct kvm_regs *regs);
void boot_cpu_setup_sregs(const struct boot_info *info, struct kvm_sregs *sregs);
void boot_cpu_setup_fpu(struct kvm_fpu *fpu);
/* Fills up to `max` MSR entries with their boot values; returns the count. */
unsigned boot_cpu_setup_msrs(struct kvm_msr_entry *entries, unsigned max);

const char *boot_format_name(enum boot_kernel_format format);

#endif
