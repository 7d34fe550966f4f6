/* libFuzzer target: ember-jailer's command line (run as root, so every
 * byte of it is hostile). The input is split at NUL bytes into argv.
 * Whatever jail_parse_args accepts must hold what the jailer relies on
 * next: a valid id, nonzero uid and gid, bounded cgroups whose keys and
 * values passed their own parser, VMM arguments inside argv, and paths
 * that jail_build_paths either builds or refuses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_argv.h"
#include "vmm/jail.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No "." or ".." component: the path stays where it was built. */
static int has_dot_component(const char *path)
{
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 1;
		c += n;
		c += *c == '/';
	}
	return 0;
}

static void check_accepted(const struct jail_options *o, char *const *argv, int argc)
{
	static struct jail_paths p;
	struct jail_cgroup cg;
	char **vmm_argv;

	if (o->help || o->version)
		return;
	if (jail_check_id(o->id) || !o->uid || !o->gid || o->n_cgroups > JAIL_MAX_CGROUPS)
		abort();
	for (unsigned i = 0; i < o->n_cgroups; i++) {
		char kv[JAIL_CGROUP_KEY_MAX + JAIL_CGROUP_VALUE_MAX + 2];

		strcpy(kv, o->cgroups[i].key);
		strcat(kv, "=");
		strcat(kv, o->cgroups[i].value);
		if (jail_parse_cgroup(kv, &cg) || strcmp(cg.key, o->cgroups[i].key) || strchr(cg.value, '\n'))
			abort();
	}
	if (o->n_exec_args && (o->exec_args < argv || o->exec_args + o->n_exec_args > argv + argc))
		abort();
	if (jail_build_paths(o, JAIL_CGROUP_ROOT, &p) == 0) {
		if (has_dot_component(p.root) || strncmp(p.root, o->chroot_base, strlen(o->chroot_base)))
			abort();
		if (strncmp(p.cgroup, JAIL_CGROUP_ROOT "/", sizeof(JAIL_CGROUP_ROOT)) || has_dot_component(p.cgroup))
			abort();
	}
	if (jail_build_argv(o, "ember", &vmm_argv) == 0) {
		if (strcmp(vmm_argv[2], o->id) || vmm_argv[3 + o->n_exec_args])
			abort();
		free(vmm_argv);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jail_options o;
	char *argv[FUZZ_MAX_ARGS + 1];
	int argc;
	char *copy = fuzz_argv_split(data, size, "ember-jailer", argv, &argc);

	if (!copy)
		return 0;
	if (jail_parse_args(argc, argv, &o) == 0)
		check_accepted(&o, argv, argc);
	free(copy);
	return 0;
}
