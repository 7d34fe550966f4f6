/* Turns a thread kind's allow-list (vmm/seccomp_policy.h) into a libseccomp
 * filter, installs it on the calling thread, or prints it. */
#ifndef EMBER_SECCOMP_FILTER_H
#define EMBER_SECCOMP_FILTER_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/seccomp_policy.h"

/* --seccomp-level, as Firecracker had it: 0 none, 1 syscall numbers only,
 * 2 numbers and the argument checks of the policy (the default). */
enum seccomp_level { SECCOMP_LEVEL_OFF = 0, SECCOMP_LEVEL_SYSCALLS = 1, SECCOMP_LEVEL_ARGS = 2 };

/* A filter for kind t at `level` (1 or 2) whose default is `default_action`
 * (SCMP_ACT_KILL_PROCESS in ember). The caller seccomp_release()s it. */
int seccomp_filter_build(enum seccomp_thread t, int level, uint32_t default_action, scmp_filter_ctx *out);
/* Builds and loads kind t's filter on the calling thread only; level 0
 * does nothing. After this the thread can never drop it. */
int seccomp_filter_install(enum seccomp_thread t, int level);
/* The kernel program of kind t at `level` (default action kill): what
 * `ember-seccomp-gen` compiles into ember so that no thread has to run
 * libseccomp at start-up. *out is malloc'ed; *len counts instructions. */
int seccomp_filter_export(enum seccomp_thread t, int level, struct sock_filter **out, unsigned *len);
/* Loads a ready program on the calling thread (no_new_privs first). */
int seccomp_filter_load_bpf(const struct sock_filter *prog, unsigned len);

/* Test builds only: log instead of kill, to find what a list lacks. */
void seccomp_filter_set_default_action(uint32_t action);
/* The rules of kind t at `level` as text, one syscall a line with its
 * argument condition and why it is there. */
int seccomp_filter_print(FILE *out, enum seccomp_thread t, int level);
/* libseccomp's pseudo filter code for kind t (what the kernel will run). */
int seccomp_filter_print_pfc(FILE *out, enum seccomp_thread t, int level);

#endif
