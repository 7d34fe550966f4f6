/* ember-jailer's pure parts: --id, the exec file, paths, --cgroup,
 * --resource-limit and the whole command line, hostile and truncated. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/jail_fixture.h"
#include "vmm/jail.h"
#include "vmm/log.h"

#define ARGV(...) ((char *const[]){ "ember-jailer", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *const[]){ "ember-jailer", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...) jail_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o))
#define WITH(id, exe, uid, gid) "--id", id, "--exec-file", exe, "--uid", uid, "--gid", gid
#define REQ WITH("vm-1", "/usr/bin/ember", "1234", "4321")

static void assert_err(int ret, int want, const char *needle)
{
	if (ret != want || !strstr(err_last(), needle))
		print_error("got %d '%s', want %d with '%s'\n", ret, err_last(), want, needle);
	assert_int_equal(ret, want);
	assert_non_null(strstr(err_last(), needle));
}

static void test_check_id(void **state)
{
	char id65[66];

	(void)state;
	assert_int_equal(jail_check_id("a"), 0);
	assert_int_equal(jail_check_id("vm-1"), 0);
	assert_int_equal(jail_check_id("bd65600d-8669-4903-8a14-af88203add38"), 0);
	memset(id65, 'x', 64);
	id65[64] = '\0';
	assert_int_equal(jail_check_id(id65), 0);
	id65[64] = 'y';
	id65[65] = '\0';
	assert_err(jail_check_id(id65), -EINVAL, "--id: longer than 64");
	assert_err(jail_check_id(""), -EINVAL, "--id: must not be empty");
	assert_err(jail_check_id(NULL), -EINVAL, "--id: must not be empty");
	assert_err(jail_check_id("/"), -EINVAL, "--id: '/' may hold only");
	assert_err(jail_check_id("a/b"), -EINVAL, "--id");
	assert_err(jail_check_id(".."), -EINVAL, "--id: '..'");
	assert_err(jail_check_id("."), -EINVAL, "--id");
	assert_err(jail_check_id("caf\xc3\xa9"), -EINVAL, "--id");
	assert_err(jail_check_id("a b"), -EINVAL, "--id");
	assert_err(jail_check_id("a_b"), -EINVAL, "--id");
	assert_err(jail_check_id("a\n"), -EINVAL, "--id");
}

static void test_exec_name(void **state)
{
	char name[JAIL_NAME_MAX + 1], long_name[80];

	(void)state;
	assert_int_equal(jail_exec_name("/usr/bin/ember", name, sizeof(name)), 0);
	assert_string_equal(name, "ember");
	assert_int_equal(jail_exec_name("ember-v1.2_x", name, sizeof(name)), 0);
	assert_string_equal(name, "ember-v1.2_x");
	assert_err(jail_exec_name("/usr/bin/", name, sizeof(name)), -EINVAL, "does not end in a file name");
	assert_err(jail_exec_name("/x/..", name, sizeof(name)), -EINVAL, "must not start with '.'");
	assert_err(jail_exec_name("/x/.hidden", name, sizeof(name)), -EINVAL, "--exec-file");
	assert_err(jail_exec_name("/x/a b", name, sizeof(name)), -EINVAL, "'a b'");
	assert_err(jail_exec_name("/x/a\xff", name, sizeof(name)), -EINVAL, "--exec-file");
	memset(long_name, 'e', 65);
	long_name[65] = '\0';
	assert_err(jail_exec_name(long_name, name, sizeof(name)), -EINVAL, "longer than 64");
	/* A buffer too small for a valid name is refused, not overrun. */
	assert_int_equal(jail_exec_name("ember", name, 5), -EINVAL);
}

static void test_check_exec_file(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], name[JAIL_NAME_MAX + 1];

	(void)state;
	jail_fixture_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_err(jail_check_exec_file(path, name, sizeof(name)), -ENOENT, "No such file or directory");
	assert_non_null(strstr(err_last(), "--exec-file"));
	assert_err(jail_check_exec_file(dir, name, sizeof(name)), -EINVAL, "not a regular file");
	snprintf(path, sizeof(path), "%s/vmm", dir);
	jail_fixture_write(path, "#!/bin/true\n", 0644);
	assert_err(jail_check_exec_file(path, name, sizeof(name)), -EACCES, "not executable (mode 0644)");
	assert_int_equal(chmod(path, 0755), 0);
	name[0] = '\0';
	assert_int_equal(jail_check_exec_file(path, name, sizeof(name)), 0);
	assert_string_equal(name, "vmm");
	jail_fixture_rm_rf(dir);
}

