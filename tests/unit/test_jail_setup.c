/* ember-jailer's set-up steps, run under a temporary directory: the busy
 * lock, directories, the cgroup files, device nodes, copying files in,
 * privilege dropping and pivot_root (in forked children). Steps that need
 * root are skipped, with a message, when not run as root. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/jail_fixture.h"
#include "vmm/jail.h"
#include "vmm/log.h"

#define SKIPPED_IN_CHILD 77

static bool need_root(const char *what)
{
	if (geteuid() == 0)
		return true;
	print_message("[  SKIP    ] %s needs root (run the unit tests as root to cover it)\n", what);
	return false;
}

static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
}

/* Runs fn(arg) in a forked child (steps that change the process for
 * good); returns its exit status, or -1 if it did not exit. */
static int in_child(int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_msg(int ret, int want, const char *needle)
{
	if (ret != want || !strstr(err_last(), needle))
		print_error("got %d '%s', want %d with '%s'\n", ret, err_last(), want, needle);
	assert_int_equal(ret, want);
	assert_non_null(strstr(err_last(), needle));
}

static int lock_in_child(const void *path)
{
	int fd;

	return jail_lock(path, &fd) == -EBUSY && strstr(err_last(), "is busy") ? 0 : 1;
}

static void test_lock_busy(void **state)
{
	char dir[PATH_MAX], lock[PATH_MAX + 16];
	int fd1, fd2;

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(lock, sizeof(lock), "%s/jail.lock", dir);
	assert_int_equal(jail_lock(lock, &fd1), 0);
	/* The lock must not leak into the jail through exec. */
	assert_true(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
	assert_msg(jail_lock(lock, &fd2), -EBUSY, "is busy: another ember-jailer holds");
	assert_non_null(strstr(err_last(), dir));
	/* Another process (a second jailer) sees it busy as well. */
	assert_int_equal(in_child(lock_in_child, lock), 0);
	close(fd1);
	assert_int_equal(jail_lock(lock, &fd2), 0);
	close(fd2);
	/* A link planted where the lock goes is not followed. */
	unlink(lock);
	assert_int_equal(symlink("/etc/passwd", lock), 0);
	assert_msg(jail_lock(lock, &fd2), -ELOOP, "opening lock file");
	jail_fixture_rm_rf(dir);
}

static void test_mkdirs(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct stat st;

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/a/b//c/", dir);
	umask(077);
	assert_int_equal(jail_mkdirs(path), 0);
	umask(022);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(jail_mkdirs(path), 0); /* existing is fine */
	snprintf(path, sizeof(path), "%s/a/file", dir);
	jail_fixture_write(path, "x", 0644);
	snprintf(path, sizeof(path), "%s/a/file/sub", dir);
	assert_msg(jail_mkdirs(path), -ENOTDIR, "exists and is not a directory");
	jail_fixture_rm_rf(dir);
}

static void make_fake_cgroup(const char *root, const char *sub)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s%s", root, sub);
	assert_int_equal(jail_mkdirs(path), 0);
	snprintf(path, sizeof(path), "%s%s/cgroup.subtree_control", root, sub);
	jail_fixture_write(path, "", 0644);
}

static void test_cgroup_setup(void **state)
{
	struct jail_options o;
	struct jail_paths p;
	char dir[PATH_MAX], path[PATH_MAX + 64], text[128];
	char *const argv[] = { "j", "--id", "vm-1", "--exec-file", "/b/ember", "--uid", "5", "--gid", "5",
			       "--parent-cgroup", "vms/ember", "--cgroup", "pids.max=64", "--cgroup",
			       "cpu.max=50000 100000", "--cgroup", "cpu.weight=50", "--cgroup", "memory.max=256M", NULL };

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	assert_int_equal(jail_parse_args(19, argv, &o), 0);
	assert_int_equal(jail_build_paths(&o, dir, &p), 0);
	/* A directory standing in for cgroupfs, whose files already exist. */
	make_fake_cgroup(dir, "");
	make_fake_cgroup(dir, "/vms");
	make_fake_cgroup(dir, "/vms/ember");
	make_fake_cgroup(dir, "/vms/ember/vm-1");
	for (const char *const *f = (const char *const[]){ "pids.max", "cpu.max", "cpu.weight", "memory.max",
							  "cgroup.procs", NULL };
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/vms/ember/vm-1/%s", dir, *f);
		jail_fixture_write(path, "", 0644);
	}
	assert_int_equal(jail_cgroup_setup(dir, &p, o.cgroups, o.n_cgroups), 0);
	/* Every level down to the parent hands each controller on, once. */
	for (const char *sub = "", *next; sub; sub = next) {
		snprintf(path, sizeof(path), "%s%s/cgroup.subtree_control", dir, sub);
		jail_fixture_read(path, text, sizeof(text));
		assert_string_equal(text, "+pids +cpu +memory");
		next = !*sub ? "/vms" : !strcmp(sub, "/vms") ? "/vms/ember" : NULL;
	}
	snprintf(path, sizeof(path), "%s/vms/ember/vm-1/cpu.max", dir);
	jail_fixture_read(path, text, sizeof(text));
	assert_string_equal(text, "50000 100000");
	snprintf(path, sizeof(path), "%s/vms/ember/vm-1/memory.max", dir);
	jail_fixture_read(path, text, sizeof(text));
	assert_string_equal(text, "256M");
	snprintf(path, sizeof(path), "%s/vms/ember/vm-1/cgroup.procs", dir);
	assert_int_equal(jail_cgroup_join(p.cgroup), 0);
	jail_fixture_read(path, text, sizeof(text));
	assert_string_equal(text, "0");
	/* cgroupfs has no file for an unknown key; neither does this one. */
	snprintf(path, sizeof(path), "%s/vms/ember/vm-1", dir);
	jail_fixture_rm_rf(path);
	assert_int_equal(jail_parse_cgroup("pids.maxx=1", &o.cgroups[0]), 0);
	assert_msg(jail_cgroup_setup(dir, &p, o.cgroups, 1), -ENOENT, "pids.maxx: No such file or directory");
	/* rmdir of a cgroup that is gone is fine; a busy one is reported. */
	assert_int_equal(jail_cgroup_remove(path), 0);
	assert_int_equal(jail_cgroup_remove(path), 0);
	snprintf(path, sizeof(path), "%s/vms", dir);
	assert_msg(jail_cgroup_remove(path), -ENOTEMPTY, "cgroup: rmdir");
	jail_fixture_rm_rf(dir);
}

static void test_cgroup_check_fs(void **state)
{
	char dir[PATH_MAX], line[512];
	FILE *mounts = fopen("/proc/self/mounts", "r");

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	assert_msg(jail_cgroup_check_fs(dir), -ENOTSUP, "is not a cgroup2 mount");
	assert_non_null(strstr(err_last(), "mount -t cgroup2 none"));
	assert_msg(jail_cgroup_check_fs("/nonexistent-cgroup"), -ENOENT, "/nonexistent-cgroup");
	/* Where this machine has a cgroup2 mount, it is accepted. */
	while (mounts && fgets(line, sizeof(line), mounts)) {
		char where[256], type[64];

		if (sscanf(line, "%*s %255s %63s", where, type) == 2 && !strcmp(type, "cgroup2")) {
			assert_int_equal(jail_cgroup_check_fs(where), 0);
			break;
		}
	}
	if (mounts)
		fclose(mounts);
	jail_fixture_rm_rf(dir);
}

static void assert_node(const char *root, const char *rel, unsigned maj, unsigned min, unsigned mode)
{
	char path[PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), maj);
	assert_int_equal(minor(st.st_rdev), min);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
}

