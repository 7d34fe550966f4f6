#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/loader.h"

static const struct boot_info linux64 = {
	.mode = BOOT_ENTRY_LINUX64, .entry = 0x1000200, .boot_arg = 0x7000,
};
static const struct boot_info pvh = {
	.mode = BOOT_ENTRY_PVH, .entry = 0x1000850, .boot_arg = 0x6000,
};

static void test_regs_linux64(void **state)
{
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	boot_cpu_setup_regs(&linux64, &r);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsi, 0x7000);
	assert_int_equal(r.rsp, 0x8ff0);
	assert_int_equal(r.rbp, 0x8ff0);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rbx, 0);
	assert_int_equal(r.rdi, 0);
	assert_int_equal(r.r15, 0);
}

static void test_regs_pvh(void **state)
{
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	boot_cpu_setup_regs(&pvh, &r);
	assert_int_equal(r.rip, 0x1000850);
	assert_int_equal(r.rbx, 0x6000);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rsp, 0);
}

static void check_flat(const struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void prefill(struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	s->cr0 = 0x60000010; /* KVM's reset value: CD, NW, ET */
	s->apic_base = 0xfee00900;
	s->efer = 0x1;
}

static void test_sregs_linux64(void **state)
{
	struct kvm_sregs s;
	const struct kvm_segment *data[] = { &s.ds, &s.es, &s.fs, &s.gs, &s.ss };

	(void)state;
	prefill(&s);
	boot_cpu_setup_sregs(&linux64, &s);
	assert_int_equal(s.cr0, 0x80000011); /* PG | ET | PE */
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.cr4, 0x20);       /* PAE */
	assert_int_equal(s.efer, 0x500);     /* LMA | LME */
	check_flat(&s.cs, 0x08, 0xb);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	for (size_t i = 0; i < 5; i++) {
		check_flat(data[i], 0x10, 0x3);
		assert_int_equal(data[i]->db, 1);
	}
	assert_int_equal(s.tr.selector, 0x18);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.tr.present, 1);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.idt.base, 0x520);
	assert_int_equal(s.idt.limit, 7);
	assert_int_equal(s.apic_base, 0xfee00900);
}

static void test_sregs_pvh(void **state)
{
	struct kvm_sregs s;

	(void)state;
	prefill(&s);
	s.cr3 = 0x1234;
	s.cr4 = 0x20;
	boot_cpu_setup_sregs(&pvh, &s);
	assert_int_equal(s.cr0, 0x11); /* PE | ET, paging off */
	assert_int_equal(s.cr3, 0);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	check_flat(&s.cs, 0x08, 0xb);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.db, 1);
	check_flat(&s.ds, 0x10, 0x3);
	check_flat(&s.ss, 0x10, 0x3);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.apic_base, 0xfee00900);
}

static void test_fpu(void **state)
{
	struct kvm_fpu f;

	(void)state;
	memset(&f, 0xff, sizeof(f));
	boot_cpu_setup_fpu(&f);
	assert_int_equal(f.fcw, 0x37f);
	assert_int_equal(f.mxcsr, 0x1f80);
	assert_int_equal(f.fsw, 0);
	assert_int_equal(f.ftwx, 0);
	assert_int_equal(f.xmm[15][15], 0);
}

static void test_msrs(void **state)
{
	static const struct { uint32_t index; uint64_t data; } want[] = {
		{ 0x174, 0 }, { 0x175, 0 }, { 0x176, 0 },
		{ 0xc0000081, 0 }, { 0xc0000083, 0 }, { 0xc0000102, 0 }, { 0xc0000084, 0 },
		{ 0xc0000082, 0 }, { 0x10, 0 }, { 0x1a0, 1 }, { 0x277, 0x0007040600070406ULL },
	};
	struct kvm_msr_entry e[16];
	unsigned n;

	(void)state;
	memset(e, 0xee, sizeof(e));
	n = boot_cpu_setup_msrs(e, 16);
	assert_int_equal(n, 11);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(e[i].index, want[i].index);
		assert_int_equal(e[i].data, want[i].data);
		assert_int_equal(e[i].reserved, 0);
	}
	/* MSR 0x10a (ARCH_CAPABILITIES) is refused by this testbed's KVM. */
	for (unsigned i = 0; i < n; i++)
		assert_int_not_equal(e[i].index, 0x10a);
	/* A short array gets a prefix and nothing is written past it. */
	memset(e, 0xee, sizeof(e));
	assert_int_equal(boot_cpu_setup_msrs(e, 3), 3);
	assert_int_equal(e[2].index, 0x176);
	assert_int_equal(e[3].index, 0xeeeeeeee);
	assert_int_equal(boot_cpu_setup_msrs(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_linux64),
		cmocka_unit_test(test_regs_pvh),
		cmocka_unit_test(test_sregs_linux64),
		cmocka_unit_test(test_sregs_pvh),
		cmocka_unit_test(test_fpu),
		cmocka_unit_test(test_msrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