static void test_build_paths(void **state)
{
	struct jail_options o;
	struct jail_paths p;
	char base[PATH_MAX];

	(void)state;
	assert_int_equal(PARSE(&o, REQ), 0);
	assert_int_equal(jail_build_paths(&o, JAIL_CGROUP_ROOT, &p), 0);
	assert_string_equal(p.exec_name, "ember");
	assert_string_equal(p.jail_dir, "/srv/jailer/ember/vm-1");
	assert_string_equal(p.root, "/srv/jailer/ember/vm-1/root");
	assert_string_equal(p.lock, "/srv/jailer/ember/vm-1/jail.lock");
	assert_string_equal(p.cgroup_parent, "/sys/fs/cgroup/ember");
	assert_string_equal(p.cgroup, "/sys/fs/cgroup/ember/vm-1");

	assert_int_equal(PARSE(&o, REQ, "--chroot-base-dir", "/", "--parent-cgroup", "vms/ember"), 0);
	assert_int_equal(jail_build_paths(&o, "/tmp/cg", &p), 0);
	assert_string_equal(p.root, "/ember/vm-1/root");
	assert_string_equal(p.cgroup, "/tmp/cg/vms/ember/vm-1");
	assert_string_equal(p.cgroup_parent, "/tmp/cg/vms/ember");

	/* A base the parser would refuse still cannot overrun the paths. */
	memset(base, 'b', sizeof(base) - 1);
	base[0] = '/';
	base[sizeof(base) - 1] = '\0';
	o.chroot_base = base;
	assert_err(jail_build_paths(&o, JAIL_CGROUP_ROOT, &p), -ENAMETOOLONG, "--chroot-base-dir");
	o.chroot_base = "/srv";
	o.id = "../x";
	assert_err(jail_build_paths(&o, JAIL_CGROUP_ROOT, &p), -EINVAL, "--id");
}

static void test_parse_cgroup(void **state)
{
	struct jail_cgroup cg;
	char key[80], value[300];

	(void)state;
	assert_int_equal(jail_parse_cgroup("pids.max=64", &cg), 0);
	assert_string_equal(cg.key, "pids.max");
	assert_string_equal(cg.value, "64");
	assert_int_equal(jail_parse_cgroup("cpu.max=50000 100000", &cg), 0);
	assert_string_equal(cg.key, "cpu.max");
	assert_string_equal(cg.value, "50000 100000");
	assert_int_equal(jail_parse_cgroup("memory.max=a=b", &cg), 0);
	assert_string_equal(cg.value, "a=b");
	assert_int_equal(jail_parse_cgroup("cpuset.cpus_x.y=0-1", &cg), 0);

	assert_err(jail_parse_cgroup("../x=1", &cg), -EINVAL, "key '../x' may hold only [a-z0-9._]");
	assert_err(jail_parse_cgroup("pids/../max=1", &cg), -EINVAL, "--cgroup");
	assert_err(jail_parse_cgroup("pids.max", &cg), -EINVAL, "is not KEY=VALUE");
	assert_err(jail_parse_cgroup("=5", &cg), -EINVAL, "key must be 1 to 64");
	assert_err(jail_parse_cgroup("pids.max=", &cg), -EINVAL, "value must be 1 to 256");
	assert_err(jail_parse_cgroup("pids.max=1\n2", &cg), -EINVAL, "newline");
	assert_err(jail_parse_cgroup("pids.max=1\t", &cg), -EINVAL, "control character");
	assert_err(jail_parse_cgroup("Pids.max=1", &cg), -EINVAL, "[a-z0-9._]");
	assert_err(jail_parse_cgroup("pidsmax=1", &cg), -EINVAL, "not <controller>.<name>");
	assert_err(jail_parse_cgroup(".max=1", &cg), -EINVAL, "not <controller>.<name>");
	assert_err(jail_parse_cgroup("pids.=1", &cg), -EINVAL, "not <controller>.<name>");
	assert_err(jail_parse_cgroup("pids..max=1", &cg), -EINVAL, "not <controller>.<name>");
	assert_err(jail_parse_cgroup("1pids.max=1", &cg), -EINVAL, "not <controller>.<name>");
	assert_err(jail_parse_cgroup("cgroup.procs=1", &cg), -EINVAL, "set by the jailer");
	assert_err(jail_parse_cgroup("cgroup.subtree_control=+cpu", &cg), -EINVAL, "set by the jailer");

	snprintf(key, sizeof(key), "pids.%059d=1", 0); /* 64-character key */
	assert_int_equal(jail_parse_cgroup(key, &cg), 0);
	assert_int_equal(strlen(cg.key), 64);
	snprintf(key, sizeof(key), "pids.%060d=1", 0);
	assert_err(jail_parse_cgroup(key, &cg), -EINVAL, "key must be 1 to 64");
	memset(value, '7', sizeof(value));
	memcpy(value, "pids.max=", 9);
	value[9 + 256] = '\0';
	assert_int_equal(jail_parse_cgroup(value, &cg), 0);
	assert_int_equal(strlen(cg.value), 256);
	value[9 + 256] = '7';
	value[9 + 257] = '\0';
	assert_err(jail_parse_cgroup(value, &cg), -EINVAL, "value must be 1 to 256");
}

