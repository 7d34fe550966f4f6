/* ember-jailer: Firecracker's jailer for ember.
 *
 * The supervisor (ember-jailer itself) validates everything, takes an
 * exclusive flock on <chroot-base>/<exec-name>/<id>/jail.lock, sets up the
 * cgroup, and forks a child that enters a mount namespace, pivots into
 * <chroot-base>/<exec-name>/<id>/root, creates the KVM, TUN and urandom device
 * nodes (only those), copies the VMM (and, for a dynamically linked one, the
 * libraries its loader resolves) in, drops every privilege and execs it.
 * The supervisor forwards SIGTERM/SIGINT/SIGHUP, waits and exits with the
 * VMM's status.
 *
 * Every function here returns 0 or a negative errno and records what failed
 * and where with err_set(); pure parsers never allocate. Step functions take
 * the directories they work in as parameters so unit tests run them under a
 * temporary directory. */
#ifndef EMBER_JAIL_H
#define EMBER_JAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

#define JAIL_ID_MAX 64
#define JAIL_NAME_MAX 64             /* the exec file's name */
#define JAIL_DEFAULT_CHROOT_BASE "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048     /* Firecracker's default no-file */
#define JAIL_CGROUP_ROOT "/sys/fs/cgroup"
#define JAIL_MAX_CGROUPS 16
#define JAIL_CGROUP_KEY_MAX 64
#define JAIL_CGROUP_VALUE_MAX 256
#define JAIL_PARENT_CGROUP_MAX 255
#define JAIL_MAX_EXEC_ARGS 1024
#define JAIL_EXEC_FILE_MAX (512ull << 20)
#define JAIL_MAX_LIBS 64
#define JAIL_LIB_PATH_MAX 256
#define JAIL_LIB_LIST_MAX (64u << 10) /* bytes of loader output read */
#define JAIL_ELF_HEAD_MAX (64u << 10) /* bytes of the exec file searched for PT_INTERP */

/* Exit statuses of ember-jailer. Anything else is the jailed VMM's own
 * status, passed through (128+N when it died of signal N). */
#define JAIL_EXIT_USAGE 64 /* a bad flag or value (ember's own code for bad arguments) */
#define JAIL_EXIT_SETUP 71 /* a set-up step failed, in the supervisor or in the child */
#define JAIL_EXIT_BUSY 75  /* another ember-jailer holds this chroot (try again later) */
#define JAIL_EXIT_EXEC 126 /* the final execve of the VMM failed */

struct jail_cgroup {
	char key[JAIL_CGROUP_KEY_MAX + 1];     /* "<controller>.<name>", e.g. "pids.max" */
	char value[JAIL_CGROUP_VALUE_MAX + 1]; /* written as is, e.g. "50000 100000" */
};

struct jail_options {
	const char *id;
	const char *exec_file;
	const char *chroot_base;   /* JAIL_DEFAULT_CHROOT_BASE unless given */
	const char *netns;         /* NULL: stay in the caller's network namespace */
	const char *parent_cgroup; /* NULL: the exec file's name */
	uid_t uid;
	gid_t gid;
	bool new_pid_ns;
	bool daemonize;
	bool help;
	bool version;
	int cgroup_version;
	struct jail_cgroup cgroups[JAIL_MAX_CGROUPS];
	unsigned n_cgroups;
	rlim_t fsize;              /* RLIMIT_FSIZE when fsize_set */
	bool fsize_set;
	rlim_t nofile;             /* RLIMIT_NOFILE: JAIL_DEFAULT_NOFILE unless given */
	bool nofile_set;
	int n_exec_args;           /* what followed "--", in order */
	char *const *exec_args;    /* points into argv */
};

struct jail_paths {
	char exec_name[JAIL_NAME_MAX + 1];
	char jail_dir[PATH_MAX]; /* <base>/<exec-name>/<id> */
	char root[PATH_MAX];     /* <jail_dir>/root */
	char lock[PATH_MAX];     /* <jail_dir>/jail.lock, outside the jail */
	char cgroup_parent[PATH_MAX]; /* <cgroup-root>/<parent-cgroup> */
	char cgroup[PATH_MAX];        /* <cgroup_parent>/<id> */
};

/* Libraries a dynamically linked VMM needs inside its jail. */
struct jail_libs {
	unsigned n;
	char path[JAIL_MAX_LIBS][JAIL_LIB_PATH_MAX];
};

/* ---- parsing and validation (pure, vmm/jail.c) ---- */

/* Firecracker's flags; "--flag VALUE" or "--flag=VALUE"; what follows "--"
 * goes to the VMM. --help and --version need nothing else. */
int jail_parse_args(int argc, char *const argv[], struct jail_options *o);
/* 1..64 characters of [A-Za-z0-9-]. */
int jail_check_id(const char *id);
/* The last path component of `path`, checked: [A-Za-z0-9._-], not starting
 * with '.', at most JAIL_NAME_MAX characters. */
