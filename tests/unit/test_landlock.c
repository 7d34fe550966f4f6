/* Landlock on the real kernel (forked children, since a restriction can
 * never be lifted) and the list of paths a running VM keeps. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/landlock.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/vm_spec.h"

struct dirs {
	char root[64];   /* a temp dir: the VM's writable directory */
	char outside[PATH_MAX]; /* a file the rules do not name */
	char ro[PATH_MAX];      /* a file allowed read-only */
};

static int setup(void **state)
{
	static struct dirs d;
	FILE *f;

	strcpy(d.root, "/tmp/ember-landlock.XXXXXX");
	if (!mkdtemp(d.root))
		return -1;
	snprintf(d.outside, sizeof(d.outside), "%s.outside", d.root);
	snprintf(d.ro, sizeof(d.ro), "%s.ro", d.root);
	if (!(f = fopen(d.outside, "w")) || fclose(f) || !(f = fopen(d.ro, "w")) || fclose(f))
		return -1;
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/snap", d->root);
	unlink(p);
	rmdir(d->root);
	unlink(d->outside);
	unlink(d->ro);
	return 0;
}

static bool landlock_here(void)
{
	int v = landlock_abi_version();

	if (v < 0)
		fprintf(stderr, "landlock: not in this kernel (%s): skipped\n", strerror(-v));
	return v > 0;
}

/* Each probe in the restricted child; the exit code is 0 or the errno. */
static int child_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void test_restrict_allows_exactly_the_rules(void **state)
{
	struct dirs *d = *state;
	char inside[PATH_MAX];
	pid_t pid;
	int status;

	if (!landlock_here())
		skip();
	snprintf(inside, sizeof(inside), "%s/snap", d->root);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct landlock_path rules[] = { { d->root, LANDLOCK_DIR_FILES }, { d->ro, LANDLOCK_READ } };

		if (landlock_restrict(rules, 2))
			_exit(100);
		if (child_open(inside, O_WRONLY | O_CREAT) || child_open(inside, O_RDONLY) || unlink(inside))
			_exit(101);
		if (child_open(d->ro, O_RDONLY))
			_exit(102);
		if (child_open(d->ro, O_WRONLY) != EACCES)
			_exit(103);
		if (child_open(d->outside, O_RDONLY) != EACCES || child_open("/etc/passwd", O_RDONLY) != EACCES)
			_exit(104);
		/* No directory may be made, even where files may. */
		snprintf(inside, sizeof(inside), "%s/dir", d->root);
		if (mkdir(inside, 0700) == 0 || errno != EACCES)
			_exit(105);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_no_rules_means_no_files(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (!landlock_here())
		skip();
	pid = fork();
	if (pid == 0)
		_exit(landlock_restrict(NULL, 0) ? 100 : child_open("/dev/null", O_RDONLY));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), EACCES);
}

/* From ABI 4 on, TCP is handled too, with no rule granting it: a
 * restricted thread can neither bind nor connect a TCP socket (a thread
 * that got past seccomp, say through an io_uring worker, reaches no
 * network). Before ABI 4 the kernel has no such right: skipped. */
static int child_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return 110;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EACCES)
		ret = 111;
	a.sin_port = htons(9);
	if (!ret && (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EACCES))
		ret = 112;
	close(s);
	return ret;
}

