/* Saving a paused VM to a snapshot (a state file in the snapshot/format.h
 * container plus a guest-RAM file), and bringing one back.
 *
 * The state file holds everything needed to rebuild the VM without the
 * original configuration: the MACHINE record (vCPUs, memory layout and where
 * each region sits in the RAM file), the irqchip, PIT and kvmclock, one
 * record per vCPU (snapshot/cpu_state.h), the legacy devices, and one
 * DEVICE record per virtio device in creation order, whose
 *   transport  = u32 version | u64 MMIO base | u32 GSI | the device's own
 *                record (virtio-mmio registers, queues, backend state)
 *   backing    = the device's Firecracker config object as JSON (a drive,
 *                network interface, vsock or entropy object), from which
 *                the device is built again on restore
 *   state      = empty (the transport record carries it).
 *
 * A restore builds the VM from that configuration exactly as a boot would
 * (so every device lands at the same MMIO window and GSI, which is checked),
 * maps or reads guest RAM from the memory file, then puts every saved state
 * back before any vCPU runs. */
#ifndef EMBER_VM_SNAPSHOT_H
#define EMBER_VM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/format.h"
#include "vmm/snapshot_params.h"
#include "vmm/vm.h"
#include "vmm/vm_spec.h"

struct vm_snapshot_stats {
	uint64_t state_bytes;     /* size of the state file */
	uint64_t mem_bytes;       /* bytes of guest RAM written (apparent size is the RAM size) */
	uint64_t pages_written;
	uint64_t pages_skipped;   /* zero pages left as holes, or clean pages of a diff */
};

/* Saves a paused VM built from `spec` (its virtio devices in vm->virtio
 * order are spec's drives, then interfaces, then vsock, then entropy). A
 * diff needs dirty tracking. After any snapshot of a tracking VM the dirty
 * state is cleared, so the next diff holds what changed since this one. */
int vm_snapshot_save(struct vm *vm, const struct vm_spec *spec, const struct snapshot_create_params *p,
		     struct vm_snapshot_stats *st);

/* A state file read, checked and decoded, with its memory file open. */
struct vm_snapshot {
	uint8_t *buf;
	size_t len;
	struct snap_file file;
	struct snap_machine machine;
	int mem_fd;
};

/* Reads and validates the state file and opens the memory file, checking
 * that every RAM region lies inside it. On failure nothing is left open. */
int vm_snapshot_open(const char *snapshot_path, const char *mem_path, struct vm_snapshot *s);
void vm_snapshot_close(struct vm_snapshot *s);
/* The configuration the snapshot's VM was built from, on top of `base`
 * (which keeps its id, logger and metrics), with the load's overrides. */
int vm_snapshot_spec(const struct vm_snapshot *s, const struct snapshot_load_params *p,
		     const struct vm_spec *base, struct vm_spec *out);
/* The snapshot file is not trusted to choose host files: every path it
 * names (drive path_on_host, the vsock uds_path unless the loader
 * overrides it) must lie inside `dir` once resolved. -EPERM naming the
 * first one outside; `dir` NULL allows anything. */
int vm_snapshot_confine(const struct vm_spec *spec, const struct snapshot_load_params *p, const char *dir);
/* Where guest RAM comes from, for vm_create. */
void vm_snapshot_mem_file(const struct vm_snapshot *s, bool lazy, struct vm_mem_file *mf);
/* On a VM created from vm_snapshot_spec (devices added, vCPUs not yet
 * started, memory from the file): puts every saved state back. */
int vm_snapshot_restore(struct vm *vm, const struct vm_snapshot *s);

#endif
