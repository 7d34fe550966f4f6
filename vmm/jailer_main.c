/* ember-jailer: runs ember (or --exec-file) jailed as Firecracker's jailer
 * does; see vmm/jail.h for the steps and the exit statuses.
 *
 * Process shape: this process (the supervisor) validates, takes the jail's
 * lock, makes the cgroup and forks the child that jails itself and execs
 * the VMM. The supervisor stays outside the jail holding the lock, forwards
 * SIGTERM/SIGINT/SIGHUP, and exits with the VMM's status. With --daemonize
 * it first forks off a detached supervisor; the caller's process waits
 * only until the VMM is exec'd (or a step failed, which it reports). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/jail.h"
#include "vmm/log.h"
#include "vmm/version.h"

static volatile sig_atomic_t child_pid;

/* Where a failure after --daemonize is told (stderr is /dev/null then);
 * -1 without --daemonize. */
static int report_fd = -1;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* Prints "ember-jailer: <what>: <why>" and exits `code`; after
 * --daemonize the waiting caller prints it instead. */
static void fail(int code, const char *msg)
{
	if (report_fd >= 0) {
		char buf[ERR_MSG_MAX + 1];
		size_t len = strnlen(msg, ERR_MSG_MAX);

		buf[0] = (char)code;
		memcpy(buf + 1, msg, len);
		send(report_fd, buf, len + 1, MSG_NOSIGNAL);
	}
	fprintf(stderr, "ember-jailer: %s\n", msg);
	_exit(code);
}

static int open_inputs(const char *exec_file, const struct jail_libs *libs, int *exec_fd, int *lib_fd)
{
	*exec_fd = open(exec_file, O_RDONLY | O_CLOEXEC);
	if (*exec_fd < 0)
		return err_set(-errno, "--exec-file %s: %s", exec_file, strerror(errno));
	for (unsigned i = 0; i < libs->n; i++) {
		lib_fd[i] = open(libs->path[i], O_RDONLY | O_CLOEXEC);
		if (lib_fd[i] < 0)
			return err_set(-errno, "library %s: %s", libs->path[i], strerror(errno));
	}
	return 0;
}

/* Copies what the jail runs: the VMM as /<exec-name> (0755, like
 * Firecracker) and its libraries at their host paths. The sources were
 * opened before pivot_root; the jail has no view of the host. */
static int install_inputs(const char *exec_name, int exec_fd, const struct jail_libs *libs, const int *lib_fd)
{
	int ret = jail_install_file(exec_fd, "/", exec_name, 0755);

	for (unsigned i = 0; !ret && i < libs->n; i++)
		ret = jail_install_file(lib_fd[i], "/", libs->path[i], 0755);
	return ret;
}

/* The child: jails itself and execs the VMM; never returns. */
static void run_child(const struct jail_options *o, const struct jail_paths *p, const struct jail_libs *libs,
		      pid_t supervisor)
{
	int exec_fd = -1, lib_fd[JAIL_MAX_LIBS];
	char *const envp[] = { NULL };
	char path[JAIL_NAME_MAX + 2];
	char **argv;

	if ((o->n_cgroups && jail_cgroup_join(p->cgroup)) || (o->netns && jail_join_netns(o->netns)) ||
	    open_inputs(o->exec_file, libs, &exec_fd, lib_fd) || jail_enter_root(p->root) ||
	    jail_make_devices("/", o->uid, o->gid) || install_inputs(p->exec_name, exec_fd, libs, lib_fd) ||
	    jail_own_root("/", o->uid, o->gid) || jail_close_fds(report_fd) || jail_set_rlimits(o) ||
	    jail_drop_privileges(o->uid, o->gid))
		fail(JAIL_EXIT_SETUP, err_last());
	/* Cleared by the uid change, so set after it: if the supervisor dies
	 * (SIGKILL), its lock goes, and so must the VMM it guarded. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || (!o->new_pid_ns && getppid() != supervisor))
		fail(JAIL_EXIT_SETUP, "the supervisor went away before the VMM started");
	if (jail_build_argv(o, p->exec_name, &argv))
		fail(JAIL_EXIT_SETUP, err_last());
	snprintf(path, sizeof(path), "/%s", p->exec_name);
	execve(path, argv, envp);
	err_set(-errno, "exec %s in the jail: %s", path, strerror(errno));
	fail(JAIL_EXIT_EXEC, err_last());
}

/* --daemonize: the caller's process waits for the detached supervisor's
 * word: nothing (the socket closes when the VMM is exec'd) or a failure. */
static int daemonize(void)
{
	int sv[2], null_fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(-errno, "--daemonize: socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return err_set(-errno, "--daemonize: fork: %s", strerror(errno));
	if (pid > 0) {
		char buf[ERR_MSG_MAX + 2];
		ssize_t n;

		close(sv[1]);
		do
			n = recv(sv[0], buf, sizeof(buf) - 1, MSG_WAITALL);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			_exit(0);
		buf[n] = '\0';
		fprintf(stderr, "ember-jailer: %s\n", n > 1 ? buf + 1 : "set-up failed");
		_exit((unsigned char)buf[0]);
	}
	close(sv[0]);
	report_fd = sv[1];
	if (setsid() < 0)
		return err_set(-errno, "--daemonize: setsid: %s", strerror(errno));
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return err_set(-errno, "--daemonize: /dev/null: %s", strerror(errno));
	if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		return err_set(-errno, "--daemonize: dup2: %s", strerror(errno));
	close(null_fd);
	return 0;
}

/* Firecracker's <chroot>/<exec-name>.pid: the VMM's pid as the host sees
 * it. Made fresh with O_EXCL: the jail's root belongs to the VMM's uid. */
static void write_pid_file(const struct jail_paths *p, pid_t pid)
{
	char path[PATH_MAX + JAIL_NAME_MAX + 8], text[32];
	int fd, len;

	snprintf(path, sizeof(path), "%s/%s.pid", p->root, p->exec_name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ember-jailer: warning: pid file %s: %s\n", path, strerror(errno));
		return;
	}
	len = snprintf(text, sizeof(text), "%d\n", (int)pid);
	if (write(fd, text, (size_t)len) != len)
		fprintf(stderr, "ember-jailer: warning: pid file %s: short write\n", path);
	close(fd);
}

static int supervise(pid_t pid, const struct jail_options *o, const struct jail_paths *p)
{
	int status, code;

	write_pid_file(p, pid);
	if (report_fd >= 0) {
		close(report_fd);
		report_fd = -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "ember-jailer: waitpid %d: %s\n", (int)pid, strerror(errno));
			return JAIL_EXIT_SETUP;
		}
	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (o->n_cgroups && jail_cgroup_remove(p->cgroup))
		fprintf(stderr, "ember-jailer: warning: %s\n", err_last());
	return code;
}

static void setup_signals(sigset_t *blocked)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(blocked);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGINT);
	sigaddset(blocked, SIGHUP);
	/* Blocked until child_pid is known, so no signal falls in between. */
	sigprocmask(SIG_BLOCK, blocked, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* The child starts the VMM with default dispositions and nothing blocked:
 * both survive execve. */
static void reset_signals(const sigset_t *blocked)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, blocked, NULL);
}

