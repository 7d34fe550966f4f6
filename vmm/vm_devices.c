#include "vmm/vm_devices.h"

#include "boot/acpi.h"
#include "boot/layout.h"
#include "devices/acpi_pm.h"
#include "devices/cmos.h"
#include "devices/i8042.h"
#include "devices/pvpanic.h"
#include "devices/serial.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include <time.h>

int vm_devices_set_irq(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;

	return vm->hvm->ops->set_irq_line(vm->hvm, gsi, level);
}

static void vm_devices_on_reset(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_GUEST_RESET, EMBER_EXIT_OK);
}

static void vm_devices_on_poweroff(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_GUEST_SHUTDOWN, EMBER_EXIT_OK);
}

static void vm_devices_on_panic(void *opaque, uint8_t events)
{
	log_error("guest kernel panicked (pvpanic events 0x%x)", events);
	vm_request_exit(opaque, VM_EXIT_GUEST_CRASH, EMBER_EXIT_GUEST_PANIC);
}

static int64_t vm_devices_now(void *opaque)
{
	(void)opaque;
	return (int64_t)time(NULL);
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
	if (!ret)
		ret = cmos_create(&(struct cmos_config){ vm_devices_now, vm }, &vm->cmos);
	if (!ret)
		ret = bus_register(&vm->pio_bus, LAYOUT_RTC_PORT, CMOS_RANGE_LEN, vm->cmos);
	if (!ret)
		ret = acpi_pm_create(&(struct acpi_pm_config){ .s5_slp_typ = ACPI_S5_SLP_TYP,
							.on_poweroff = vm_devices_on_poweroff,
							.on_reset = vm_devices_on_reset, .opaque = vm },
				     &vm->acpi_pm);
	if (!ret)
		ret = bus_register(&vm->pio_bus, LAYOUT_ACPI_SLEEP_CONTROL_PORT, ACPI_PM_RANGE_LEN, vm->acpi_pm);
	if (!ret)
		ret = pvpanic_create(&(struct pvpanic_config){ vm_devices_on_panic, vm }, &vm->pvpanic);
	if (!ret)
		ret = bus_register(&vm->mmio_bus, LAYOUT_PVPANIC_ADDR, PVPANIC_RANGE_LEN, vm->pvpanic);
	return ret;
}

void vm_devices_destroy(struct vm *vm)
{
	struct device **devs[] = { &vm->serial, &vm->i8042, &vm->cmos, &vm->acpi_pm, &vm->pvpanic };

	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (*devs[i])
			(*devs[i])->ops->destroy(*devs[i]);
		*devs[i] = NULL;
	}
}