static void test_parse_rlimit(void **state)
{
	struct jail_options o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(jail_parse_rlimit("fsize=1048576", &o), 0);
	assert_true(o.fsize_set);
	assert_int_equal(o.fsize, 1048576);
	assert_int_equal(jail_parse_rlimit("no-file=256", &o), 0);
	assert_true(o.nofile_set);
	assert_int_equal(o.nofile, 256);
	assert_err(jail_parse_rlimit("fsize=5", &o), -EINVAL, "fsize given twice");
	assert_err(jail_parse_rlimit("no-file=5", &o), -EINVAL, "no-file given twice");

	memset(&o, 0, sizeof(o));
	assert_err(jail_parse_rlimit("nproc=5", &o), -EINVAL, "unknown key 'nproc' (fsize or no-file)");
	assert_err(jail_parse_rlimit("fsizex=5", &o), -EINVAL, "unknown key");
	assert_err(jail_parse_rlimit("fsize", &o), -EINVAL, "is not KEY=N");
	assert_err(jail_parse_rlimit("fsize=abc", &o), -EINVAL, "'abc' is not a decimal number");
	assert_err(jail_parse_rlimit("fsize=-1", &o), -EINVAL, "not a decimal number");
	assert_err(jail_parse_rlimit("fsize= 5", &o), -EINVAL, "not a decimal number");
	assert_err(jail_parse_rlimit("fsize=5k", &o), -EINVAL, "not a decimal number");
	assert_err(jail_parse_rlimit("no-file=", &o), -EINVAL, "must not be empty");
	assert_err(jail_parse_rlimit("fsize=99999999999999999999", &o), -ERANGE, "is larger than");
	/* RLIM_INFINITY itself would mean "no limit": one below is the top. */
	assert_err(jail_parse_rlimit("fsize=18446744073709551615", &o), -ERANGE, "is larger than");
	assert_false(o.fsize_set);
	assert_int_equal(jail_parse_rlimit("fsize=18446744073709551614", &o), 0);
	assert_true(o.fsize == (rlim_t)18446744073709551614ull);
}

