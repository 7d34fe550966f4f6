/* Shared runtime of the test guests: serial output, check reporting,
 * command-line parsing and the checks common to all boot protocols.
 * Everything here runs in 64-bit mode with identity paging. */
#include "guest.h"

/* ---- libc bits ---- */
void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *dp = d;
	while (n--)
		*dp++ = (u8)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

/* ---- serial (COM1, polled) ---- */
static int serial_dead; /* LSR never said THRE: stop polling, write blind */

static void serial_putc(char c)
{
	if (!serial_dead) {
		unsigned spins = 0;
		while (!(inb(COM1 + 5) & 0x20)) {
			if (++spins > 1000) {
				serial_dead = 1;
				break;
			}
		}
	}
	outb(COM1, (u8)c);
}

void put_bytes(const char *s, size_t n)
{
	while (n--)
		serial_putc(*s++);
}

static void put_str(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_num(u64 v, unsigned base)
{
	char buf[24];
	int i = 0;
	do {
		unsigned d = (unsigned)(v % base);
		buf[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (i)
		serial_putc(buf[--i]);
}

void vpr(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_str(s ? s : "(null)");
			break;
		}
		case 'x':
			put_str("0x");
			put_num(va_arg(ap, u64), 16);
			break;
		case 'u':
			put_num(va_arg(ap, u64), 10);
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			return;
		}
	}
}

void pr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpr(fmt, ap);
	va_end(ap);
}

/* ---- checks ---- */
static u64 n_pass, n_total;

int check(int ok, const char *name, const char *fmt, ...)
{
	n_total++;
	if (ok) {
		n_pass++;
		pr("ok %s\n", name);
	} else {
		va_list ap;
		pr("FAIL %s: ", name);
		va_start(ap, fmt);
		vpr(fmt, ap);
		va_end(ap);
		pr("\n");
	}
	return ok;
}

