/* Freestanding integration-test guests: shared definitions.
 *
 * Each guest checks the machine state its VMM handed it and reports on COM1,
 * one line per check:
 *     ok <name>
 *     FAIL <name>: <detail>
 * plus free-form "info ..." lines, one "cmdline: <text>" line echoing the
 * command line byte for byte, and finally
 *     DONE <passed>/<total>
 * after which it pulses reset through the i8042 (0xFE to port 0x64).
 *
 * Expectations travel on the command line, so one image serves many runs:
 *     ember.test=<anything>  marker that must be present
 *     ember.initrd=<bytes>   expected initrd length; 0 or absent: no initrd.
 *                            Byte i of the initrd must be INITRD_BYTE(i).
 *     ember.mem=<MiB>        expected guest RAM size (checks the memory map)
 *
 * This header is included by both C and assembly. */
#ifndef EMBER_TEST_GUEST_H
#define EMBER_TEST_GUEST_H

/* struct entry_state, as written by the entry code (byte offsets). */
#define ES_BOOT_REG 0   /* ebx (PVH) or rsi (64-bit entry) */
#define ES_CR0 8
#define ES_CR3 16
#define ES_CR4 24
#define ES_EFER 32
#define ES_RFLAGS 40
#define ES_CS 48
#define ES_DS 56
#define ES_ES 64
#define ES_SS 72
#define ES_GDT_BASE 80
#define ES_GDT_LIMIT 88
#define ES_ENTRY 96     /* address the entry code actually ran at */
#define ES_SP 104       /* stack pointer at entry */
#define ES_TR 112
#define ES_MODE 120     /* 32 or 64 */
#define ES_BSS_DIRTY 128 /* nonzero if the .bss probes were not zero at entry */
#define ES_SIZE 136

#define GUEST_STACK_SIZE 16384
#define BSS_PROBE_SIZE 256 /* at each end of .bss: must be zero at entry */

#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_LMA (1 << 10)
#define CR0_PE (1 << 0)
#define CR0_PG 0x80000000
#define CR4_PAE (1 << 5)

#define COM1 0x3f8
#define I8042_CMD 0x64

/* Pattern byte i of the test initrd: (i*7 + 3 + (i>>8)*5 + (i>>16)*11) mod 256.
 * Unlike i*7+3 alone it has no period below 16 MiB, so an initrd placed or
 * copied a page (or 64 KiB) off does not match by accident. */
#define INITRD_BYTE(i) ((unsigned char)((i) * 7 + 3 + ((i) >> 8) * 5 + ((i) >> 16) * 11))

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

struct entry_state {
	u64 boot_reg, cr0, cr3, cr4, efer, rflags;
	u64 cs, ds, es, ss;
	u64 gdt_base, gdt_limit;
	u64 entry, sp, tr, mode, bss_dirty;
};
_Static_assert(sizeof(struct entry_state) == ES_SIZE, "entry_state layout");
_Static_assert(offsetof(struct entry_state, gdt_base) == ES_GDT_BASE, "entry_state layout");
_Static_assert(offsetof(struct entry_state, mode) == ES_MODE, "entry_state layout");

/* Each image defines this; the entry code calls it in 64-bit mode. */
void guest_main(struct entry_state *st);

/* Linker-script symbols: the loaded image, [start, end) including .bss. */
extern char _image_start[], _image_end[], _bss_start[], _bss_end[];

/* ---- port I/O, registers ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- libc bits the compiler may call ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strnlen(const char *s, size_t max);

/* ---- output ---- */
void pr(const char *fmt, ...);     /* %s %x (u64, 0x-prefixed) %u (u64) %c; no width */
void vpr(const char *fmt, va_list ap);
void put_bytes(const char *s, size_t n);
/* Report one check. `fmt` describes the failure and is only printed then. */
int check(int ok, const char *name, const char *fmt, ...);
__attribute__((noreturn)) void finish(void); /* "DONE p/t", reset, halt */
void report_done(void);                        /* "DONE p/t" only */
__attribute__((noreturn)) void reset_and_halt(void);

/* ---- command line ---- */
/* Value of "key=" as a word of `cmdline`, or NULL. */
const char *cmd_value(const char *cmdline, const char *key);
/* Decimal value of "key=", or `dflt` when absent or malformed. */
u64 cmd_u64(const char *cmdline, const char *key, u64 dflt);

/* ---- memory map, shared by PVH memmap and E820 ---- */
#define MAP_RAM 1
#define MAP_MAX 128
struct region {
	u64 addr, size;
	u32 type;
};
/* Runs the memory-map checks under the name prefix `p` ("memmap"/"e820"):
 * <p>_count, <p>_low, <p>_1mib, <p>_sorted and, if mem_mib != 0, <p>_size. */
void check_memory_map(const char *p, const struct region *r, u32 n, u64 mem_mib);
/* 1 if [addr, addr+len) is identity-mapped (first and last byte) below
 * 4 GiB, so it can be read without faulting. */
int safe_range(u64 addr, u64 len);
/* 1 if [addr, addr+len) lies within a single RAM region. */
int in_ram(const struct region *r, u32 n, u64 addr, u64 len);
static inline int overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

/* ---- shared checks ---- */
/* Checks the command line at `addr`: cmdline (marker, NUL within `max`),
 * echoes "cmdline: ...". Returns its length or -1. */
long check_cmdline(u64 addr, u64 max);
/* Checks the initrd against ember.initrd: initrd_present and, if one is
 * expected, initrd_size, initrd_data. Returns 1 if present and sized right. */
int check_initrd(const char *cmdline, int present, u64 addr, u64 size);
/* Checks an ACPI RSDP at `addr` (nonzero): signature and checksum. */
void check_rsdp(u64 addr);

/* ---- descriptors ---- */
struct seg {
	int valid;        /* selector indexes an entry inside the GDT limit */
	u64 raw;
	u32 base, limit;  /* limit in bytes - 1, granularity applied */
	u8 type, s, dpl, p, l, db, g;
};
struct seg gdt_seg(const struct entry_state *st, u64 sel);
/* Checks a flat code segment: 64-bit (L=1, D=0) or 32-bit (L=0, D=1). */
void check_code_seg(const char *name, const struct entry_state *st, int bits);
/* Checks DS, ES and SS: present, writable, flat data (32-bit: D/B=1). */
void check_data_segs(const char *name, const struct entry_state *st, int bits);
/* Describes the entry state on an "info" line. */
void print_entry_state(const char *who, const struct entry_state *st);

/* ---- paging (64-bit guests) ---- */
/* Walks the tables at CR3. Returns 0 and the physical address and whether
 * the whole path is writable, or -1 if not present. */
int page_walk(u64 cr3, u64 va, u64 *pa, int *writable);

#endif /* __ASSEMBLER__ */
#endif