static void test_parse_args_all_flags(void **state)
{
	struct jail_options o;

	(void)state;
	assert_int_equal(PARSE(&o, REQ), 0);
	assert_string_equal(o.id, "vm-1");
	assert_string_equal(o.exec_file, "/usr/bin/ember");
	assert_int_equal(o.uid, 1234);
	assert_int_equal(o.gid, 4321);
	assert_string_equal(o.chroot_base, JAIL_DEFAULT_CHROOT_BASE);
	assert_null(o.netns);
	assert_null(o.parent_cgroup);
	assert_false(o.new_pid_ns || o.daemonize || o.help || o.version || o.fsize_set || o.nofile_set);
	assert_int_equal(o.nofile, JAIL_DEFAULT_NOFILE);
	assert_int_equal(o.cgroup_version, 2);
	assert_int_equal(o.n_cgroups, 0);
	assert_int_equal(o.n_exec_args, 0);

	assert_int_equal(PARSE(&o, "--id=x", "--exec-file=e", "--uid=4294967294", "--gid", "1", "--chroot-base-dir",
			       "/tmp/j", "--netns", "/var/run/netns/n1", "--new-pid-ns", "--daemonize", "--cgroup-version",
			       "2", "--cgroup", "pids.max=64", "--cgroup=cpu.max=50000 100000", "--parent-cgroup", "a/b",
			       "--resource-limit", "fsize=4096", "--resource-limit=no-file=256"),
			 0);
	assert_string_equal(o.id, "x");
	assert_int_equal(o.uid, 4294967294u);
	assert_int_equal(o.gid, 1);
	assert_string_equal(o.chroot_base, "/tmp/j");
	assert_string_equal(o.netns, "/var/run/netns/n1");
	assert_true(o.new_pid_ns && o.daemonize);
	assert_int_equal(o.n_cgroups, 2);
	assert_string_equal(o.cgroups[1].key, "cpu.max");
	assert_string_equal(o.cgroups[1].value, "50000 100000");
	assert_string_equal(o.parent_cgroup, "a/b");
	assert_true(o.fsize_set && o.fsize == 4096 && o.nofile == 256);
}

static void test_parse_args_passthrough(void **state)
{
	struct jail_options o;
	char **argv;

	(void)state;
	assert_int_equal(PARSE(&o, REQ, "--", "--kernel", "/guest.elf", "--", "--uid", "x y", ""), 0);
	assert_int_equal(o.n_exec_args, 6);
	assert_string_equal(o.exec_args[0], "--kernel");
	assert_string_equal(o.exec_args[1], "/guest.elf");
	assert_string_equal(o.exec_args[2], "--");
	assert_string_equal(o.exec_args[3], "--uid");
	assert_string_equal(o.exec_args[4], "x y");
	assert_string_equal(o.exec_args[5], "");
	/* The VMM's argv: its name, the jailer's --id, then those, in order. */
	assert_int_equal(jail_build_argv(&o, "ember", &argv), 0);
	assert_string_equal(argv[0], "ember");
	assert_string_equal(argv[1], "--id");
	assert_string_equal(argv[2], "vm-1");
	for (int i = 0; i < 6; i++)
		assert_ptr_equal(argv[3 + i], o.exec_args[i]);
	assert_null(argv[9]);
	free(argv);
	/* Flags before "--" only: the same flag after it is the VMM's. */
	assert_int_equal(PARSE(&o, "--", "--id", "x"), -EINVAL);
	assert_int_equal(PARSE(&o, REQ, "--"), 0);
	assert_int_equal(o.n_exec_args, 0);
	assert_err(PARSE(&o, REQ, "--", "--id", "other"), -EINVAL, "the VMM gets --id from the jailer's --id");
	assert_err(PARSE(&o, REQ, "--", "--id=other"), -EINVAL, "do not pass it after --");
}

