/* The per-thread seccomp lists: their construction, their shape (the main
 * list covers the others, nothing dangerous is on any), and the filters
 * themselves, installed in forked children on the real kernel. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/file.h"
#include "vmm/seccomp_filter.h"
#include "vmm/seccomp_policy.h"
#include "vmm/seccomp_prebuilt.h"

/* Valgrind runs the client's syscalls itself, and a filter would stop
 * valgrind's own: the child tests need the bare kernel. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

static void test_every_list_builds_at_both_levels(void **state)
{
	(void)state;
	/* libseccomp probes the kernel's seccomp() first, which valgrind
	 * does not pass through. */
	if (under_valgrind())
		skip();
	for (int t = 0; t < SECCOMP_THREADS; t++)
		for (int level = SECCOMP_LEVEL_SYSCALLS; level <= SECCOMP_LEVEL_ARGS; level++) {
			scmp_filter_ctx ctx = NULL;

			assert_int_equal(seccomp_filter_build((enum seccomp_thread)t, level, SCMP_ACT_KILL_PROCESS, &ctx), 0);
			assert_non_null(ctx);
			seccomp_release(ctx);
		}
}

static void test_build_refuses_bad_kind_and_level(void **state)
{
	scmp_filter_ctx ctx = NULL;

	(void)state;
	assert_int_equal(seccomp_filter_build(SECCOMP_THREADS, 2, SCMP_ACT_KILL_PROCESS, &ctx), -EINVAL);
	assert_int_equal(seccomp_filter_build(SECCOMP_THREAD_VCPU, 0, SCMP_ACT_KILL_PROCESS, &ctx), -EINVAL);
	assert_int_equal(seccomp_filter_build(SECCOMP_THREAD_VCPU, 3, SCMP_ACT_KILL_PROCESS, &ctx), -EINVAL);
	assert_null(ctx);
	/* Level 0 installs nothing, in this very process. */
	assert_int_equal(seccomp_filter_install(SECCOMP_THREAD_VCPU, SECCOMP_LEVEL_OFF), 0);
}

/* Whether main's condition for a syscall lets through all that `r` does. */
static bool covers(const struct seccomp_rule *main_rule, const struct seccomp_rule *r)
{
	unsigned n;
	const struct seccomp_ioctl *io;

	if (main_rule->arg == SECCOMP_ARG_ANY || main_rule->arg == r->arg)
		return true;
	if (main_rule->arg != SECCOMP_ARG_IOCTL_SETUP)
		return false;
	io = seccomp_policy_ioctls(r->arg, &n);
	for (unsigned i = 0; i < n; i++) {
		unsigned type = (io[i].request >> 8) & 0xff;

		if (type != 0xAE && type != 'T')
			return false;
	}
	return io != NULL;
}

static void test_main_list_covers_every_thread(void **state)
{
	(void)state;
	for (int t = SECCOMP_THREAD_VMM; t < SECCOMP_THREADS; t++) {
		unsigned n;
		const struct seccomp_rule *r = seccomp_policy_rules((enum seccomp_thread)t, &n);

		assert_true(n > 10);
		for (unsigned i = 0; i < n; i++) {
			const struct seccomp_rule *m = seccomp_policy_find(SECCOMP_THREAD_MAIN, r[i].syscall);

			if (!m || !covers(m, &r[i]))
				fail_msg("%s thread allows %s, which the main list (inherited) %s", seccomp_thread_name(t),
					 r[i].syscall, m ? "narrows" : "lacks");
			assert_non_null(r[i].why);
			assert_true(strlen(r[i].why) > 8);
		}
	}
}

static void test_no_list_allows_escape_hatches(void **state)
{
	static const char *const never[] = { "execve", "execveat", "ptrace", "mount", "umount2", "pivot_root",
					     "chroot", "init_module", "finit_module", "kexec_load", "bpf",
					     "setuid", "setgid", "setns", "unshare", "process_vm_writev",
					     "process_vm_readv", "personality", "keyctl", "fork", "vfork",
					     "pkey_mprotect", "perf_event_open", "userfaultfd", "io_uring_register" };

	(void)state;
	for (int t = 0; t < SECCOMP_THREADS; t++)
		for (unsigned i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
			const struct seccomp_rule *r = seccomp_policy_find((enum seccomp_thread)t, never[i]);

			/* io_uring_register is set-up only (registering the ring). */
			if (t == SECCOMP_THREAD_MAIN && !strcmp(never[i], "io_uring_register"))
				continue;
			if (r)
				fail_msg("the %s list allows %s", seccomp_thread_name(t), never[i]);
		}
	/* Only set-up may create threads, stack filters or restrict files. */
	assert_null(seccomp_policy_find(SECCOMP_THREAD_VCPU, "clone"));
	assert_null(seccomp_policy_find(SECCOMP_THREAD_VMM, "clone"));
	assert_null(seccomp_policy_find(SECCOMP_THREAD_VCPU, "openat"));
	assert_null(seccomp_policy_find(SECCOMP_THREAD_VCPU, "socket"));
	assert_null(seccomp_policy_find(SECCOMP_THREAD_API, "openat"));
	for (int t = SECCOMP_THREAD_VMM; t < SECCOMP_THREADS; t++)
		assert_null(seccomp_policy_find((enum seccomp_thread)t, "seccomp"));
}