static int count_entries(const char *dir)
{
	char cmd[PATH_MAX + 64], out[32];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof(out), f));
	pclose(f);
	return atoi(out);
}

static void test_make_devices(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	(void)state;
	if (!need_root("creating device nodes"))
		skip();
	jail_fixture_tmpdir(dir, sizeof(dir));
	umask(077);
	assert_int_equal(jail_make_devices(dir, 1234, 4321), 0);
	umask(022);
	assert_node(dir, "dev/kvm", 10, 232, 0660);
	assert_node(dir, "dev/net/tun", 10, 200, 0660);
	assert_node(dir, "dev/urandom", 1, 9, 0666);
	/* Only those: dev, dev/net and the three nodes. */
	assert_int_equal(count_entries(dir), 5);
	/* A second start replaces them, and what a VMM left in their place. */
	snprintf(path, sizeof(path), "%s/dev/kvm", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/dev/mem", path), 0);
	assert_int_equal(jail_make_devices(dir, 1234, 4321), 0);
	assert_node(dir, "dev/kvm", 10, 232, 0660);
	assert_int_equal(count_entries(dir), 5);
	/* A /dev/net the VMM made its own becomes root's again. */
	snprintf(path, sizeof(path), "%s/dev/net", dir);
	assert_int_equal(chown(path, 1234, 1234), 0);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(jail_make_devices(dir, 1234, 4321), 0);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_mode & 07777, 0755);
	}
	snprintf(path, sizeof(path), "%s/dev/urandom", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_msg(jail_make_devices(dir, 1234, 4321), -EISDIR, "a directory is in the way");
	jail_fixture_rm_rf(dir);
}

