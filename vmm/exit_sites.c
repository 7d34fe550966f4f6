#include "exit_sites.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void exit_sites_add(struct exit_sites *sites, uint8_t kind, uint64_t addr, uint64_t n)
{
	for (unsigned i = 0; i < EXIT_SITES_MAX; i++) {
		struct exit_site *s = &sites->slot[i];

		if (s->kind == kind && s->addr == addr) {
			s->count += n;
			return;
		}
		if (!s->kind) {
			*s = (struct exit_site){ .addr = addr, .count = n, .kind = kind };
			return;
		}
	}
	sites->other += n;
}

void exit_sites_count(struct exit_sites *sites, enum exit_site_kind kind, uint64_t addr)
{
	if (kind == EXIT_SITE_MMIO)
		addr &= ~UINT64_C(0xfff);
	exit_sites_add(sites, (uint8_t)kind, addr, 1);
}

void exit_sites_merge(struct exit_sites *dst, const struct exit_sites *src)
{
	for (unsigned i = 0; i < EXIT_SITES_MAX && src->slot[i].kind; i++)
		exit_sites_add(dst, src->slot[i].kind, src->slot[i].addr, src->slot[i].count);
	dst->other += src->other;
}

/* snprintf at buf+*len that keeps counting past a full buffer. */
static void append(char *buf, size_t size, int *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, int *len, const char *fmt, ...)
{
	size_t off = (size_t)*len < size ? (size_t)*len : size;
	va_list ap;

	va_start(ap, fmt);
	*len += vsnprintf(buf + off, size - off, fmt, ap);
	va_end(ap);
}

int exit_sites_format(const struct exit_sites *sites, unsigned top, char *buf, size_t size)
{
	bool used[EXIT_SITES_MAX] = { false };
	uint64_t rest = sites->other;
	int len = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned n = 0; n < EXIT_SITES_MAX; n++) {
		int best = -1;

		for (unsigned i = 0; i < EXIT_SITES_MAX; i++)
			if (sites->slot[i].kind && !used[i] &&
			    (best < 0 || sites->slot[i].count > sites->slot[best].count))
				best = (int)i;
		if (best < 0)
			break;
		used[best] = true;
		if (n >= top) {
			rest += sites->slot[best].count;
			continue;
		}
		append(buf, size, &len, "%s%s:0x%" PRIx64 "=%" PRIu64, len ? " " : "",
		       sites->slot[best].kind == EXIT_SITE_IO ? "io" : "mmio", sites->slot[best].addr,
		       sites->slot[best].count);
	}
	if (rest)
		append(buf, size, &len, "%sother=%" PRIu64, len ? " " : "", rest);
	return len;
}
