/* boot_load: detects the kernel format, then runs the steps common to all
 * formats in one order: kernel, command line, initrd, memory map, boot
 * structures (boot_params or PVH start_info), GDT and page tables. */
#include "boot/loader.h"

#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/bootparams.h"
#include "boot/bzimage.h"
#include "boot/cmdline.h"
#include "boot/e820.h"
#include "boot/elf.h"
#include "boot/gdt.h"
#include "boot/image.h"
#include "boot/initrd.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "boot/paging.h"
#include "boot/pvh.h"
#include "vmm/log.h"

const char *boot_format_name(enum boot_kernel_format format)
{
	switch (format) {
	case BOOT_FORMAT_BZIMAGE:
		return "bzImage";
	case BOOT_FORMAT_ELF_PVH:
		return "ELF (PVH entry)";
	case BOOT_FORMAT_ELF64:
		return "ELF (64-bit entry)";
	}
	return "unknown";
}

/* Loads the kernel by format; `zp` receives its setup header (or a
 * synthesized one) when it boots through boot_params. */
static int boot_load_kernel(const struct guest_mem *mem, const struct boot_config *cfg,
			    uint8_t *zp, struct boot_image *img, struct boot_info *out)
{
	int ret;

	if (elf_probe(cfg->kernel, cfg->kernel_len)) {
		ret = elf_load(mem, cfg->kernel, cfg->kernel_len, &cfg->kernel_release, img);
		if (ret)
			return ret;
		out->format = img->pvh ? BOOT_FORMAT_ELF_PVH : BOOT_FORMAT_ELF64;
		if (!img->pvh)
			bootparams_synthesize(zp);
		return 0;
	}
	if (bzimage_probe(cfg->kernel, cfg->kernel_len)) {
		out->format = BOOT_FORMAT_BZIMAGE;
		return bzimage_load(mem, cfg->kernel, cfg->kernel_len, zp, img);
	}
	return err_fail(-ENOEXEC, "unrecognised kernel image: neither an ELF vmlinux nor a bzImage "
			"(no \"HdrS\" header at 0x202)");
}

/* ACPI for current kernels, the MP table for those built without ACPI. */
static int boot_write_firmware_tables(const struct guest_mem *mem, const struct boot_config *cfg,
				      uint64_t *rsdp)
{
	int ret;

	if (cfg->nr_vcpus && cfg->nr_vcpus != cfg->acpi->nr_vcpus)
		return err_fail(-EINVAL, "boot config has %u vCPUs but its ACPI config %u",
				cfg->nr_vcpus, cfg->acpi->nr_vcpus);
	ret = acpi_write_tables(mem, cfg->acpi, rsdp);
	if (!ret)
		ret = mptable_write(mem, cfg->acpi->nr_vcpus);
	return ret;
}

int boot_load(const struct guest_mem *mem, const struct boot_config *cfg, struct boot_info *out)
{
	struct boot_image img = { 0 };
	struct e820_map map;
	uint8_t zp[BP_SIZE];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!cfg->kernel || cfg->kernel_len == 0)
		return err_fail(-EINVAL, "no kernel image");
	if (cfg->initrd_len && !cfg->initrd)
		return err_fail(-EINVAL, "initrd length without data");
	if (boot_low_limit(mem) < LAYOUT_HIMEM_START)
		return err_fail(-ENOMEM, "guest memory too small: low memory ends at 0x%llx, "
				"booting needs at least 1 MiB", (unsigned long long)boot_low_limit(mem));
	memset(zp, 0, sizeof(zp));
	ret = boot_load_kernel(mem, cfg, zp, &img, out);
	if (ret)
		return ret;
	out->mode = img.pvh ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
	out->entry = img.entry;
	out->kernel_start = img.kernel_start;
	out->kernel_end = img.kernel_end;
	out->cmdline_addr = LAYOUT_CMDLINE_ADDR;
	ret = cmdline_write(mem, cfg->cmdline, img.cmdline_max, &out->cmdline_size);
	if (ret)
		return ret;
	if (cfg->initrd_len) {
		ret = initrd_load(mem, cfg->initrd, cfg->initrd_len, img.initrd_limit,
				  img.kernel_start, img.kernel_end, &out->initrd_addr);
		if (ret)
			return ret;
		out->initrd_size = cfg->initrd_len;
	}
	ret = e820_build(mem, &map);
	if (ret)
		return ret;
	if (cfg->acpi) {
		ret = boot_write_firmware_tables(mem, cfg, &out->rsdp_addr);
		if (ret)
			return ret;
	}
	if (img.pvh) {
		out->boot_arg = LAYOUT_PVH_INFO_ADDR;
		ret = pvh_write(mem, out, &map);
	} else {
		out->boot_arg = LAYOUT_ZERO_PAGE_ADDR;
		ret = bootparams_write(mem, zp, out, &map);
	}
	if (!ret)
		ret = gdt_write(mem, out->mode);
	/* PVH starts with paging off: only the 64-bit entry needs tables. */
	if (!ret && out->mode == BOOT_ENTRY_LINUX64)
		ret = paging_write(mem);
	return ret;
}
