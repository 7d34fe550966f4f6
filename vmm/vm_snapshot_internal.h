/* Shared by the save and load halves of vm_snapshot. */
#ifndef EMBER_VM_SNAPSHOT_INTERNAL_H
#define EMBER_VM_SNAPSHOT_INTERNAL_H

#include <stdint.h>

#include "devices/device.h"
#include "vmm/vm.h"

/* Of a DEVICE record's transport blob (its placement, then the device's own record). */
#define VM_SNAPSHOT_DEVICE_VERSION 1u

/* enum snap_device_kind for a VIRTIO_ID_*, or 0 for a device a snapshot cannot hold. */
uint32_t vm_snapshot_device_kind(uint32_t virtio_id);
/* The VM's device for a legacy tag (SERIAL ... PVPANIC), or NULL. */
struct device *vm_snapshot_legacy_device(struct vm *vm, uint32_t tag);

#endif
