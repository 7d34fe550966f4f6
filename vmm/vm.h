/* The VM object: guest memory, the in-kernel irqchip and PIT, the buses
 * and devices, and the vCPUs, built through the HAL from a config. */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "boot/loader.h"
#include "hal/hal.h"
#include "vmm/bus.h"
#include "vmm/cpu_template.h"
#include "vmm/cpuid.h"
#include "vmm/guest_mem.h"
#include "vmm/resources.h"
#include "vmm/vcpu.h"

#define VM_VIRTIO_MAX RESOURCES_MAX_VIRTIO

struct vm_virtio;

/* Process exit codes: 0/1 as Firecracker; usage and config errors take
 * the sysexits.h values, so that no code looks like a death by signal. */
#define EMBER_EXIT_OK 0
#define EMBER_EXIT_GENERIC 1
#define EMBER_EXIT_VCPU_FAILURE 2
#define EMBER_EXIT_GUEST_PANIC 3 /* the guest kernel reported a panic (pvpanic) */
#define EMBER_EXIT_BAD_CONFIG 78 /* EX_CONFIG */
#define EMBER_EXIT_ARG_PARSING 64 /* EX_USAGE */

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_GUEST_RESET,    /* i8042 reset, triple fault, reset event */
	VM_EXIT_GUEST_SHUTDOWN, /* ACPI poweroff, shutdown event */
	VM_EXIT_GUEST_HALT,     /* HLT reached userspace */
	VM_EXIT_SIGNAL,         /* SIGTERM/SIGINT */
	VM_EXIT_VCPU_ERROR,     /* internal error, failed entry, run() failure */
	VM_EXIT_GUEST_CRASH,
};

/* Where the guest's console bytes go. */
struct vm_console {
	ssize_t (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
	/* Called (from a vCPU thread) when the UART can take more input. */
	void (*on_input_space)(void *opaque);
};

/* Guest RAM brought back from a snapshot's memory file: region i of the
 * usual layout (vm_ram_layout) lies at offset[i] of fd. lazy maps it
 * MAP_PRIVATE (pages read on first touch, writes stay in this process);
 * otherwise it is read into fresh memory before the VM is returned. */
struct vm_mem_file {
	int fd;
	bool lazy;
	uint64_t offset[2];
};

struct vm_config {
	uint64_t mem_mib;
	uint32_t nr_vcpus;
	struct vm_console console;
	const struct vm_mem_file *mem_file; /* NULL: fresh zeroed memory */
	/* KVM's dirty log on every slot and the VMM's own writes tracked, so
	 * a diff snapshot can save only the pages written since the last one. */
	bool track_dirty;
};

struct vm_ram {
	void *host;
	uint64_t gpa;
	uint64_t size;
};

struct vm {
	struct hal *hal;
	struct hal_vm *hvm;
	struct guest_mem mem;
	struct vm_ram ram[2];
	unsigned nr_ram;
	bool track_dirty;
	/* The memory file RAM is mapped from (lazy restore), so a snapshot
	 * never truncates the file its own pages still come from. */
	bool ram_from_file;
	dev_t ram_file_dev;
	ino_t ram_file_ino;
	struct bus pio_bus;
	struct bus mmio_bus;
	struct cpuid_table *cpuid; /* what the backend supports */
	struct vcpu vcpus[32];
	unsigned nr_vcpus;
	struct device *serial;
	struct device *i8042;
	struct device *cmos;
	struct device *acpi_pm;
	struct device *pvpanic;
	struct resources resources;
	struct vm_virtio *virtio[VM_VIRTIO_MAX]; /* in creation order: vda, vdb, ... */
	unsigned nr_virtio;
	struct vm_console console;
	struct boot_info boot;
	const struct cpu_template *cpu_template; /* NULL: none */
	bool print_startup;

	atomic_bool stopping;
	/* Pause: vCPUs park at the top of their loop until resumed. */
	atomic_bool pause_requested;
	unsigned nr_parked;
	bool paused;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	pthread_mutex_t exit_lock;
	pthread_cond_t exit_cond;
	enum vm_exit_reason exit_reason;
	int exit_code;
	int exit_fd; /* eventfd, readable once an exit was requested */
};

/* Where guest RAM of `mem_bytes` goes: below the 32-bit MMIO gap, then the
 * rest above 4 GiB. Returns the number of regions (1 or 2). */
unsigned vm_ram_layout(uint64_t mem_bytes, uint64_t gpa[2], uint64_t size[2]);
int vm_create(struct hal *hal, const struct vm_config *cfg, struct vm **out);
/* Lays out the kernel and boot structures and sets every vCPU's state. */
int vm_load_kernel(struct vm *vm, const struct boot_config *boot);
int vm_start(struct vm *vm);
/* First request wins; later ones are ignored. Safe from any thread. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int code);
/* Blocks until an exit was requested; returns the exit code. */
int vm_wait_exit(struct vm *vm);
/* Stops every vCPU at a safe point (out of run(), exit handled) and waits
 * until all are parked. Call from one control thread; idempotent. Returns
 * -ESHUTDOWN when the VM is stopping instead. */
int vm_pause(struct vm *vm);
/* Lets parked vCPUs run again; idempotent. */
void vm_resume(struct vm *vm);
/* Called by a vCPU thread between exits: parks while a pause is asked. */
void vm_vcpu_park_if_paused(struct vm *vm, struct vcpu *vcpu);
/* Kicks every vCPU out of run() and joins the threads. */
void vm_stop_vcpus(struct vm *vm);
void vm_destroy(struct vm *vm);
const char *vm_exit_reason_name(enum vm_exit_reason reason);
/* Bytes of guest RAM backed by host memory now. */
int vm_guest_resident(const struct vm *vm, uint64_t *bytes);
/* Sum of exits by reason over all vCPUs. */
void vm_exit_counts(const struct vm *vm, uint64_t counts[HAL_EXIT_UNKNOWN + 1]);
/* Port and MMIO exits of all vCPUs by direction. */
void vm_exit_dirs(const struct vm *vm, uint64_t counts[VCPU_EXIT_DIRS]);
/* Exits of all vCPUs by port / MMIO page. */
void vm_exit_sites(const struct vm *vm, struct exit_sites *sites);

#endif