static void test_install_file(void **state)
{
	char dir[PATH_MAX], src[PATH_MAX + 32], root[PATH_MAX + 32], path[PATH_MAX + 128], outside[PATH_MAX + 32];
	char text[64];
	struct stat a, b;
	int fd;

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(src, sizeof(src), "%s/vmm", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	jail_fixture_write(src, "VMM BYTES", 0700);
	jail_fixture_write(outside, "HOST FILE", 0644);
	assert_int_equal(mkdir(root, 0755), 0);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(jail_install_file(fd, root, "ember", 0755), 0);
	snprintf(path, sizeof(path), "%s/ember", root);
	jail_fixture_read(path, text, sizeof(text));
	assert_string_equal(text, "VMM BYTES");
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_mode & 07777, 0755);
	/* Replaced, not written through: a link left there by the VMM. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(jail_install_file(fd, root, "ember", 0755), 0);
	assert_int_equal(lstat(path, &a), 0);
	assert_true(S_ISREG(a.st_mode));
	jail_fixture_read(outside, text, sizeof(text));
	assert_string_equal(text, "HOST FILE");
	/* The same file already there (a hard link) is left as it is. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(link(src, path), 0);
	assert_int_equal(jail_install_file(fd, root, "/ember", 0755), 0);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(stat(src, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_mode & 07777, 0700);
	/* A library path makes its directories. */
	assert_int_equal(jail_install_file(fd, root, "/lib/x86_64-linux-gnu/libx.so.1", 0755), 0);
	snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libx.so.1", root);
	jail_fixture_read(path, text, sizeof(text));
	assert_string_equal(text, "VMM BYTES");
	snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libx.so.1.jailer-tmp", root);
	assert_int_equal(access(path, F_OK), -1);
	/* A directory where the file goes is an error, with the path. */
	snprintf(path, sizeof(path), "%s/d", root);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_msg(jail_install_file(fd, root, "d", 0755), -EISDIR, "renaming");
	close(fd);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_msg(jail_install_file(fd, root, "x", 0755), -EINVAL, "not a regular file");
	close(fd);
	jail_fixture_rm_rf(dir);
}

static void test_own_root(void **state)
{
	char dir[PATH_MAX];
	struct stat st;

	(void)state;
	if (!need_root("chown of the jail's root"))
		skip();
	jail_fixture_tmpdir(dir, sizeof(dir));
	assert_int_equal(jail_own_root(dir, 1234, 4321), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	jail_fixture_rm_rf(dir);
}

/* In the child: the limits, then the drop, then what is left of root. */
static int drop_in_child(const void *arg)
{
	const struct jail_options *o = arg;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct rlimit rl;

	/* Inheritable and ambient capabilities survive setresuid: give the
	 * child some, the drop must clear them. */
	if (syscall(SYS_capget, &hdr, data))
		return 9;
	data[0].inheritable = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &hdr, data) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0))
		return 9;
	if (jail_set_rlimits(o) || jail_drop_privileges(o->uid, o->gid)) {
		fprintf(stderr, "drop_in_child: %s\n", err_last());
		return 10;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0) != 0)
		return 17;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur != o->nofile || rl.rlim_max != o->nofile)
		return 11;
	if (getrlimit(RLIMIT_FSIZE, &rl) || rl.rlim_cur != 1 << 20 || rl.rlim_max != 1 << 20)
		return 12;
	if (getuid() != 1234 || geteuid() != 1234 || getgid() != 4321 || getegid() != 4321)
		return 13;
	/* Preset: valgrind takes capget to fill only the first word. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) || data[0].effective || data[0].permitted || data[1].effective ||
	    data[1].permitted || data[0].inheritable)
		return 14;
	if (prctl(PR_CAPBSET_READ, 0, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 15;
	/* No way back. */
	if (setuid(0) == 0 || setresuid(0, 0, 0) == 0 || setgid(0) == 0 || setgroups(1, (gid_t[]){ 0 }) == 0)
		return 16;
	return 0;
}

