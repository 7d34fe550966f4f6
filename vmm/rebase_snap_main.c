/* ember-rebase-snap: merges a diff snapshot's memory file onto its base,
 * with the flags of Firecracker's rebase-snap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/rebase.h"
#include "vmm/log.h"
#include "vmm/version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ember-rebase-snap --base-file BASE --diff-file DIFF\n"
		   "       ember-rebase-snap --version | --help\n"
		   "Copies every page the diff snapshot's memory file holds into the base memory\n"
		   "file, which then is the full memory at the time of the diff.\n");
}

/* Takes "--name VALUE" or "--name=VALUE"; returns 1 if argv[*i] was `name`. */
static int take_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len))
		return 0;
	if (argv[*i][len] == '=') {
		*value = argv[*i] + len + 1;
		return 1;
	}
	if (argv[*i][len] || *i + 1 >= argc)
		return 0;
	*value = argv[++*i];
	return 1;
}

int main(int argc, char **argv)
{
	const char *base = NULL, *diff = NULL;
	struct ram_file_stats st;
	int base_fd, diff_fd, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("ember-rebase-snap %s\n", EMBER_VERSION);
			return 0;
		}
		if (!take_flag(argc, argv, &i, "--base-file", &base) && !take_flag(argc, argv, &i, "--diff-file", &diff)) {
			fprintf(stderr, "ember-rebase-snap: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 1;
		}
	}
	if (!base || !diff || !*base || !*diff) {
		fprintf(stderr, "ember-rebase-snap: both --base-file and --diff-file are required\n");
		usage(stderr);
		return 1;
	}
	base_fd = open(base, O_WRONLY | O_CLOEXEC);
	if (base_fd < 0) {
		fprintf(stderr, "ember-rebase-snap: opening base file %s: %s\n", base, strerror(errno));
		return 1;
	}
	diff_fd = open(diff, O_RDONLY | O_CLOEXEC);
	if (diff_fd < 0) {
		fprintf(stderr, "ember-rebase-snap: opening diff file %s: %s\n", diff, strerror(errno));
		close(base_fd);
		return 1;
	}
	ret = snap_rebase(base_fd, diff_fd, &st);
	/* A failed close after writes can mean the data never reached the disk. */
	if (close(base_fd) < 0 && !ret)
		ret = err_set(-errno, "closing base file: %s", strerror(errno));
	close(diff_fd);
	if (ret) {
		fprintf(stderr, "ember-rebase-snap: %s onto %s: %s\n", diff, base, err_last());
		return 1;
	}
	return 0;
}
