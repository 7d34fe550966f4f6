/* The seccomp programs `ember-seccomp-gen` compiles into the ember binary
 * at build time (Firecracker does the same with its seccompiler), so a
 * thread loads its filter with one system call. Only ember links them:
 * elsewhere (unit tests, tools) the table is absent and filters are built
 * with libseccomp at run time. */
#ifndef EMBER_SECCOMP_PREBUILT_H
#define EMBER_SECCOMP_PREBUILT_H

#include <linux/filter.h>
#include <stdbool.h>

#include "vmm/seccomp_policy.h"

struct seccomp_prebuilt {
	enum seccomp_thread thread;
	int level;
	const struct sock_filter *prog;
	unsigned len;
};

/* Defined in the generated file, if linked. */
extern const struct seccomp_prebuilt seccomp_prebuilt_table[] __attribute__((weak));
extern const unsigned seccomp_prebuilt_count __attribute__((weak));

/* The built-in program of kind t at `level`, if ember has one. */
bool seccomp_prebuilt_find(enum seccomp_thread t, int level, const struct sock_filter **prog, unsigned *len);

#endif
