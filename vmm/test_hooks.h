/* Triggers that only test builds (-DEMBER_TEST_HOOKS, `make testhooks`)
 * compile in: they let the integration suite prove the sandbox from inside
 * a running ember. Release builds get empty inlines and no CLI flags. */
#ifndef EMBER_TEST_HOOKS_H
#define EMBER_TEST_HOOKS_H

#include <stdbool.h>

#include "vmm/seccomp_policy.h"

#ifdef EMBER_TEST_HOOKS
/* --test-forbidden-syscall vcpu|vmm|api|vcpu-exec-mmap and --test-open
 * PATH; returns 1 when `arg` was one of them (value taken), 0 when not,
 * negative on a bad value. */
int test_hooks_parse(int argc, char *const argv[], int *i);
/* Log instead of kill (--test-seccomp-log): finds what a list lacks. */
bool test_hooks_seccomp_log(void);
/* Called by each thread kind once its sandbox is in place: a configured
 * forbidden call for this kind is made here. */
void test_hooks_after_sandbox(enum seccomp_thread t);
#else
static inline bool test_hooks_seccomp_log(void)
{
	return false;
}
static inline void test_hooks_after_sandbox(enum seccomp_thread t)
{
	(void)t;
}
#endif

#endif