static void test_parse_args_errors(void **state)
{
	struct jail_options o;

	(void)state;
	assert_err(jail_parse_args(1, ARGV(NULL), &o), -EINVAL, "--id is required");
	assert_err(PARSE(&o, "--id", "a", "--uid", "5", "--gid", "5"), -EINVAL, "--exec-file is required");
	assert_err(PARSE(&o, "--id", "a", "--exec-file", "e", "--gid", "5"), -EINVAL, "--uid is required");
	assert_err(PARSE(&o, "--id", "a", "--exec-file", "e", "--uid", "5"), -EINVAL, "--gid is required");
	assert_err(PARSE(&o, REQ, "--id", "b"), -EINVAL, "--id given twice");
	assert_err(PARSE(&o, REQ, "--exec-file=b"), -EINVAL, "--exec-file given twice");
	assert_err(PARSE(&o, REQ, "--new-pid-ns", "--new-pid-ns"), -EINVAL, "--new-pid-ns given twice");
	assert_err(PARSE(&o, REQ, "--daemonize=yes"), -EINVAL, "--daemonize takes no value");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", "/a", "--chroot-base-dir", "/b"), -EINVAL, "given twice");
	assert_err(PARSE(&o, REQ, "--bogus"), -EINVAL, "unknown argument '--bogus'");
	assert_err(PARSE(&o, REQ, "--idx", "a"), -EINVAL, "unknown argument '--idx'");
	assert_err(PARSE(&o, REQ, "kernel"), -EINVAL, "unknown argument 'kernel' (the VMM's own arguments go after --)");
	assert_err(PARSE(&o, REQ, "--netns"), -EINVAL, "--netns needs a value");
	assert_err(PARSE(&o, WITH("a/b", "e", "5", "5")), -EINVAL, "--id: 'a/b'");
	assert_err(PARSE(&o, WITH("", "e", "5", "5")), -EINVAL, "--id: must not");
	assert_err(PARSE(&o, WITH("a", "", "5", "5")), -EINVAL,
		   "--exec-file: must not be empty");
	assert_err(PARSE(&o, WITH("a", "/x/", "5", "5")), -EINVAL,
		   "does not end in a file name");
	assert_err(PARSE(&o, WITH("a", "e", "0", "5")), -EINVAL, "--uid: 0 is root");
	assert_err(PARSE(&o, WITH("a", "e", "5", "0")), -EINVAL, "--gid: 0 is root");
	assert_err(PARSE(&o, WITH("a", "e", "-1", "5")), -EINVAL,
		   "--uid: '-1' is not a decimal number");
	assert_err(PARSE(&o, WITH("a", "e", "4294967295", "5")), -ERANGE,
		   "--uid: '4294967295' is larger than 4294967294");
	assert_err(PARSE(&o, WITH("a", "e", "5", "0x10")), -EINVAL, "--gid");
	assert_err(PARSE(&o, REQ, "--cgroup-version", "1"), -ENOTSUP, "cgroup v1 is not supported");
	assert_err(PARSE(&o, REQ, "--cgroup-version", "3"), -EINVAL, "--cgroup-version: '3' is not 2");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", "srv"), -EINVAL, "'srv' is not an absolute path");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", "/srv/../etc"), -EINVAL, "'.' or '..' component");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", "/srv/."), -EINVAL, "'.' or '..' component");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", ""), -EINVAL, "--chroot-base-dir: must not be empty");
	assert_err(PARSE(&o, REQ, "--chroot-base-dir", "/a\nb"), -EINVAL, "control character");
	assert_err(PARSE(&o, REQ, "--netns", ""), -EINVAL, "--netns: must not be empty");
	assert_err(PARSE(&o, REQ, "--parent-cgroup", "../x"), -EINVAL, "--parent-cgroup: '../x'");
	assert_err(PARSE(&o, REQ, "--parent-cgroup", "/abs"), -EINVAL, "--parent-cgroup");
	assert_err(PARSE(&o, REQ, "--parent-cgroup", "a//b"), -EINVAL, "--parent-cgroup");
	assert_err(PARSE(&o, REQ, "--parent-cgroup", "a/"), -EINVAL, "--parent-cgroup");
	assert_err(PARSE(&o, REQ, "--parent-cgroup", ""), -EINVAL, "--parent-cgroup");
	assert_err(PARSE(&o, REQ, "--cgroup", "pids.max=1", "--cgroup", "pids.max=2"), -EINVAL,
		   "--cgroup: pids.max given twice");
	assert_err(PARSE(&o, REQ, "--cgroup", "x"), -EINVAL, "is not KEY=VALUE");
	assert_err(PARSE(&o, REQ, "--resource-limit", "core=0"), -EINVAL, "unknown key 'core'");
}

