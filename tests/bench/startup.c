/* Start-up benchmark: time from execve() of ember to its first KVM_RUN,
 * and to the VMM's exit, over N runs; prints median, min, p90 and max.
 *
 * usage: startup RUNS EMBER ARGS...   (ember gets --print-startup added) */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* One run: returns 0 and fills exec->first-run and exec->exit times. */
static int run_once(char **argv, int64_t *to_run, int64_t *to_exit)
{
	int err_pipe[2], t0_pipe[2];
	int64_t t0 = 0, t_run = -1, t_end;
	char buf[8192];
	size_t used = 0;
	ssize_t n;
	int status;
	pid_t pid;

	if (pipe(err_pipe) || pipe(t0_pipe))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int64_t t = now_ns();

		dup2(err_pipe[1], STDERR_FILENO);
		int devnull = open("/dev/null", 1);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		if (write(t0_pipe[1], &t, sizeof(t)) != sizeof(t))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(err_pipe[1]);
	close(t0_pipe[1]);
	if (read(t0_pipe[0], &t0, sizeof(t0)) != sizeof(t0))
		t0 = 0;
	close(t0_pipe[0]);
	while ((n = read(err_pipe[0], buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = 0;
	close(err_pipe[0]);
	waitpid(pid, &status, 0);
	t_end = now_ns();
	char *line = strstr(buf, "first KVM_RUN at ");
	if (line)
		t_run = strtoll(line + strlen("first KVM_RUN at "), NULL, 10);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || t_run < 0 || !t0) {
		fprintf(stderr, "startup: run failed (status 0x%x):\n%s\n", status, buf);
		return -1;
	}
	*to_run = t_run - t0;
	*to_exit = t_end - t0;
	return 0;
}

static void report(const char *what, int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	printf("  %-28s median %8.3f ms  min %8.3f  p90 %8.3f  max %8.3f\n", what, v[n / 2] / 1e6,
	       v[0] / 1e6, v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] / 1e6, v[n - 1] / 1e6);
}

int main(int argc, char **argv)
{
	int runs, argn = 0;
	char **args;
	int64_t *to_run, *to_exit;

	if (argc < 3) {
		fprintf(stderr, "usage: startup RUNS EMBER [ARGS...]\n");
		return 2;
	}
	runs = atoi(argv[1]);
	if (runs < 1 || runs > 10000)
		return 2;
	args = calloc((size_t)argc + 1, sizeof(*args));
	to_run = calloc((size_t)runs, sizeof(*to_run));
	to_exit = calloc((size_t)runs, sizeof(*to_exit));
	if (!args || !to_run || !to_exit)
		return 1;
	for (int i = 2; i < argc; i++)
		args[argn++] = argv[i];
	args[argn++] = "--print-startup";
	/* One warm-up run so page cache state does not skew the first sample. */
	if (run_once(args, &to_run[0], &to_exit[0]))
		return 1;
	for (int i = 0; i < runs; i++)
		if (run_once(args, &to_run[i], &to_exit[i]))
			return 1;
	printf("startup benchmark: %d runs of %s\n", runs, argv[2]);
	report("exec -> first KVM_RUN", to_run, runs);
	report("exec -> VMM exit (guest done)", to_exit, runs);
	free(args);
	free(to_run);
	free(to_exit);
	return 0;
}
