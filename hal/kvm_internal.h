/* Private structures of the KVM backend, shared by hal/kvm*.c only (and
 * by the unit test of the pure parts). struct kvm_run goes no further. */
#ifndef EMBER_HAL_KVM_INTERNAL_H
#define EMBER_HAL_KVM_INTERNAL_H

#include <pthread.h>

#include "hal/hal.h"

struct kvm_hal_vm;
struct kvm_hal_vcpu;
struct kvm_hal_tap;

/* A guest memory mapping, tracked so hal destroy can unmap leftovers. */
struct kvm_hal_map {
	struct kvm_hal_map *next;
	void *addr;
	size_t size;
};

/* The lock guards the lists (objects are created and destroyed from
 * different threads); ioctls themselves need no lock. */
struct kvm_hal {
	struct hal base;
	int fd;          /* /dev/kvm */
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	pthread_mutex_t lock;
	struct kvm_hal_vm *vms;
	struct kvm_hal_map *maps;
	struct kvm_hal_tap *taps;
};

struct kvm_hal_vm {
	struct hal_vm base;
	struct kvm_hal_vm *next;
	int fd;
	struct kvm_hal_vcpu *vcpus;
};

struct kvm_hal_vcpu {
	struct hal_vcpu base;
	struct kvm_hal_vcpu *next;
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

struct kvm_hal_tap {
	struct hal_tap base;
	struct kvm_hal_tap *next;
	int fd;
};

static inline struct kvm_hal *kvm_hal_of(struct hal *hal)
{
	return (struct kvm_hal *)hal;
}

/* The KVM_CAP_* number for a HAL capability, or -1. */
int kvm_cap_number(enum hal_cap cap);
/* Turns the exit KVM_RUN left in `run` (mapped with `run_size` bytes)
 * into a hal_exit whose data pointers point into `run`. */
int kvm_exit_translate(struct kvm_run *run, size_t run_size, struct hal_exit *exit);

/* Called with h->lock not held. */
int kvm_vm_create(struct kvm_hal *h, struct hal_vm **out);
int kvm_tap_open(struct kvm_hal *h, const char *name, struct hal_tap **out);
/* Teardown from hal destroy: no lock taken, no unlinking. */
void kvm_vm_free(struct kvm_hal_vm *vm);
void kvm_vcpu_free(struct kvm_hal_vcpu *v);
void kvm_tap_free(struct kvm_hal_tap *t);
int kvm_vcpu_create(struct kvm_hal_vm *vm, uint32_t id, struct hal_vcpu **out);

#endif
