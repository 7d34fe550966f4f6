#include "boot/bzimage.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

#define BZ_SECTOR 512
#define BZ_DEFAULT_SETUP_SECTS 4 /* setup_sects 0 means 4 (boot.rst) */
#define BZ_SYSSIZE 0x1f4         /* payload size in 16-byte paragraphs */

bool bzimage_probe(const uint8_t *buf, size_t len)
{
	return len >= BP_HEADER + 4 && le32_read(buf + BP_HEADER) == BP_HEADER_MAGIC;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Checks what the 64-bit entry needs and returns the setup header's end. */
static int bzimage_check_header(const uint8_t *buf, size_t len, size_t *hdr_end)
{
	size_t end;

	if (len < BZIMAGE_HDR_MIN_END)
		return err_fail(-ENOEXEC, "truncated bzImage: %zu bytes, the setup header needs %d",
				len, BZIMAGE_HDR_MIN_END);
	if (le16_read(buf + BP_BOOT_FLAG) != BP_BOOT_FLAG_MAGIC)
		return err_fail(-ENOEXEC, "bad boot_flag 0x%x (want 0xaa55)",
				le16_read(buf + BP_BOOT_FLAG));
	if (!bzimage_probe(buf, len))
		return err_fail(-ENOEXEC, "no \"HdrS\" setup header magic at 0x202");
	if (le16_read(buf + BP_VERSION) < BZIMAGE_MIN_VERSION)
		return err_fail(-ENOEXEC, "boot protocol %u.%02u is too old: need 2.12 (xloadflags)",
				buf[BP_VERSION + 1], buf[BP_VERSION]);
	/* The jump at 0x200 skips the header, so its target is the header's end. */
	end = (size_t)BP_HEADER + buf[BP_JUMP + 1];
	if (end < BZIMAGE_HDR_MIN_END || end > len)
		return err_fail(-ENOEXEC, "setup header ends at 0x%zx, outside 0x%x-0x%zx", end,
				BZIMAGE_HDR_MIN_END, len);
	if (!(buf[BP_LOADFLAGS] & BP_LOADED_HIGH))
		return err_fail(-ENOEXEC, "not a bzImage: LOADED_HIGH is clear");
	if (!(le16_read(buf + BP_XLOADFLAGS) & BP_XLF_KERNEL_64))
		return err_fail(-ENOEXEC, "kernel has no 64-bit entry (XLF_KERNEL_64 clear)");
	*hdr_end = end < BP_HDR_MAX_END ? end : BP_HDR_MAX_END;
	return 0;
}

/* Where the protected-mode kernel goes. */
static int bzimage_load_addr(const uint8_t *buf, uint64_t *addr)
{
	uint64_t pref = le64_read(buf + BP_PREF_ADDRESS);
	uint32_t align = le32_read(buf + BP_KERNEL_ALIGNMENT);

	if (!buf[BP_RELOCATABLE]) {
		if (pref < LAYOUT_HIMEM_START)
			return err_fail(-ENOEXEC, "non-relocatable kernel wants 0x%llx, below 1 MiB",
					(unsigned long long)pref);
		*addr = pref;
		return 0;
	}
	if (!is_pow2(align))
		return err_fail(-ENOEXEC, "kernel_alignment 0x%x is not a power of two", align);
	if (pref < LAYOUT_HIMEM_START)
		pref = LAYOUT_KERNEL_DEFAULT;
	if (__builtin_add_overflow(pref, (uint64_t)align - 1, addr))
		return err_fail(-ENOMEM, "kernel at 0x%llx does not fit: address overflows",
				(unsigned long long)pref);
	*addr &= ~((uint64_t)align - 1);
	return 0;
}

/* Finds the protected-mode payload: everything after the setup sectors. */
static int bzimage_payload(const uint8_t *buf, size_t len, size_t *setup, size_t *payload_len)
{
	unsigned sects = buf[BP_SETUP_SECTS] ? buf[BP_SETUP_SECTS] : BZ_DEFAULT_SETUP_SECTS;
	uint64_t syssize = (uint64_t)le32_read(buf + BZ_SYSSIZE) * 16;

	*setup = ((size_t)sects + 1) * BZ_SECTOR;
	if (*setup >= len)
		return err_fail(-ENOEXEC, "no protected-mode payload: setup is %zu of %zu bytes",
				*setup, len);
	*payload_len = len - *setup;
	if (*payload_len <= BZIMAGE_ENTRY64_OFFSET)
		return err_fail(-ENOEXEC, "payload of %zu bytes has no 64-bit entry at 0x%x",
				*payload_len, BZIMAGE_ENTRY64_OFFSET);
	/* syssize is rounded down (ZO__edata / 16), so a whole image never
	 * falls short of it. */
	if (syssize > *payload_len)
		return err_fail(-ENOEXEC, "truncated bzImage: payload is %zu bytes, syssize says %llu",
				*payload_len, (unsigned long long)syssize);
	return 0;
}

int bzimage_load(const struct guest_mem *mem, const uint8_t *buf, size_t len, uint8_t *zp,
		 struct boot_image *img)
{
	uint64_t limit = boot_low_limit(mem), addr = 0, need, end;
	size_t hdr_end = 0, setup = 0, payload_len = 0;
	uint32_t init_size;
	int ret;

	ret = bzimage_check_header(buf, len, &hdr_end);
	if (!ret)
		ret = bzimage_payload(buf, len, &setup, &payload_len);
	if (!ret)
		ret = bzimage_load_addr(buf, &addr);
	if (ret)
		return ret;
	/* The kernel decompresses in place and needs init_size bytes there. */
	init_size = le32_read(buf + BP_INIT_SIZE);
	need = init_size > payload_len ? init_size : payload_len;
	if (__builtin_add_overflow(addr, need, &end) || end > limit)
		return err_fail(-ENOMEM, "kernel does not fit: needs 0x%llx bytes at 0x%llx, "
				"low memory ends at 0x%llx: give the guest at least %llu MiB "
				"(--mem, mem_size_mib; booting needs more still)", (unsigned long long)need,
				(unsigned long long)addr, (unsigned long long)limit,
				end > limit ? boot_mib_to_hold(end) : 0ULL);
	ret = guest_mem_write(mem, addr, buf + setup, payload_len);
	if (ret)
		return err_wrap(ret, "loading the bzImage payload");

	memset(zp, 0, BP_SIZE);
	memcpy(zp + BP_HDR, buf + BP_HDR, hdr_end - BP_HDR);
	/* We hand the kernel no setup_data; never pass the image's pointer on. */
	le64_write(zp + BP_SETUP_DATA, 0);

	img->entry = addr + BZIMAGE_ENTRY64_OFFSET;
	img->kernel_start = addr;
	img->kernel_end = end;
	img->cmdline_max = le32_read(buf + BP_CMDLINE_SIZE);
	img->initrd_limit = limit;
	if (!(le16_read(buf + BP_XLOADFLAGS) & BP_XLF_CAN_BE_LOADED_ABOVE_4G)) {
		/* initrd_addr_max is the last byte the initrd may occupy. */
		uint64_t max_end = (uint64_t)le32_read(buf + BP_INITRD_ADDR_MAX) + 1;

		if (max_end < img->initrd_limit)
			img->initrd_limit = max_end;
	}
	img->pvh = false;
	return 0;
}