/* Everything up to the fork that can be checked before the jail is
 * touched; returns the exit status for a failure, 0 to go on. */
static int prepare(int argc, char **argv, struct jail_options *o, struct jail_paths *p)
{
	char name[JAIL_NAME_MAX + 1];

	if (jail_parse_args(argc, argv, o)) {
		fprintf(stderr, "ember-jailer: %s\n", err_last());
		return JAIL_EXIT_USAGE;
	}
	if (o->help || o->version)
		return 0;
	if (jail_check_exec_file(o->exec_file, name, sizeof(name)) || jail_build_paths(o, JAIL_CGROUP_ROOT, p)) {
		fprintf(stderr, "ember-jailer: %s\n", err_last());
		return JAIL_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "ember-jailer: must run as root (it makes namespaces, device nodes and cgroups)\n");
		return JAIL_EXIT_SETUP;
	}
	if ((o->n_cgroups && jail_cgroup_check_fs(JAIL_CGROUP_ROOT)) || jail_mkdirs(p->jail_dir)) {
		fprintf(stderr, "ember-jailer: %s\n", err_last());
		return JAIL_EXIT_SETUP;
	}
	return 0;
}

/* After the lock: running the loader costs seconds on a slow machine, and
 * a busy jail must be refused at once. */
static int prepare_locked(const struct jail_options *o, const struct jail_paths *p, struct jail_libs *libs)
{
	if (jail_list_libs(o->exec_file, libs) || jail_mkdirs(p->root)) {
		fprintf(stderr, "ember-jailer: %s\n", err_last());
		return JAIL_EXIT_SETUP;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct jail_options o;
	static struct jail_paths p;
	static struct jail_libs libs;
	sigset_t blocked;
	pid_t supervisor, pid;
	int lock_fd, ret;

	if ((ret = prepare(argc, argv, &o, &p)))
		return ret;
	if (o.help) {
		jail_usage(stdout);
		return 0;
	}
	if (o.version) {
		printf("ember-jailer %s\n", EMBER_VERSION);
		return 0;
	}
	if ((ret = jail_lock(p.lock, &lock_fd))) {
		fprintf(stderr, "ember-jailer: %s\n", err_last());
		return ret == -EBUSY ? JAIL_EXIT_BUSY : JAIL_EXIT_SETUP;
	}
	if ((ret = prepare_locked(&o, &p, &libs)))
		return ret;
	if (o.daemonize && daemonize())
		fail(JAIL_EXIT_SETUP, err_last());
	if (o.n_cgroups && jail_cgroup_setup(JAIL_CGROUP_ROOT, &p, o.cgroups, o.n_cgroups))
		fail(JAIL_EXIT_SETUP, err_last());
	/* The next child is PID 1 of the new namespace: nothing else may be
	 * forked after this (jail_list_libs ran before). */
	if (o.new_pid_ns && unshare(CLONE_NEWPID) < 0) {
		err_set(-errno, "--new-pid-ns: unshare(CLONE_NEWPID): %s", strerror(errno));
		fail(JAIL_EXIT_SETUP, err_last());
	}
	setup_signals(&blocked);
	supervisor = getpid();
	pid = fork();
	if (pid < 0) {
		err_set(-errno, "fork: %s", strerror(errno));
		fail(JAIL_EXIT_SETUP, err_last());
	}
	if (pid == 0) {
		close(lock_fd);
		reset_signals(&blocked);
		run_child(&o, &p, &libs, supervisor);
	}
	child_pid = pid;
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	ret = supervise(pid, &o, &p);
	close(lock_fd);
	return ret;
}