void reset_and_halt(void)
{
	/* i8042 "pulse output line": bit 0 is the CPU reset line. */
	outb(I8042_CMD, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void report_done(void)
{
	pr("DONE %u/%u\n", n_pass, n_total);
}

void finish(void)
{
	report_done();
	reset_and_halt();
}

/* ---- command line ---- */
const char *cmd_value(const char *cmdline, const char *key)
{
	size_t klen = strnlen(key, 64);
	const char *p = cmdline;
	while (p && *p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

u64 cmd_u64(const char *cmdline, const char *key, u64 dflt)
{
	const char *v = cmd_value(cmdline, key);
	u64 n = 0;
	if (!v || *v < '0' || *v > '9')
		return dflt;
	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (u64)(*v - '0');
	return (*v == 0 || *v == ' ') ? n : dflt;
}

/* ---- paging ---- */
#define PTE_P 1ULL
#define PTE_W 2ULL
#define PTE_PS 0x80ULL
#define PTE_ADDR 0x000ffffffffff000ULL

int page_walk(u64 cr3, u64 va, u64 *pa, int *writable)
{
	const u64 *t = (const u64 *)(cr3 & PTE_ADDR);
	int w = 1;
	for (int shift = 39; shift >= 12; shift -= 9) {
		u64 e = t[(va >> shift) & 511];
		if (!(e & PTE_P))
			return -1;
		if (!(e & PTE_W))
			w = 0;
		if (shift == 12 || ((shift == 30 || shift == 21) && (e & PTE_PS))) {
			u64 mask = (1ULL << shift) - 1;
			*pa = ((e & PTE_ADDR) & ~mask) | (va & mask);
			*writable = w;
			return 0;
		}
		t = (const u64 *)(e & PTE_ADDR);
	}
	return -1;
}

static u64 read_cr3(void)
{
	u64 v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

int safe_range(u64 addr, u64 len)
{
	u64 cr3 = read_cr3(), pa;
	int w;
	if (!len || addr + len < addr || addr + len > 0x100000000ULL)
		return 0;
	if (page_walk(cr3, addr, &pa, &w) || pa != addr)
		return 0;
	if (page_walk(cr3, addr + len - 1, &pa, &w) || pa != addr + len - 1)
		return 0;
	return 1;
}

/* ---- memory map ---- */
#define MiB 0x100000ULL

int in_ram(const struct region *r, u32 n, u64 addr, u64 len)
{
	for (u32 i = 0; i < n && i < MAP_MAX; i++)
		if (r[i].type == MAP_RAM && addr >= r[i].addr && addr + len <= r[i].addr + r[i].size &&
		    addr + len >= addr)
			return 1;
	return 0;
}

void check_memory_map(const char *p, const struct region *r, u32 n_raw, u64 mem_mib)
{
	char name[32];
	u32 n = n_raw < MAP_MAX ? n_raw : MAP_MAX;
	size_t plen = strnlen(p, 16);
	memcpy(name, p, plen);
#define NAME(suffix) (memcpy(name + plen, suffix, sizeof(suffix)), name)

	check(n_raw > 0 && n_raw < MAP_MAX, NAME("_count"), "%u entries, want 1..127", (u64)n_raw);
	if (!n)
		return;
	check(r[0].addr == 0 && r[0].type == MAP_RAM && r[0].size > 0, NAME("_low"),
	      "first entry %x+%x type %u, want RAM at 0", r[0].addr, r[0].size, (u64)r[0].type);
	check(in_ram(r, n, MiB, 1), NAME("_1mib"), "no RAM entry covers 1 MiB");

	/* Sorted, non-overlapping, non-empty; no RAM in the legacy hole
	 * [640K, 1M) nor in the 32-bit MMIO gap [3G, 4G). */
	u32 bad = 0;
	const char *why = "";
	for (u32 i = 0; i < n && !bad; i++) {
		const struct region *e = &r[i];
		if (!e->size || e->addr + e->size < e->addr) {
			bad = i + 1;
			why = "empty or wrapping";
		} else if (i && e->addr < r[i - 1].addr + r[i - 1].size) {
			bad = i + 1;
			why = "overlaps or is below the previous entry";
		} else if (e->type == MAP_RAM && (overlaps(e->addr, e->size, 0xa0000, 0x60000) ||
						  overlaps(e->addr, e->size, 0xc0000000ULL, 0x40000000ULL))) {
			bad = i + 1;
			why = "RAM in the 640K-1M hole or the 3G-4G MMIO gap";
		}
	}
	if (bad)
		check(0, NAME("_sorted"), "entry %u (%x+%x type %u): %s", (u64)(bad - 1), r[bad - 1].addr,
		      r[bad - 1].size, (u64)r[bad - 1].type, why);
	else
		check(1, NAME("_sorted"), "");

	if (mem_mib) {
		u64 total = 0, top = 0, want = mem_mib * MiB;
		for (u32 i = 0; i < n; i++)
			if (r[i].type == MAP_RAM) {
				total += r[i].size;
				if (r[i].addr + r[i].size > top)
					top = r[i].addr + r[i].size;
			}
		int ok = total <= want && total + 2 * MiB >= want;
		if (want <= 0xc0000000ULL)
			ok = ok && top <= want && top + 2 * MiB >= want;
		check(ok, NAME("_size"), "RAM total %x, highest end %x; want about %x (ember.mem=%u)", total, top,
		      want, mem_mib);
	}
#undef NAME
}

/* ---- command line and initrd ---- */

long check_cmdline(u64 addr, u64 max)
{
	if (!addr || !safe_range(addr, 1)) {
		check(0, "cmdline", "pointer %x is null or not identity-mapped", addr);
		return -1;
	}
	/* Find the NUL without leaving mapped memory: check a page at a time. */
	const char *s = (const char *)addr;
	u64 len = 0;
	while (len < max) {
		u64 chunk = 4096 - ((addr + len) & 4095);
		if (chunk > max - len)
			chunk = max - len;
		if (!safe_range(addr + len, chunk))
			break;
		u64 n = strnlen(s + len, chunk);
		len += n;
		if (n < chunk)
			break;
	}
	if (len >= max || s[len] != 0) {
		check(0, "cmdline", "no NUL within %u bytes of %x", max, addr);
		return -1;
	}
	check(cmd_value(s, "ember.test") != NULL, "cmdline", "marker word \"ember.test=\" missing");
	pr("cmdline: ");
	put_bytes(s, len);
	pr("\n");
	return (long)len;
}

/* Compares `len` bytes at `p` (offset `off` into the initrd) to the pattern;
 * returns the first bad offset + 1, or 0. */
static u64 pattern_mismatch(const u8 *p, u64 off, u64 len)
{
	for (u64 i = 0; i < len; i++)
		if (p[i] != INITRD_BYTE(off + i))
			return off + i + 1;
	return 0;
}

int check_initrd(const char *cmdline, int present, u64 addr, u64 size)
{
	u64 want = cmd_u64(cmdline, "ember.initrd", 0);
	if (!want) {
		check(!present, "initrd", "unexpected initrd at %x, %u bytes (ember.initrd=0)", addr, size);
		return 0;
	}
	if (!check(present && addr, "initrd", "no initrd handed over; want %u bytes", want))
		return 0;
	int sized = check(size == want, "initrd_size", "size %u, want %u", size, want);
	if (!safe_range(addr, size ? size : 1)) {
		check(0, "initrd_data", "[%x, +%x) is not identity-mapped below 4 GiB", addr, size);
		return 0;
	}
	/* Small initrds are compared whole. Large ones: the first and last
	 * 8 KiB and 8 bytes of every 4 KiB page between, to stay within a few
	 * thousand instructions. */
	const u8 *p = (const u8 *)addr;
	u64 n = size < want ? size : want, bad;
	if (n <= 16384) {
		bad = pattern_mismatch(p, 0, n);
	} else {
		bad = pattern_mismatch(p, 0, 8192);
		for (u64 off = 8192; !bad && off + 8192 < n; off += 4096)
			bad = pattern_mismatch(p + off, off, 8);
		if (!bad)
			bad = pattern_mismatch(p + n - 8192, n - 8192, 8192);
	}
	if (bad)
		check(0, "initrd_data", "byte %u is %x, want %x", bad - 1, (u64)p[bad - 1], (u64)INITRD_BYTE(bad - 1));
	else
		check(1, "initrd_data", "");
	return sized && !bad;
}

void check_rsdp(u64 addr)
{
	if (!safe_range(addr, 36)) {
		check(0, "rsdp", "RSDP pointer %x not mapped", addr);
		return;
	}
	const u8 *p = (const u8 *)addr;
	u8 sum = 0, xsum = 0;
	for (int i = 0; i < 20; i++)
		sum = (u8)(sum + p[i]);
	for (int i = 0; i < 36; i++)
		xsum = (u8)(xsum + p[i]);
	check(!memcmp(p, "RSD PTR ", 8) && sum == 0 && (p[15] < 2 || xsum == 0), "rsdp",
	      "at %x: bad signature or checksum (revision %u)", addr, (u64)p[15]);
}

/* ---- descriptors ---- */
struct seg gdt_seg(const struct entry_state *st, u64 sel)
{
	struct seg s = {0};
	u64 idx = sel >> 3;
	if ((sel & 4) || !idx || idx * 8 + 7 > st->gdt_limit || !safe_range(st->gdt_base + idx * 8, 8))
		return s;
	s.valid = 1;
	s.raw = *(const u64 *)(st->gdt_base + idx * 8);
	s.limit = (u32)((s.raw & 0xffff) | ((s.raw >> 32) & 0xf0000));
	s.base = (u32)(((s.raw >> 16) & 0xffffff) | ((s.raw >> 32) & 0xff000000));
	s.type = (s.raw >> 40) & 0xf;
	s.s = (s.raw >> 44) & 1;
	s.dpl = (s.raw >> 45) & 3;
	s.p = (s.raw >> 47) & 1;
	s.l = (s.raw >> 53) & 1;
	s.db = (s.raw >> 54) & 1;
	s.g = (s.raw >> 55) & 1;
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static int flat(const struct seg *s) { return s->base == 0 && s->limit == 0xffffffff; }

void check_code_seg(const char *name, const struct entry_state *st, int bits)
{
	struct seg s = gdt_seg(st, st->cs);
	int ok = s.valid && (st->cs & 3) == 0 && s.p && s.s && (s.type & 8) && (s.type & 2) && s.dpl == 0 &&
		 flat(&s);
	ok = ok && (bits == 64 ? (s.l && !s.db) : (!s.l && s.db));
	check(ok, name, "cs=%x descriptor %x (gdt %x limit %x): want present ring-0 readable flat %s code", st->cs,
	      s.raw, st->gdt_base, st->gdt_limit, bits == 64 ? "64-bit (L=1 D=0)" : "32-bit (L=0 D=1)");
}

void check_data_segs(const char *name, const struct entry_state *st, int bits)
{
	const u64 sels[3] = {st->ds, st->es, st->ss};
	static const char regs[3][3] = {"ds", "es", "ss"};
	for (int i = 0; i < 3; i++) {
		struct seg s = gdt_seg(st, sels[i]);
		int ok = s.valid && s.p && s.s && !(s.type & 8) && (s.type & 2) && flat(&s) && (bits == 64 || s.db);
		if (!ok) {
			check(0, name, "%s=%x descriptor %x (gdt %x limit %x): want present writable flat data", regs[i],
			      sels[i], s.raw, st->gdt_base, st->gdt_limit);
			return;
		}
	}
	check(1, name, "");
}

void print_entry_state(const char *who, const struct entry_state *st)
{
	pr("info %s: entry=%x boot_reg=%x sp=%x cr0=%x cr3=%x cr4=%x efer=%x rflags=%x\n", who, st->entry,
	   st->boot_reg, st->sp, st->cr0, st->cr3, st->cr4, st->efer, st->rflags);
	pr("info %s: cs=%x ds=%x es=%x ss=%x tr=%x gdt=%x limit=%x\n", who, st->cs, st->ds, st->es, st->ss,
	   st->tr, st->gdt_base, st->gdt_limit);
}
