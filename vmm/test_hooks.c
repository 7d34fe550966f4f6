/* Compiled to nothing unless EMBER_TEST_HOOKS is defined (see the header). */
#include "vmm/test_hooks.h"

#ifdef EMBER_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"

static const char *forbidden; /* thread kind name, or "vcpu-exec-mmap" */
static const char *open_path;
static bool seccomp_log;

int test_hooks_parse(int argc, char *const argv[], int *i)
{
	const char *arg = argv[*i];

	if (!strcmp(arg, "--test-seccomp-log")) {
		seccomp_log = true;
		return 1;
	}
	if (strcmp(arg, "--test-forbidden-syscall") && strcmp(arg, "--test-open"))
		return 0;
	if (*i + 1 >= argc)
		return err_set(-EINVAL, "%s needs a value", arg);
	if (!strcmp(arg, "--test-open")) {
		open_path = argv[++*i];
		return 1;
	}
	forbidden = argv[++*i];
	if (strcmp(forbidden, "vcpu") && strcmp(forbidden, "vmm") && strcmp(forbidden, "api") &&
	    strcmp(forbidden, "vcpu-exec-mmap"))
		return err_set(-EINVAL, "--test-forbidden-syscall: one of vcpu, vmm, api, vcpu-exec-mmap");
	return 1;
}

bool test_hooks_seccomp_log(void)
{
	/* The environment too, so whole integration scripts can run so. */
	return seccomp_log || getenv("EMBER_TEST_SECCOMP_LOG");
}

void test_hooks_after_sandbox(enum seccomp_thread t)
{
	const char *kind = seccomp_thread_name(t);

	if (t == SECCOMP_THREAD_VMM && open_path) {
		int fd = open(open_path, O_RDONLY | O_CLOEXEC);

		fprintf(stderr, "ember: test-open %s: %s\n", open_path, fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (!forbidden)
		return;
	if (t == SECCOMP_THREAD_VCPU && !strcmp(forbidden, "vcpu-exec-mmap")) {
		fprintf(stderr, "ember: test: an executable mapping on the vcpu thread\n");
		/* The raw call: this is the forbidden request itself, not memory
		 * ember means to use. */
		long p = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		fprintf(stderr, "ember: test: the executable mapping returned %#lx: the filter let it through\n", p);
		return;
	}
	if (strcmp(forbidden, kind))
		return;
	/* An internet socket: no ember thread has a reason to open one. */
	fprintf(stderr, "ember: test: socket(AF_INET) on the %s thread\n", kind);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fprintf(stderr, "ember: test: socket(AF_INET) returned %d: the filter let it through\n", fd);
	if (fd >= 0)
		close(fd);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int test_hooks_unused;
#endif