static bool ioctl_listed(enum seccomp_arg a, unsigned long req)
{
	unsigned n;
	const struct seccomp_ioctl *io = seccomp_policy_ioctls(a, &n);

	for (unsigned i = 0; i < n; i++)
		if (io[i].request == req)
			return true;
	return false;
}

static void test_ioctl_lists(void **state)
{
	(void)state;
	assert_int_equal(seccomp_policy_find(SECCOMP_THREAD_VCPU, "ioctl")->arg, SECCOMP_ARG_IOCTL_VCPU);
	assert_int_equal(seccomp_policy_find(SECCOMP_THREAD_VMM, "ioctl")->arg, SECCOMP_ARG_IOCTL_VMM);
	assert_true(ioctl_listed(SECCOMP_ARG_IOCTL_VCPU, KVM_RUN));
	assert_true(ioctl_listed(SECCOMP_ARG_IOCTL_VCPU, KVM_IRQ_LINE));
	/* Building or reshaping the VM is set-up's business. */
	assert_false(ioctl_listed(SECCOMP_ARG_IOCTL_VCPU, KVM_CREATE_VM));
	assert_false(ioctl_listed(SECCOMP_ARG_IOCTL_VCPU, KVM_SET_USER_MEMORY_REGION));
	assert_false(ioctl_listed(SECCOMP_ARG_IOCTL_VMM, KVM_RUN));
	assert_false(ioctl_listed(SECCOMP_ARG_IOCTL_VMM, KVM_SET_USER_MEMORY_REGION));
	assert_false(ioctl_listed(SECCOMP_ARG_IOCTL_VMM, KVM_CREATE_VCPU));
	assert_true(ioctl_listed(SECCOMP_ARG_IOCTL_VMM, KVM_GET_DIRTY_LOG));
	assert_null(seccomp_policy_ioctls(SECCOMP_ARG_ANY, &(unsigned){ 0 }));
}

static void test_print_lists_every_rule(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned n;
	const struct seccomp_rule *r = seccomp_policy_rules(SECCOMP_THREAD_VCPU, &n);

	(void)state;
	assert_int_equal(seccomp_filter_print(f, SECCOMP_THREAD_VCPU, SECCOMP_LEVEL_ARGS), 0);
	fclose(f);
	for (unsigned i = 0; i < n; i++)
		assert_non_null(strstr(text, r[i].syscall));
	assert_non_null(strstr(text, "request KVM_RUN,KVM_IRQ_LINE"));
	assert_non_null(strstr(text, "prot without PROT_EXEC"));
	assert_non_null(strstr(text, "kills the process"));
	free(text);

	f = open_memstream(&text, &len);
	assert_int_equal(seccomp_filter_print(f, SECCOMP_THREAD_VCPU, SECCOMP_LEVEL_SYSCALLS), 0);
	fclose(f);
	assert_null(strstr(text, "request KVM_RUN"));
	free(text);

	f = open_memstream(&text, &len);
	assert_int_equal(seccomp_filter_print(f, SECCOMP_THREAD_VCPU, SECCOMP_LEVEL_OFF), 0);
	fclose(f);
	assert_non_null(strstr(text, "no filter"));
	free(text);
	assert_int_equal(seccomp_filter_print(stdout, SECCOMP_THREADS, 2), -EINVAL);
}

/* ---- the filters on the real kernel, one forked child each ---------------- */

enum probe {
	PROBE_GETPID,
	PROBE_SOCKET_INET,
	PROBE_SOCKET_UNIX,
	PROBE_IOCTL_KVM_RUN,
	PROBE_IOCTL_CREATE_VM,
	PROBE_MMAP_EXEC,
	PROBE_MMAP_RW,
	PROBE_MPROTECT_EXEC,
	PROBE_FORK,
	PROBE_CLONE3,
	PROBE_OPENAT,
	PROBE_FILE_SAME,
};

/* 0 when the call came back (whatever it returned), else the signal that
 * ended the child. ENOSYS from clone3 comes back as exit code 38. */
