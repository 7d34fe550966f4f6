/* The guest physical memory map. Constants only: every other module takes
 * its addresses from here so the map is stated once. */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#define LAYOUT_KiB 0x400ULL
#define LAYOUT_MiB 0x100000ULL
#define LAYOUT_GiB 0x40000000ULL

/* ---- low memory (below 1 MiB) ---- */
#define LAYOUT_GDT_ADDR 0x500ULL       /* 4 descriptors: null, code64, data, tss */
#define LAYOUT_IDT_ADDR 0x520ULL       /* empty IDT: the kernel sets its own */
#define LAYOUT_PVH_INFO_ADDR 0x6000ULL /* hvm_start_info, modlist, memmap */
#define LAYOUT_PVH_INFO_SIZE 0x1000ULL
#define LAYOUT_ZERO_PAGE_ADDR 0x7000ULL /* struct boot_params */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4_ADDR 0x9000ULL
#define LAYOUT_PDPT_ADDR 0xa000ULL
#define LAYOUT_PD_ADDR 0xb000ULL       /* 4 pages: identity map of 0-4 GiB, 2 MiB pages */
#define LAYOUT_PD_PAGES 4
#define LAYOUT_CMDLINE_ADDR 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL  /* hard cap; the kernel's cmdline_size may be lower */
#define LAYOUT_EBDA_START 0x9fc00ULL   /* MP table lives here */
#define LAYOUT_EBDA_END 0xa0000ULL     /* start of the legacy VGA hole */
#define LAYOUT_BIOS_START 0xe0000ULL   /* RSDP and ACPI tables, reserved in E820 */
#define LAYOUT_BIOS_END 0x100000ULL
#define LAYOUT_HIMEM_START 0x100000ULL
#define LAYOUT_KERNEL_DEFAULT 0x1000000ULL /* 16 MiB, bzImage pref_address default */

/* ---- the 32-bit MMIO hole: [3 GiB, 4 GiB) is never RAM ---- */
#define LAYOUT_MMIO_GAP_START 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END 0x100000000ULL
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_STRIDE 0x1000ULL
#define LAYOUT_PVPANIC_ADDR 0xc0000000ULL   /* pvpanic-mmio (ACPI QEMU0001), 2 bytes */
#define LAYOUT_PVPANIC_LEN 0x2ULL
#define LAYOUT_IOAPIC_ADDR 0xfec00000ULL
#define LAYOUT_LAPIC_ADDR 0xfee00000ULL
#define LAYOUT_IDENTITY_MAP_ADDR 0xfffbc000ULL /* KVM_SET_IDENTITY_MAP_ADDR, 1 page */
#define LAYOUT_TSS_ADDR 0xfffbd000ULL          /* KVM_SET_TSS_ADDR, 3 pages */

/* RAM above the hole starts here. */
#define LAYOUT_HIGH_RAM_START LAYOUT_MMIO_GAP_END

/* ---- ISA interrupts and ports ---- */
#define LAYOUT_COM1_PORT 0x3f8
#define LAYOUT_COM1_IRQ 4
#define LAYOUT_I8042_PORT 0x60 /* data; command/status at 0x64 */
#define LAYOUT_I8042_CMD_PORT 0x64
#define LAYOUT_I8042_IRQ 1
#define LAYOUT_RTC_PORT 0x70      /* CMOS index/data at 0x70/0x71 */
#define LAYOUT_RTC_IRQ 8
/* Hardware-reduced ACPI sleep registers (FADT SLEEP_CONTROL/STATUS_REG). */
#define LAYOUT_ACPI_SLEEP_CONTROL_PORT 0x3c0
#define LAYOUT_ACPI_SLEEP_STATUS_PORT 0x3c1
/* FADT RESET_REG: writing LAYOUT_ACPI_RESET_VALUE resets the machine. */
#define LAYOUT_ACPI_RESET_PORT 0x3c2
#define LAYOUT_ACPI_RESET_VALUE 0x1
#define LAYOUT_VIRTIO_IRQ_BASE 5 /* first GSI handed to virtio devices */

/* ---- limits ---- */
#define LAYOUT_MEM_MIN_MiB 16ULL
#define LAYOUT_MAX_VCPUS 32

#endif
