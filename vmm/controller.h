/* The VMM side of the control plane: owns the user's vm_spec and the VM
 * built from it, and carries out what the config file, the CLI or an API
 * request asks for. It runs only on the VMM (event-loop) thread; the API
 * thread hands it requests and never touches this state itself. */
#ifndef EMBER_CONTROLLER_H
#define EMBER_CONTROLLER_H

#include <stdbool.h>

#include "hal/hal.h"
#include "vmm/cpu_template.h"
#include "vmm/event_loop.h"
#include "vmm/metrics.h"
#include "vmm/snapshot_params.h"
#include "vmm/spec_json.h"
#include "vmm/vm.h"
#include "vmm/vm_spec.h"

enum controller_state { CONTROLLER_NOT_STARTED, CONTROLLER_RUNNING, CONTROLLER_PAUSED };

struct controller;

/* What main supplies so the controller can build and wire a VM. */
struct controller_env {
	struct hal *hal;          /* the backend the VM is built on; NULL: open_hal */
	/* Opens the backend at the first InstanceStart, so the API answers on
	 * a machine without KVM and says so only when asked to boot. */
	int (*open_hal)(struct hal **out);
	struct event_loop *loop;  /* device kicks and the VM-exit fd go here */
	struct vm_console console;
	/* Called once the VM is built and loaded, before its vCPUs start, to
	 * wire the console and whatever else main owns. May be NULL. */
	int (*on_vm_built)(void *opaque, struct vm *vm);
	/* Called with every vCPU thread started and parked before its first
	 * KVM_RUN: the last step before the guest runs (main hardens the VMM
	 * thread here). A failure stops the VM. May be NULL. */
	int (*on_vcpus_parked)(void *opaque, struct vm *vm);
	void *opaque;
	bool print_startup;
	/* The only directory a loaded snapshot may name host files in (its
	 * drives, its vsock socket); NULL: anywhere (main always sets it). */
	const char *snapshot_dir;
};

struct controller {
	struct vm_spec spec;
	struct controller_env env;
	enum controller_state state;
	struct vm *vm;
	struct metrics metrics;
	bool metrics_configured;
	bool logger_configured;
	struct cpu_template tpl;
	bool owns_hal;
	/* The last start failed on what the user gave (images, drives, limits)
	 * rather than on the host: main maps it to exit code 78. */
	bool start_failed_on_config;
};

void controller_init(struct controller *ctl, const struct controller_env *env,
		     const struct vm_spec *spec);
/* InstanceStart: validates the spec, reads the images, builds the VM, adds
 * the devices, loads the kernel and starts the vCPUs. On failure nothing is
 * left running and the state stays NOT_STARTED. */
int controller_start(struct controller *ctl);
int controller_pause(struct controller *ctl);
int controller_resume(struct controller *ctl);
/* PATCH /drives/{id} after boot: a new backing file for a drive. */
int controller_update_drive(struct controller *ctl, const struct spec_partial_drive *p);
/* Sets up the logger / metrics sink from the spec (pre-boot, once each). */
int controller_apply_logger(struct controller *ctl, const struct spec_logger *l);
int controller_apply_metrics(struct controller *ctl, const struct spec_metrics *m);
/* PUT /snapshot/create: the VM must be paused. */
int controller_snapshot_create(struct controller *ctl, const struct snapshot_create_params *p);
/* PUT /snapshot/load (and --restore): builds the VM the snapshot describes,
 * with guest RAM from its memory file, puts every saved state back and
 * starts the vCPUs running (resume_vm) or paused. Like InstanceStart, a
 * failure leaves nothing behind and the state NOT_STARTED. */
int controller_snapshot_load(struct controller *ctl, const struct snapshot_load_params *p);
const char *controller_state_name(enum controller_state s);
/* Stops vCPUs and frees the VM (if any); returns its exit code. */
int controller_finish(struct controller *ctl);
void controller_fini(struct controller *ctl);

#endif
