/* A vCPU thread: run, dispatch the exit, repeat until the VM stops. */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/loader.h"
#include "hal/hal.h"
#include "vmm/cpu_template.h"
#include "vmm/cpuid.h"
#include "vmm/exit_sites.h"
#include "vmm/log.h"

struct vm;

/* Interrupts a vCPU thread blocked in run(). */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 0)

/* Port and MMIO exits by direction, as Firecracker's metrics split them. */
enum vcpu_exit_dir { VCPU_EXIT_IO_IN, VCPU_EXIT_IO_OUT, VCPU_EXIT_MMIO_READ, VCPU_EXIT_MMIO_WRITE, VCPU_EXIT_DIRS };

struct vcpu {
	struct vm *vm;
	struct hal_vcpu *hal;
	uint32_t id;
	pthread_t thread;
	bool thread_started;
	/* Bumped by the vCPU thread, read by metrics on another: relaxed atomics. */
	uint64_t exit_counts[HAL_EXIT_UNKNOWN + 1];
	uint64_t exit_dirs[VCPU_EXIT_DIRS];
	struct exit_sites exit_sites;
	struct log_limit log_limit; /* lines the guest's own accesses cause */
};

enum vcpu_action { VCPU_CONTINUE, VCPU_STOP };


/* CPUID, MSRs and LAPIC for every vCPU; registers too for the boot vCPU
 * (boot != NULL). */
int vcpu_configure(struct vcpu *vcpu, const struct cpuid_table *supported, uint32_t nr_vcpus,
		   const struct boot_info *boot, const struct cpu_template *tpl);
/* Handles one exit: device access on the buses, or a reason to stop the VM. */
enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu, const struct hal_exit *exit);
/* The thread body: runs until the VM is stopping or an exit stops it. */
void vcpu_run_loop(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Makes the vCPU leave run() promptly (immediate exit + signal). */
void vcpu_kick(struct vcpu *vcpu);
/* Logs the general and special registers at Error level. */
void vcpu_dump_regs(struct vcpu *vcpu);

#endif
