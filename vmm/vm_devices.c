#include "vmm/vm_devices.h"

#include "boot/layout.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int vm_devices_set_irq(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;

	return vm->hvm->ops->set_irq_line(vm->hvm, gsi, level);
}

static void vm_devices_on_reset(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_GUEST_RESET, EMBER_EXIT_OK);
}

size_t vm_devices_console_push(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	return vm->serial ? serial_push_input(vm->serial, buf, len) : len;
}

int vm_devices_create(struct vm *vm)
{
	struct serial_config serial = {
		.irq = { vm_devices_set_irq, vm, LAYOUT_COM1_IRQ },
		.output = { vm->console.write, vm->console.opaque },
		.on_rx_space = vm->console.on_input_space,
		.rx_space_opaque = vm->console.opaque,
	};
	struct i8042_config kbd = {
		.irq = { vm_devices_set_irq, vm, LAYOUT_I8042_IRQ },
		.on_reset = vm_devices_on_reset,
		.reset_opaque = vm,
	};
	int ret;

	ret = serial_create(&serial, &vm->serial);
	if (!ret)
		ret = bus_register(&vm->pio_bus, LAYOUT_COM1_PORT, SERIAL_RANGE_LEN, vm->serial);
	if (!ret)
		ret = i8042_create(&kbd, &vm->i8042);
	if (!ret)
		ret = bus_register(&vm->pio_bus, LAYOUT_I8042_PORT, I8042_RANGE_LEN, vm->i8042);
	return ret;
}

void vm_devices_destroy(struct vm *vm)
{
	if (vm->serial)
		vm->serial->ops->destroy(vm->serial);
	if (vm->i8042)
		vm->i8042->ops->destroy(vm->i8042);
	vm->serial = vm->i8042 = NULL;
}
