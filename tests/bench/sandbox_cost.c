/* What hardening adds to start-up: the time to load each thread kind's
 * seccomp filter as ember does (the program built in at compile time), to
 * build and load it with libseccomp instead (test builds, tools), and to
 * apply a Landlock ruleset; each in a fresh forked child (a filter can
 * never be removed), 50 runs each.
 * Prints the median and p90 in microseconds. No KVM needed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/landlock.h"
#include "vmm/seccomp_filter.h"

#define RUNS 50

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static struct sock_filter *prog[SECCOMP_THREADS];
static unsigned prog_len[SECCOMP_THREADS];

/* -1 kind: Landlock with the rules a one-drive VM gets; kind + 100: the
 * exported program loaded directly. */
static double one_run(int kind)
{
	int fd[2];
	double us = -1;

	if (pipe(fd))
		return -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct landlock_path rules[] = { { "/tmp", LANDLOCK_DIR_FILES }, { "/etc/hostname", LANDLOCK_READ },
						 { "/proc/self/pagemap", LANDLOCK_READ } };
		double t0 = now_us();
		int ret = kind < 0      ? landlock_restrict(rules, 3)
			  : kind >= 100 ? seccomp_filter_load_bpf(prog[kind - 100], prog_len[kind - 100])
					: seccomp_filter_install((enum seccomp_thread)kind, 2);
		double t = now_us() - t0;

		if (ret < 0)
			t = -1;
		if (write(fd[1], &t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], &us, sizeof(us)) != sizeof(us))
		us = -1;
	close(fd[0]);
	waitpid(pid, NULL, 0);
	return us;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	for (int kind = 0; kind < SECCOMP_THREADS; kind++) {
		double t[RUNS];

		if (seccomp_filter_export((enum seccomp_thread)kind, 2, &prog[kind], &prog_len[kind]))
			return 1;
		for (int i = 0; i < RUNS; i++)
			t[i] = one_run(kind + 100);
		qsort(t, RUNS, sizeof(t[0]), cmp);
		printf("sandbox_cost: %-8s built-in program, load: median %.0f us, p90 %.0f us (%u instructions)\n",
		       seccomp_thread_name((enum seccomp_thread)kind), t[RUNS / 2], t[RUNS * 9 / 10], prog_len[kind]);
		free(prog[kind]);
	}
	for (int kind = -1; kind < SECCOMP_THREADS; kind++) {
		double t[RUNS];

		for (int i = 0; i < RUNS; i++)
			if ((t[i] = one_run(kind)) < 0) {
				printf("sandbox_cost: %s: failed (no seccomp or Landlock here?)\n",
				       kind < 0 ? "landlock" : seccomp_thread_name((enum seccomp_thread)kind));
				goto next;
			}
		qsort(t, RUNS, sizeof(t[0]), cmp);
		printf("sandbox_cost: %-8s %s: median %.0f us, p90 %.0f us (%d runs)\n",
		       kind < 0 ? "landlock" : seccomp_thread_name((enum seccomp_thread)kind),
		       kind < 0 ? "restrict (3 paths)" : "libseccomp build + load", t[RUNS / 2], t[RUNS * 9 / 10], RUNS);
next:;
	}
	return 0;
}
