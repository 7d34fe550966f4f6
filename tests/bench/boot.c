/* Boot benchmark: runs a VMM command line, measures the time from exec to
 * the first console line containing MARKER, and the process's peak RSS
 * (ru_maxrss from wait4). Prints one line:
 *   boot <label> ms=<to-marker> total_ms=<to-exit> maxrss_kib=<n> rc=<status>
 * A line starting "ember: guest resident KiB=" on stderr, if any, is echoed
 * as guest_kib=<n> so RSS can be reported net of guest memory. With
 * BOOT_LOG=path in the environment, all the output is also saved there.
 *
 * usage: boot LABEL MARKER TIMEOUT_S CMD [ARGS...] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char out[1 << 20];
	size_t used = 0;
	int pipefd[2], status = 0;
	int64_t t0, t_marker = -1, deadline;
	struct rusage ru;
	long guest_kib = -1;
	const char *log_path = getenv("BOOT_LOG");
	FILE *log = NULL;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: boot LABEL MARKER TIMEOUT_S CMD [ARGS...]\n");
		return 2;
	}
	if (log_path && !(log = fopen(log_path, "w"))) {
		perror(log_path);
		return 1;
	}
	if (pipe(pipefd))
		return 1;
	t0 = now_ns();
	deadline = t0 + (int64_t)atoi(argv[3]) * 1000000000LL;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int64_t left = (deadline - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(pipefd[0], out + used, sizeof(out) - 1 - used);
		if (n <= 0)
			break;
		if (log)
			fwrite(out + used, 1, (size_t)n, log);
		used += (size_t)n;
		out[used] = 0;
		if (t_marker < 0 && strstr(out, argv[2]))
			t_marker = now_ns();
		if (used == sizeof(out) - 1)
			used = 0; /* keep reading; the marker was either seen or lost */
	}
	close(pipefd[0]);
	wait4(pid, &status, 0, &ru);
	if (log)
		fclose(log);
	char *g = strstr(out, "guest resident KiB=");
	if (g)
		guest_kib = strtol(g + strlen("guest resident KiB="), NULL, 10);
	printf("boot %s ms=%.1f total_ms=%.1f maxrss_kib=%ld guest_kib=%ld rc=%d\n", argv[1],
	       t_marker < 0 ? -1.0 : (t_marker - t0) / 1e6, (now_ns() - t0) / 1e6, ru.ru_maxrss, guest_kib,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return t_marker < 0;
}