static void test_parse_args_bounds(void **state)
{
	char *argv[3 + 2 * (JAIL_MAX_CGROUPS + 1) + 8 + 1];
	char keys[JAIL_MAX_CGROUPS + 1][32];
	struct jail_options o;
	int argc = 0;

	(void)state;
	argv[argc++] = "ember-jailer";
	argv[argc++] = "--id";
	argv[argc++] = "a";
	argv[argc++] = "--exec-file";
	argv[argc++] = "e";
	argv[argc++] = "--uid";
	argv[argc++] = "7";
	argv[argc++] = "--gid";
	argv[argc++] = "7";
	for (int i = 0; i < JAIL_MAX_CGROUPS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "pids.k%d=1", i);
		argv[argc++] = "--cgroup";
		argv[argc++] = keys[i];
	}
	argv[argc] = NULL;
	assert_int_equal(jail_parse_args(argc, argv, &o), 0);
	assert_int_equal(o.n_cgroups, JAIL_MAX_CGROUPS);
	snprintf(keys[JAIL_MAX_CGROUPS], sizeof(keys[0]), "pids.last=1");
	argv[argc++] = "--cgroup";
	argv[argc++] = keys[JAIL_MAX_CGROUPS];
	argv[argc] = NULL;
	assert_err(jail_parse_args(argc, argv, &o), -EINVAL, "--cgroup: at most 16");
}

static void test_help_and_version(void **state)
{
	struct jail_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "-V"), 0);
	assert_true(o.version);
	assert_err(PARSE(&o, "--help", "--help"), -EINVAL, "given twice");
	/* --help does not excuse a bad flag before it. */
	assert_int_equal(PARSE(&o, "--bogus", "--help"), -EINVAL);
}

/* Every prefix of a valid command line, and every argument cut short,
 * parses or fails with a message; the whole line parses. */
static void test_parse_args_truncated(void **state)
{
	char *const full[] = { "ember-jailer", "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "1234",
			       "--gid", "1234", "--chroot-base-dir", "/tmp/j", "--netns", "/var/run/netns/n",
			       "--new-pid-ns", "--cgroup", "pids.max=64", "--cgroup", "cpu.max=5000 10000",
			       "--parent-cgroup", "p", "--resource-limit", "fsize=100", "--resource-limit",
			       "no-file=256", "--cgroup-version", "2", "--daemonize", "--", "--kernel", "/k", NULL };
	int argc = (int)(sizeof(full) / sizeof(full[0])) - 1;
	struct jail_options o;

	(void)state;
	assert_int_equal(jail_parse_args(argc, full, &o), 0);
	assert_int_equal(o.n_exec_args, 2);
	for (int n = 1; n < argc; n++) {
		int ret = jail_parse_args(n, full, &o);

		/* Up to the fourth required flag's value something is missing;
		 * after it, only a flag cut off from its value. */
		if (n < 9)
			assert_int_equal(ret, -EINVAL);
		if (ret)
			assert_true(n < 9 ? strstr(err_last(), "is required") || strstr(err_last(), "needs a value")
					  : strstr(err_last(), "needs a value") != NULL);
	}
	for (int i = 1; i < argc; i++) {
		size_t len = strlen(full[i]);

		for (size_t cut = 0; cut < len; cut++) {
			char *argv[sizeof(full) / sizeof(full[0])];
			char *piece = strndup(full[i], cut);
			int ret;

			assert_non_null(piece);
			memcpy(argv, full, sizeof(full));
			argv[i] = piece;
			err_clear();
			ret = jail_parse_args(argc, argv, &o);
			if (ret) {
				assert_true(ret < 0);
				assert_true(err_last()[0] != '\0');
			}
			free(piece);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_id),
		cmocka_unit_test(test_exec_name),
		cmocka_unit_test(test_check_exec_file),
		cmocka_unit_test(test_build_paths),
		cmocka_unit_test(test_parse_cgroup),
		cmocka_unit_test(test_parse_rlimit),
		cmocka_unit_test(test_parse_args_all_flags),
		cmocka_unit_test(test_parse_args_passthrough),
		cmocka_unit_test(test_parse_args_errors),
		cmocka_unit_test(test_parse_args_bounds),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_parse_args_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
