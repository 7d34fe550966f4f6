// SPDX-License-Identifier: MIT
/*
 * kvm_probe: self-test for the integration runner.
 *
 * Proves that /dev/kvm in the current environment really runs guest code:
 *   1. open /dev/kvm, KVM_GET_API_VERSION must be 12;
 *   2. create a VM with one memory slot and one vCPU;
 *   3. run 16 bytes of real-mode code:
 *          mov $0x3f8,%dx ; mov $'A',%al ; out %al,(%dx) ; hlt
 *      and check we get KVM_EXIT_IO (out, port 0x3f8, 1 byte, 'A')
 *      followed by KVM_EXIT_HLT;
 *   4. run a tight `loop` of N iterations (default 1000000, argv[1]) and
 *      report the guest speed, so a software-emulated /dev/kvm (kvm_pvm,
 *      ~1-2 M instr/s) is easy to tell from a hardware one.
 *
 * Exit status 0 on success, 1 on any failure (with a message on stderr).
 * Lives under tests/ so it may use ioctl() directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM_SIZE 0x10000u
#define CODE_ADDR 0x1000u

static int fail(const char *what)
{
	fprintf(stderr, "kvm_probe: FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

static int failx(const char *fmt, unsigned long a, unsigned long b)
{
	fprintf(stderr, "kvm_probe: FAIL: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static const char *exit_name(unsigned r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Point a real-mode vCPU at CODE_ADDR with a flat 0 segment base. */
static int reset_vcpu(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

int main(int argc, char **argv)
{
	/* Exactly 16 bytes of real-mode code. */
	static const uint8_t code_out[16] = {
		0xba, 0xf8, 0x03, /* mov $0x3f8,%dx */
		0xb0, 'A',        /* mov $'A',%al   */
		0xee,             /* out %al,(%dx)  */
		0xf4,             /* hlt            */
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
	};
	uint8_t code_loop[16] = {
		0x66, 0xb9, 0, 0, 0, 0, /* mov $N,%ecx            */
		0x67, 0xe2, 0xfd,       /* 1: addr32 loop 1b (ecx) */
		0xf4,                   /* hlt                     */
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
	};
	unsigned long loops = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	struct kvm_userspace_memory_region region;
	struct kvm_run *run;
	uint8_t *mem;
	int kvm, vm, vcpu, api, run_size;
	double t0, t1;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return failx("KVM_GET_API_VERSION = %ld, want %lu", (unsigned long)api,
			     KVM_API_VERSION);
	printf("kvm_probe: /dev/kvm API version %d\n", api);

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + CODE_ADDR, code_out, sizeof(code_out));

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	if (reset_vcpu(vcpu))
		return 1;

	/* First exit: the OUT to the serial port. */
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (1)");
	if (run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "kvm_probe: FAIL: first exit reason %u (%s), want KVM_EXIT_IO\n",
			run->exit_reason, exit_name(run->exit_reason));
		return 1;
	}
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x3f8 ||
	    run->io.size != 1 || run->io.count != 1)
		return failx("unexpected IO exit: port 0x%lx dir %lu",
			     run->io.port, run->io.direction);
	{
		uint8_t byte = *((uint8_t *)run + run->io.data_offset);

		if (byte != 'A')
			return failx("IO exit data 0x%02lx, want 0x%02lx", byte, 'A');
		printf("kvm_probe: KVM_EXIT_IO out port 0x3f8 data '%c'\n", byte);
	}

	/* Second exit: HLT. */
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (2)");
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm_probe: FAIL: second exit reason %u (%s), want KVM_EXIT_HLT\n",
			run->exit_reason, exit_name(run->exit_reason));
		return 1;
	}
	printf("kvm_probe: KVM_EXIT_HLT\n");

	/* Speed check: a `loop` of N iterations, then HLT. */
	if (loops) {
		memcpy(code_loop + 2, &(uint32_t){ (uint32_t)loops }, 4);
		memcpy(mem + CODE_ADDR, code_loop, sizeof(code_loop));
		if (reset_vcpu(vcpu))
			return 1;
		t0 = now();
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN (loop)");
		t1 = now();
		if (run->exit_reason != KVM_EXIT_HLT) {
			fprintf(stderr, "kvm_probe: FAIL: loop exit reason %u (%s), want KVM_EXIT_HLT\n",
				run->exit_reason, exit_name(run->exit_reason));
			return 1;
		}
		printf("kvm_probe: %lu-iteration guest loop in %.3f s (%.1f M iter/s)\n",
		       loops, t1 - t0, loops / (t1 - t0) / 1e6);
	}

	printf("kvm_probe: PASS\n");
	return 0;
}