int jail_exec_name(const char *path, char *name, size_t cap);
/* Exists, is a regular file, has an execute bit, not larger than
 * JAIL_EXEC_FILE_MAX; `name` gets jail_exec_name(). */
int jail_check_exec_file(const char *path, char *name, size_t cap);
/* "KEY=VALUE" of --cgroup. */
int jail_parse_cgroup(const char *arg, struct jail_cgroup *out);
/* "fsize=N" or "no-file=N" of --resource-limit, into o (each key once). */
int jail_parse_rlimit(const char *arg, struct jail_options *o);
/* Fills p from o (exec_file's name, chroot base, id, parent cgroup) under
 * cgroup_root (JAIL_CGROUP_ROOT, or a test directory). */
int jail_build_paths(const struct jail_options *o, const char *cgroup_root, struct jail_paths *p);
/* The VMM's argv: exec-name, "--id", ID, then the arguments after "--".
 * malloc'd (free the array only); NULL-terminated. */
int jail_build_argv(const struct jail_options *o, const char *exec_name, char ***argv);
void jail_usage(FILE *f);

/* ---- the supervisor's steps (vmm/jail_fs.c, vmm/jail_cgroup.c) ---- */

/* mkdir -p with root-owned 0755 directories; existing directories are fine,
 * anything else in the way is an error. */
int jail_mkdirs(const char *path);
/* Opens (creating, 0600, O_CLOEXEC) and flocks `lock_path` exclusively
 * without waiting: -EBUSY with "busy" in the message when held. */
int jail_lock(const char *lock_path, int *fd);
/* /sys/fs/cgroup (or `cgroup_root`) must be a cgroup2 mount. */
int jail_cgroup_check_fs(const char *cgroup_root);
/* Creates p->cgroup_parent and p->cgroup, enables each key's controller in
 * every cgroup.subtree_control from cgroup_root down to the parent, and
 * writes every value. */
int jail_cgroup_setup(const char *cgroup_root, const struct jail_paths *p, const struct jail_cgroup *cg,
		      unsigned n);
/* Moves the calling process into `cgroup_dir` (writes "0" to cgroup.procs,
 * which also works from a new PID namespace). */
int jail_cgroup_join(const char *cgroup_dir);
/* rmdir, retrying while the kernel still counts the reaped VMM in it. */
int jail_cgroup_remove(const char *cgroup_dir);

/* ---- the child's steps (vmm/jail_fs.c, vmm/jail_priv.c) ---- */

/* setns(CLONE_NEWNET) into the namespace file `path`. */
int jail_join_netns(const char *path);
/* New mount namespace, / recursively slave, `root` bind-mounted on itself
 * and pivoted into; the old root is detached. cwd is the new /. */
int jail_enter_root(const char *root);
/* <root>/dev, <root>/dev/net and only kvm (10:232), net/tun (10:200) and
 * urandom (1:9), owned by uid:gid; an existing node is replaced. */
int jail_make_devices(const char *root, uid_t uid, gid_t gid);
/* Copies the open file src_fd to <root>/<rel> with `mode` (parents made
 * root-owned 0755), through a temporary name and rename, unless that path
 * already is the same file (same device and inode). */
int jail_install_file(int src_fd, const char *root, const char *rel, mode_t mode);
/* chown root to uid:gid so the VMM can create sockets and snapshots there. */
int jail_own_root(const char *root, uid_t uid, gid_t gid);
/* RLIMIT_NOFILE (always) and RLIMIT_FSIZE (when set), soft = hard. */
int jail_set_rlimits(const struct jail_options *o);
/* Bounding set emptied, no supplementary groups, gid then uid (both
 * nonzero), inheritable and ambient sets cleared, NO_NEW_PRIVS; then checks
 * with capget that nothing is left. */
int jail_drop_privileges(uid_t uid, gid_t gid);
/* Closes every fd above 2 but `keep` (-1: none). Call it before
 * jail_set_rlimits: without close_range it scans up to the hard limit. */
int jail_close_fds(int keep);

/* ---- a dynamically linked VMM (vmm/jail_libs.c) ---- */

/* The PT_INTERP path of the ELF image whose first `len` bytes are `buf`;
 * out[0] = '\0' when there is none (static, or not ELF at all). */
int jail_elf_interp(const uint8_t *buf, size_t len, char *out, size_t cap);
/* Parses the loader's `--list` output (ldd's format) into out. */
int jail_parse_lib_list(const char *text, size_t len, struct jail_libs *out);
/* For exec_file: reads its PT_INTERP and, if any, runs that loader with
 * --list (empty environment) and parses what it prints; out->n = 0 for a
 * static file. */
int jail_list_libs(const char *exec_file, struct jail_libs *out);

#endif
