/* The legacy devices every VM has (COM1 UART, i8042), created on the PIO
 * bus and wired to the irqchip and the console. */
#ifndef EMBER_VM_DEVICES_H
#define EMBER_VM_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct vm;

int vm_devices_create(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* console_push_fn for the UART: `opaque` is the VM. */
size_t vm_devices_console_push(void *opaque, const uint8_t *buf, size_t len);
/* irq_line callback into the HAL's irqchip: `opaque` is the VM. */
int vm_devices_set_irq(void *opaque, uint32_t gsi, int level);

#endif