static void test_no_tcp_from_abi_4(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (!landlock_here())
		skip();
	if (landlock_abi_version() < 4) {
		fprintf(stderr, "landlock: ABI %d has no network rights: skipped\n", landlock_abi_version());
		skip();
	}
	/* Unrestricted, the same probe binds and is refused by nobody. */
	pid = fork();
	if (pid == 0)
		_exit(child_tcp());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 111);
	pid = fork();
	if (pid == 0)
		_exit(landlock_restrict(NULL, 0) ? 100 : child_tcp());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_rules_are_refused_with_the_path(void **state)
{
	struct dirs *d = *state;
	struct landlock_path missing = { "/nonexistent/ember", LANDLOCK_READ };
	struct landlock_path not_dir = { d->ro, LANDLOCK_DIR_FILES };
	pid_t pid;
	int status;

	if (!landlock_here())
		skip();
	/* In a child: a refused rule set must not be half applied here. */
	pid = fork();
	if (pid == 0) {
		if (landlock_restrict(&missing, 1) != -ENOENT || !strstr(err_last(), "/nonexistent/ember"))
			_exit(1);
		if (landlock_restrict(&not_dir, 1) != -ENOTDIR || !strstr(err_last(), "not a directory"))
			_exit(2);
		/* Nothing was enforced by the failures. */
		_exit(child_open("/etc/passwd", O_RDONLY) ? 3 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_dir_remove_only_removes(void **state)
{
	struct dirs *d = *state;
	char sock[PATH_MAX], other[PATH_MAX];
	pid_t pid;
	int status;
	FILE *f;

	if (!landlock_here())
		skip();
	snprintf(sock, sizeof(sock), "%s/api.sock", d->root);
	snprintf(other, sizeof(other), "%s/new", d->root);
	assert_non_null(f = fopen(sock, "w"));
	fclose(f);
	pid = fork();
	if (pid == 0) {
		struct landlock_path rule = { d->root, LANDLOCK_DIR_REMOVE };

		if (landlock_restrict(&rule, 1))
			_exit(100);
		if (child_open(sock, O_RDONLY) != EACCES || child_open(other, O_WRONLY | O_CREAT) != EACCES)
			_exit(101);
		_exit(unlink(sock) ? 102 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(sock, F_OK), -1);
}

static bool has_path(const struct sandbox_paths *p, const char *path, unsigned access)
{
	for (unsigned i = 0; i < p->n; i++)
		if (!strcmp(p->path[i].path, path))
			return p->path[i].access == access;
	return false;
}

static void test_vm_paths(void **state)
{
	static struct vm_spec spec;
	static struct sandbox_paths p;
	struct sandbox_config cfg = { .snapshot_dir = "/srv/snaps", .api_sock = "/run/ember/api.sock" };
	char cwd[PATH_MAX];

	(void)state;
	vm_spec_init(&spec);
	spec.nr_drives = 2;
	strcpy(spec.drives[0].path_on_host, "/img/root.ext4");
	strcpy(spec.drives[1].path_on_host, "/img/data.raw");
	spec.drives[1].is_read_only = true;
	spec.logger.present = true;
	strcpy(spec.logger.log_path, "/var/log/ember.log");
	spec.vsock.present = true;
	strcpy(spec.vsock.uds_path, "/run/vsock/v.sock");
	assert_int_equal(sandbox_vm_paths(&spec, &cfg, &p), 0);
	assert_int_equal(p.n, 7);
	assert_true(has_path(&p, "/srv/snaps", LANDLOCK_DIR_FILES));
	assert_true(has_path(&p, "/run/ember", LANDLOCK_DIR_REMOVE));
	assert_true(has_path(&p, "/run/vsock", LANDLOCK_DIR_REMOVE));
	assert_true(has_path(&p, "/img/root.ext4", LANDLOCK_READ | LANDLOCK_WRITE));
	assert_true(has_path(&p, "/img/data.raw", LANDLOCK_READ));
	assert_true(has_path(&p, "/var/log/ember.log", LANDLOCK_WRITE));
	assert_true(has_path(&p, "/proc/self/pagemap", LANDLOCK_READ));

	/* Defaults: the working directory for snapshots, no API socket. */
	cfg = (struct sandbox_config){ 0 };
	spec.nr_drives = 0;
	spec.logger.present = false;
	spec.vsock.present = false;
	spec.metrics.present = true;
	strcpy(spec.metrics.metrics_path, "/m.fifo");
	assert_int_equal(sandbox_vm_paths(&spec, &cfg, &p), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(p.n, 3);
	assert_true(has_path(&p, cwd, LANDLOCK_DIR_FILES));
	assert_true(has_path(&p, "/m.fifo", LANDLOCK_WRITE));

	/* A --snapshot-dir longer than a path is refused, not cut short. */
	static char longdir[5000];

	memset(longdir, 'a', sizeof(longdir) - 1);
	cfg.snapshot_dir = longdir;
	assert_int_equal(sandbox_vm_paths(&spec, &cfg, &p), -ENAMETOOLONG);
	assert_non_null(strstr(err_last(), "--snapshot-dir"));
}

static void test_sandbox_off_until_configured(void **state)
{
	(void)state;
	/* Unit tests build VMs in-process: nothing may be filtered there. */
	assert_false(sandbox_enabled());
	assert_int_equal(sandbox_enter_vcpu(), 0);
	assert_int_equal(sandbox_enter_api(), 0);
	assert_int_equal(child_open("/etc/passwd", O_RDONLY), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_off_until_configured),
		cmocka_unit_test(test_restrict_allows_exactly_the_rules),
		cmocka_unit_test(test_no_rules_means_no_files),
		cmocka_unit_test(test_no_tcp_from_abi_4),
		cmocka_unit_test(test_dir_remove_only_removes),
		cmocka_unit_test(test_bad_rules_are_refused_with_the_path),
		cmocka_unit_test(test_vm_paths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
