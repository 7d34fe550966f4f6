/* What each ember thread may ask of the kernel once the guest runs: one
 * allow-list per thread kind, as data, so the filters, `--print-seccomp`
 * and the README all come from the same table.
 *
 * The main thread's list is installed first, before any input is parsed,
 * and every thread inherits it; each thread then stacks its own, stricter
 * list before it touches the guest. A syscall must pass every list on the
 * thread, so the main list is a superset of the others. */
#ifndef EMBER_SECCOMP_POLICY_H
#define EMBER_SECCOMP_POLICY_H

#include <stdbool.h>
#include <stdint.h>

enum seccomp_thread {
	SECCOMP_THREAD_MAIN, /* set-up: config, API-driven configuration, VM build */
	SECCOMP_THREAD_VMM,  /* the main thread once the guest runs: the device event loop */
	SECCOMP_THREAD_VCPU, /* one per vCPU: KVM_RUN and device register access */
	SECCOMP_THREAD_API,  /* libmicrohttpd's thread on the API socket */
	SECCOMP_THREADS
};

/* How a rule's arguments are restricted at level 2 (level 1 ignores it). */
enum seccomp_arg {
	SECCOMP_ARG_ANY,
	SECCOMP_ARG_IOCTL_VCPU,  /* arg1 one of the vCPU thread's KVM requests */
	SECCOMP_ARG_IOCTL_VMM,   /* arg1 one of the event loop's KVM/terminal requests */
	SECCOMP_ARG_IOCTL_API,   /* arg1 one of the socket requests libmicrohttpd makes */
	SECCOMP_ARG_IOCTL_SETUP, /* arg1 a KVM (0xAE) or TUN/terminal ('T') request */
	SECCOMP_ARG_NO_EXEC,     /* mmap/mprotect: arg2 without PROT_EXEC */
	SECCOMP_ARG_THREAD,      /* clone: arg0 has CLONE_THREAD (threads, never processes) */
	SECCOMP_ARG_UNIX_SOCKET, /* socket: arg0 == AF_UNIX */
	SECCOMP_ARG_ENOSYS,      /* not allowed but answered ENOSYS, so glibc falls back */
	SECCOMP_ARG_PRCTL_NAME,  /* prctl: arg0 PR_GET_NAME or PR_SET_NAME only */
};

struct seccomp_rule {
	const char *syscall;
	enum seccomp_arg arg;
	const char *why;
};

struct seccomp_ioctl {
	unsigned long request;
	const char *name;
};

const char *seccomp_thread_name(enum seccomp_thread t);
/* What the thread does, for --print-seccomp and the README. */
const char *seccomp_thread_role(enum seccomp_thread t);
/* The allow-list of a thread kind; *n gets its length. */
const struct seccomp_rule *seccomp_policy_rules(enum seccomp_thread t, unsigned *n);
/* The ioctl requests an ARG_IOCTL_VCPU/VMM/API rule allows; NULL otherwise. */
const struct seccomp_ioctl *seccomp_policy_ioctls(enum seccomp_arg a, unsigned *n);
/* The rule for `syscall` on thread kind t, or NULL. */
const struct seccomp_rule *seccomp_policy_find(enum seccomp_thread t, const char *syscall);

#endif