static void test_drop_privileges(void **state)
{
	struct jail_options o;

	(void)state;
	assert_msg(jail_drop_privileges(0, 5), -EPERM, "refusing to run the VMM as root");
	assert_msg(jail_drop_privileges(5, 0), -EPERM, "refusing to run the VMM as root");
	if (!need_root("dropping privileges"))
		skip();
	memset(&o, 0, sizeof(o));
	o.uid = 1234;
	o.gid = 4321;
	o.nofile = 256;
	if (under_valgrind()) {
		struct rlimit rl;

		/* valgrind refuses any other hard RLIMIT_NOFILE than its own. */
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		o.nofile = rl.rlim_max;
	}
	o.fsize = 1 << 20;
	o.fsize_set = true;
	assert_int_equal(in_child(drop_in_child, &o), 0);
}

static int close_in_child(const void *arg)
{
	int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY), c = dup2(a, 200);

	(void)arg;
	if (a < 3 || b < 3 || c != 200)
		return 10;
	if (jail_close_fds(b))
		return 11;
	if (fcntl(a, F_GETFD) != -1 || errno != EBADF || fcntl(200, F_GETFD) != -1)
		return 12;
	if (fcntl(b, F_GETFD) < 0 || fcntl(0, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0)
		return 13;
	if (jail_close_fds(-1) || fcntl(b, F_GETFD) != -1 || fcntl(2, F_GETFD) < 0)
		return 14;
	return 0;
}

static void test_close_fds(void **state)
{
	(void)state;
	assert_int_equal(in_child(close_in_child, NULL), 0);
}

static int enter_in_child(const void *arg)
{
	const char *root = arg;
	char cwd[64];

	if (jail_enter_root(root))
		return strstr(err_last(), "Function not implemented") ? SKIPPED_IN_CHILD : 10;
	if (access("/marker", F_OK) || !getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/"))
		return 11;
	/* Nothing of the host is left: not the temp dir, not /etc, not /proc. */
	if (access(root, F_OK) == 0 || access("/etc/passwd", F_OK) == 0 || access("/proc/self", F_OK) == 0)
		return 12;
	return 0;
}

static void test_enter_root(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int ret;

	(void)state;
	if (!need_root("pivot_root into a jail"))
		skip();
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/marker", dir);
	jail_fixture_write(path, "m", 0644);
	ret = in_child(enter_in_child, dir);
	if (ret == SKIPPED_IN_CHILD) {
		print_message("[  SKIP    ] pivot_root is not available here (valgrind?)\n");
		jail_fixture_rm_rf(dir);
		skip();
	}
	assert_int_equal(ret, 0);
	/* The host's view is untouched by the child's namespace. */
	assert_int_equal(access(path, F_OK), 0);
	jail_fixture_rm_rf(dir);
	/* A missing root fails in the child, not later. */
	assert_int_equal(in_child(enter_in_child, "/nonexistent-jail-root"), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_busy),
		cmocka_unit_test(test_mkdirs),
		cmocka_unit_test(test_cgroup_setup),
		cmocka_unit_test(test_cgroup_check_fs),
		cmocka_unit_test(test_make_devices),
		cmocka_unit_test(test_install_file),
		cmocka_unit_test(test_own_root),
		cmocka_unit_test(test_drop_privileges),
		cmocka_unit_test(test_close_fds),
		cmocka_unit_test(test_enter_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
