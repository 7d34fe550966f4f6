/* Boot vCPU state (declared in loader.h): registers for the Linux 64-bit
 * entry (long mode on our identity map) or the PVH entry (flat 32-bit
 * protected mode, paging off), plus FPU and MSR defaults as Firecracker
 * sets them. */
#include <string.h>

#include "boot/gdt.h"
#include "boot/layout.h"
#include "boot/loader.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_RESERVED 0x2 /* bit 1 always reads as 1 */

#define FPU_FCW 0x37f     /* x87 power-on default: all exceptions masked */
#define FPU_MXCSR 0x1f80  /* SSE default: all exceptions masked */

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_CR_PAT 0x277
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING (1ULL << 0)
#define PAT_DEFAULT 0x0007040600070406ULL /* WB, WT, UC-, UC in both halves */

void boot_cpu_setup_regs(const struct boot_info *info, struct kvm_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = RFLAGS_RESERVED;
	regs->rip = info->entry;
	if (info->mode == BOOT_ENTRY_PVH) {
		regs->rbx = info->boot_arg;
		return;
	}
	regs->rsi = info->boot_arg;
	regs->rsp = LAYOUT_BOOT_STACK;
	regs->rbp = LAYOUT_BOOT_STACK;
}

void boot_cpu_setup_sregs(const struct boot_info *info, struct kvm_sregs *sregs)
{
	uint64_t gdt[GDT_ENTRIES];
	struct kvm_segment data;

	gdt_table(info->mode, gdt);
	gdt_segment(gdt[GDT_CODE], GDT_CODE, &sregs->cs);
	gdt_segment(gdt[GDT_DATA], GDT_DATA, &data);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	gdt_segment(gdt[GDT_TSS], GDT_TSS, &sregs->tr);
	sregs->gdt.base = LAYOUT_GDT_ADDR;
	sregs->gdt.limit = GDT_LIMIT;
	sregs->idt.base = LAYOUT_IDT_ADDR;
	sregs->idt.limit = IDT_LIMIT;
	if (info->mode == BOOT_ENTRY_PVH) {
		/* The PVH ABI: CR0 PE and ET only, CR4 clear, no long mode. */
		sregs->cr0 = CR0_PE | CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
		return;
	}
	sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs->cr3 = LAYOUT_PML4_ADDR;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void boot_cpu_setup_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = FPU_FCW;
	fpu->mxcsr = FPU_MXCSR;
}

unsigned boot_cpu_setup_msrs(struct kvm_msr_entry *entries, unsigned max)
{
	static const struct kvm_msr_entry boot_msrs[] = {
		{ .index = MSR_IA32_SYSENTER_CS },
		{ .index = MSR_IA32_SYSENTER_ESP },
		{ .index = MSR_IA32_SYSENTER_EIP },
		{ .index = MSR_STAR },
		{ .index = MSR_CSTAR },
		{ .index = MSR_KERNEL_GS_BASE },
		{ .index = MSR_SYSCALL_MASK },
		{ .index = MSR_LSTAR },
		{ .index = MSR_IA32_TSC },
		{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
		{ .index = MSR_IA32_CR_PAT, .data = PAT_DEFAULT },
	};
	unsigned n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);

	if (n > max)
		n = max;
	for (unsigned i = 0; i < n; i++)
		entries[i] = boot_msrs[i];
	return n;
}
