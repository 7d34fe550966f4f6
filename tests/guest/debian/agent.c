/* ember test agent: /init of the Debian guest initramfs (issue 3).
 *
 * Mounts proc, sys and devtmpfs, loads the modules listed in
 * /etc/ember-modules (one path a line, already in modules.dep order) with
 * finit_module, then runs the scenario named by ember.scenario=NAME on the
 * kernel command line (default "shell"). Every step prints a marker line
 *
 *     EMBER-AGENT <seconds since boot, CLOCK_BOOTTIME> <event> [detail]
 *
 * on the console, so a test on the host can follow the boot and time it.
 * Scenarios live in the table at the bottom; add new ones there.
 *
 * Built static: gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODULE_LIST "/etc/ember-modules"
#define SHELL_PATH "/bin/sh"

static char cmdline[4096];

/* One write per line so kernel messages do not split our lines. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char buf[4608];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += w;
	}
}

static void marker(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void marker(const char *fmt, ...)
{
	char ev[4096];
	struct timespec ts = { 0, 0 };
	va_list ap;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(ev, sizeof(ev), fmt, ap);
	va_end(ap);
	out("EMBER-AGENT %ld.%06ld %s", (long)ts.tv_sec, ts.tv_nsec / 1000, ev);
}

/* PID 1 must never exit: end the VM instead. */
static void __attribute__((noreturn)) finish(int cmd, const char *what)
{
	marker("%s", what);
	sync();
	reboot(cmd);
	marker("reboot-failed %s errno=%d", what, errno);
	for (;;)
		pause();
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Value of KEY=... on the command line, copied into val; 0 if found. */
static int cmdline_get(const char *key, char *val, size_t size)
{
	size_t klen = strlen(key);
	int found = -1;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *end = p + strcspn(p, " \n");
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = end - (p + klen + 1);
			if (n >= size)
				n = size - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			found = 0; /* the last one wins, as in the kernel */
		}
		p = end;
	}
	return found;
}

static void setup_console(void)
{
	/* The kernel opens /dev/console from the initramfs for fds 0-2; if
	 * the archive lacked the node, reopen it from devtmpfs. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
}

static void mount_fs(void)
{
	static const struct {
		const char *src, *dir, *type;
	} m[] = {
		{ "proc", "/proc", "proc" },
		{ "sysfs", "/sys", "sysfs" },
		{ "devtmpfs", "/dev", "devtmpfs" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mkdir(m[i].dir, 0755);
		if (mount(m[i].src, m[i].dir, m[i].type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
			marker("mount-failed %s errno=%d", m[i].dir, errno);
	}
}

static void load_modules(void)
{
	FILE *f = fopen(MODULE_LIST, "re");
	int loaded = 0, failed = 0;
	char line[512];
	if (!f) {
		marker("modules-none %s", MODULE_LIST);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			marker("module-missing %s", line);
			failed++;
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
			marker("module-failed %s errno=%d", line, errno);
			failed++;
		} else {
			loaded++;
		}
		close(fd);
	}
	fclose(f);
	marker("modules-loaded n=%d failed=%d", loaded, failed);
}

/* ---- scenarios ---- */

static void sc_info(void)
{
	struct utsname u;
	char c[sizeof(cmdline)];
	size_t n;
	uname(&u);
	strcpy(c, cmdline);
	n = strlen(c);
	if (n && c[n - 1] == '\n')
		c[n - 1] = '\0';
	out("nproc=%ld", sysconf(_SC_NPROCESSORS_ONLN));
	out("cmdline=%s", c);
	out("kernel=%s", u.release);
	marker("info-done");
	finish(RB_POWER_OFF, "poweroff");
}

static void sc_poweroff(void)
{
	finish(RB_POWER_OFF, "poweroff");
}

static void sc_reboot(void)
{
	finish(RB_AUTOBOOT, "reboot");
}

static void sc_panic(void)
{
	marker("panic");
	sync();
	if (write_file("/proc/sys/kernel/sysrq", "1") < 0)
		marker("sysrq-enable-failed errno=%d", errno);
	write_file("/proc/sysrq-trigger", "c");
	marker("panic-failed errno=%d", errno);
	finish(RB_POWER_OFF, "poweroff");
}

/* The tty named by the last console= (e.g. ttyS0,115200): a real tty,
 * unlike /dev/console, so the shell gets job control. */
static void console_tty(char *path, size_t size)
{
	char con[64];
	if (cmdline_get("console", con, sizeof(con)) == 0) {
		con[strcspn(con, ",")] = '\0';
		snprintf(path, size, "/dev/%s", con);
		if (access(path, R_OK | W_OK) == 0)
			return;
	}
	snprintf(path, size, "/dev/console");
}

static void sc_shell(void)
{
	char tty[80];
	console_tty(tty, sizeof(tty));
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int fd = open(tty, O_RDWR);
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTSTP, SIG_DFL);
		char *const argv[] = { "-sh", NULL };
		char *const envp[] = { "HOME=/", "TERM=linux", "PS1=ember:\\w# ",
			"PATH=/sbin:/usr/sbin:/bin:/usr/bin", NULL };
		execve(SHELL_PATH, argv, envp);
		out("exec %s failed: %s", SHELL_PATH, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		marker("fork-failed errno=%d", errno);
	} else {
		int st;
		pid_t w;
		/* As PID 1, reap everything until the shell itself exits. */
		while ((w = wait(&st)) != pid)
			if (w < 0 && errno != EINTR)
				break;
		marker("shell-exited");
	}
	finish(RB_POWER_OFF, "poweroff");
}

static const struct scenario {
	const char *name;
	void (*run)(void); /* does not return: ends the VM */
} scenarios[] = {
	{ "info", sc_info },
	{ "poweroff", sc_poweroff },
	{ "reboot", sc_reboot },
	{ "panic", sc_panic },
	{ "shell", sc_shell },
};

int main(void)
{
	char name[64] = "shell";

	setup_console();
	marker("init-started");
	mount_fs();
	setup_console();
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		marker("cmdline-unreadable errno=%d", errno);
	load_modules();
	cmdline_get("ember.scenario", name, sizeof(name));
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(scenarios[i].name, name)) {
			marker("scenario %s", name);
			scenarios[i].run();
		}
	}
	marker("scenario-unknown %s", name);
	finish(RB_POWER_OFF, "poweroff");
}
