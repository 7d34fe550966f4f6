/* VM exits counted by where they happened: I/O port, or the 4 KiB page of
 * an MMIO address. Exits by reason say how many; this says which device to
 * look at to cut them (--print-exit-stats). One table per vCPU, so counting
 * takes no lock; tables are merged when the VM stops. */
#ifndef EMBER_EXIT_SITES_H
#define EMBER_EXIT_SITES_H

#include <stddef.h>
#include <stdint.h>

/* A boot touches a dozen sites; the rest are summed in 'other'. */
#define EXIT_SITES_MAX 32

enum exit_site_kind { EXIT_SITE_IO = 1, EXIT_SITE_MMIO = 2 };

struct exit_site {
	uint64_t addr;
	uint64_t count;
	uint8_t kind; /* 0: free slot */
};

struct exit_sites {
	struct exit_site slot[EXIT_SITES_MAX];
	uint64_t other;
};

void exit_sites_count(struct exit_sites *sites, enum exit_site_kind kind, uint64_t addr);
void exit_sites_merge(struct exit_sites *dst, const struct exit_sites *src);
/* "io:0x3f8=40000 mmio:0xd0000000=12 other=3", the TOP busiest sites
 * first. Returns the length snprintf would have written. */
int exit_sites_format(const struct exit_sites *sites, unsigned top, char *buf, size_t size);

#endif