static int run_probe(enum seccomp_thread t, int level, enum probe p)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		long r = 0;

		if (seccomp_filter_install(t, level))
			_exit(100);
		switch (p) {
		case PROBE_GETPID:
			r = syscall(SYS_getpid);
			break;
		case PROBE_SOCKET_INET:
			r = socket(AF_INET, SOCK_STREAM, 0);
			break;
		case PROBE_SOCKET_UNIX:
			r = socket(AF_UNIX, SOCK_STREAM, 0);
			break;
		case PROBE_IOCTL_KVM_RUN:
			r = ioctl(fd, KVM_RUN, 0); /* /dev/null: ENOTTY, if it gets there */
			break;
		case PROBE_IOCTL_CREATE_VM:
			r = ioctl(fd, KVM_CREATE_VM, 0);
			break;
		case PROBE_MMAP_EXEC:
			r = (long)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case PROBE_MMAP_RW:
			r = (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case PROBE_MPROTECT_EXEC: {
			void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			r = mprotect(m, 4096, PROT_READ | PROT_EXEC);
			break;
		}
		case PROBE_FORK:
			r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
			if (r == 0)
				_exit(0);
			break;
		case PROBE_CLONE3:
			r = syscall(SYS_clone3, NULL, 0);
			_exit(r < 0 && errno == ENOSYS ? 38 : 0);
		case PROBE_OPENAT:
			r = open("/dev/null", O_RDONLY);
			break;
		case PROBE_FILE_SAME: /* what a snapshot create checks its two paths with */
			r = file_same("ember-none.snap", "./ember-none.mem");
			break;
		}
		(void)r;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status) == 38 ? -ENOSYS : 0;
}

static void test_vcpu_filter_on_the_kernel(void **state)
{
	(void)state;
	if (under_valgrind())
		skip();
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_GETPID), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_IOCTL_KVM_RUN), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_MMAP_RW), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_SOCKET_INET), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_SOCKET_UNIX), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_IOCTL_CREATE_VM), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_MMAP_EXEC), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_MPROTECT_EXEC), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 2, PROBE_OPENAT), SIGSYS);
	/* Level 1 checks numbers only: the wrong ioctl and PROT_EXEC pass. */
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 1, PROBE_IOCTL_CREATE_VM), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 1, PROBE_MMAP_EXEC), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VCPU, 1, PROBE_SOCKET_INET), SIGSYS);
}

static void test_vmm_and_main_filters_on_the_kernel(void **state)
{
	(void)state;
	if (under_valgrind())
		skip();
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_SOCKET_UNIX), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_SOCKET_INET), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_IOCTL_KVM_RUN), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_FORK), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_OPENAT), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_VMM, 2, PROBE_FILE_SAME), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_API, 2, PROBE_OPENAT), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_API, 2, PROBE_SOCKET_UNIX), SIGSYS);
	/* Set-up may make threads but never processes; clone3 is turned away
	 * with ENOSYS so glibc falls back to the clone the filter can read. */
	assert_int_equal(run_probe(SECCOMP_THREAD_MAIN, 2, PROBE_FORK), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_MAIN, 2, PROBE_CLONE3), -ENOSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_MAIN, 2, PROBE_IOCTL_CREATE_VM), 0);
	assert_int_equal(run_probe(SECCOMP_THREAD_MAIN, 2, PROBE_MMAP_EXEC), SIGSYS);
	assert_int_equal(run_probe(SECCOMP_THREAD_MAIN, 2, PROBE_SOCKET_INET), SIGSYS);
}

/* The path ember itself takes: the program exported (what ember-seccomp-gen
 * compiles in) and loaded with one seccomp() call behaves as the filter. */
static void test_exported_program_on_the_kernel(void **state)
{
	const struct sock_filter *none;
	struct sock_filter *prog;
	unsigned len, none_len;
	int status;
	pid_t pid;

	(void)state;
	/* Unit tests link no built-in table: filters come from libseccomp. */
	assert_false(seccomp_prebuilt_find(SECCOMP_THREAD_VCPU, 2, &none, &none_len));
	if (under_valgrind())
		skip();
	assert_int_equal(seccomp_filter_export(SECCOMP_THREAD_VCPU, 2, &prog, &len), 0);
	assert_true(len > 20 && len < 4096);
	assert_int_equal(seccomp_filter_load_bpf(prog, 0), -EINVAL);
	for (int round = 0; round < 2; round++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (seccomp_filter_load_bpf(prog, len))
				_exit(100);
			(void)syscall(SYS_getpid);
			if (round == 1)
				(void)socket(AF_INET, SOCK_STREAM, 0);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (round == 0)
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		else
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	}
	free(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_list_builds_at_both_levels),
		cmocka_unit_test(test_build_refuses_bad_kind_and_level),
		cmocka_unit_test(test_main_list_covers_every_thread),
		cmocka_unit_test(test_no_list_allows_escape_hatches),
		cmocka_unit_test(test_ioctl_lists),
		cmocka_unit_test(test_print_lists_every_rule),
		cmocka_unit_test(test_vcpu_filter_on_the_kernel),
		cmocka_unit_test(test_vmm_and_main_filters_on_the_kernel),
		cmocka_unit_test(test_exported_program_on_the_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
