/* ember-jailer's command line: parsing, validation and path building.
 * Everything here is pure (no system calls but stat in
 * jail_check_exec_file) so it can be fuzzed. */
#include "vmm/jail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/log.h"

/* Room left in PATH_MAX for "/<exec-name>/<id>/jail.lock" and friends. */
#define JAIL_BASE_MAX (PATH_MAX - JAIL_NAME_MAX - JAIL_ID_MAX - 64)

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int jail_check_id(const char *id)
{
	size_t len;

	if (!id || !id[0])
		return err_set(-EINVAL, "--id: must not be empty");
	len = strnlen(id, JAIL_ID_MAX + 1);
	if (len > JAIL_ID_MAX)
		return err_set(-EINVAL, "--id: longer than %d characters", JAIL_ID_MAX);
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(id[i]) && id[i] != '-')
			return err_set(-EINVAL, "--id: '%s' may hold only letters, digits and '-'", id);
	return 0;
}

/* A file or cgroup name component: [A-Za-z0-9._-], so never "/" and,
 * with no leading '.', never "." or "..". */
static bool name_ok(const char *s, size_t len)
{
	if (!len || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

int jail_exec_name(const char *path, char *name, size_t cap)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t len = strnlen(base, JAIL_NAME_MAX + 1);

	if (!*base)
		return err_set(-EINVAL, "--exec-file: '%s' does not end in a file name", path);
	if (len > JAIL_NAME_MAX || len >= cap)
		return err_set(-EINVAL, "--exec-file: file name longer than %d characters", JAIL_NAME_MAX);
	if (!name_ok(base, len))
		return err_set(-EINVAL,
			       "--exec-file: file name '%s' may hold only letters, digits, '.', '_' and '-' "
			       "and must not start with '.'",
			       base);
	memcpy(name, base, len + 1);
	return 0;
}

int jail_check_exec_file(const char *path, char *name, size_t cap)
{
	struct stat st;
	int ret = jail_exec_name(path, name, cap);

	if (ret)
		return ret;
	if (stat(path, &st) < 0)
		return err_set(-errno, "--exec-file: %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(-EINVAL, "--exec-file: %s: not a regular file", path);
	if (!(st.st_mode & 0111))
		return err_set(-EACCES, "--exec-file: %s: not executable (mode %04o)", path,
			       (unsigned)(st.st_mode & 07777));
	if ((unsigned long long)st.st_size > JAIL_EXEC_FILE_MAX)
		return err_set(-EFBIG, "--exec-file: %s: larger than %llu MiB", path, JAIL_EXEC_FILE_MAX >> 20);
	return 0;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A path argument: not empty, bounded, printable; `absolute` and no "."
 * or ".." component where the jail's layout is derived from it. */
static int check_path(const char *flag, const char *v, size_t max, bool strict)
{
	if (!v[0])
		return err_set(-EINVAL, "%s: must not be empty", flag);
	if (strnlen(v, max) >= max)
		return err_set(-EINVAL, "%s: longer than %zu bytes", flag, max - 1);
	if (has_control_char(v))
		return err_set(-EINVAL, "%s: holds a control character", flag);
	if (!strict)
		return 0;
	if (v[0] != '/')
		return err_set(-EINVAL, "%s: '%s' is not an absolute path", flag, v);
	for (const char *c = v; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return err_set(-EINVAL, "%s: '%s' has a '.' or '..' component", flag, v);
		c += n;
		c += *c == '/';
	}
	return 0;
}

static int check_parent_cgroup(const char *v)
{
	size_t len = strnlen(v, JAIL_PARENT_CGROUP_MAX + 1);

	if (len > JAIL_PARENT_CGROUP_MAX)
		return err_set(-EINVAL, "--parent-cgroup: longer than %d characters", JAIL_PARENT_CGROUP_MAX);
	for (const char *c = v;;) {
		size_t n = strcspn(c, "/");

		if (!name_ok(c, n))
			return err_set(-EINVAL,
				       "--parent-cgroup: '%s' must be relative names of letters, digits, '.', '_' "
				       "and '-' joined by '/', none starting with '.'",
				       v);
		if (!c[n])
			return 0;
		c += n + 1;
	}
}

/* Decimal, no sign, no blanks, within [0, max]. */
static int parse_u64(const char *what, const char *text, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!text[0])
		return err_set(-EINVAL, "%s: must not be empty", what);
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return err_set(-EINVAL, "%s: '%s' is not a decimal number", what, text);
		if (v > (max - (unsigned long long)(*c - '0')) / 10)
			return err_set(-ERANGE, "%s: '%.32s' is larger than %llu", what, text, max);
		v = v * 10 + (unsigned long long)(*c - '0');
	}
	*out = v;
	return 0;
}

/* A uid or gid: 1..2^32-2 (-1 means "unchanged" to setresuid; 0 is root,
 * which the jail exists to shed). */
static int parse_id_number(const char *flag, const char *text, unsigned *out)
{
	unsigned long long v;
	int ret = parse_u64(flag, text, 0xfffffffeull, &v);

	if (ret)
		return ret;
	if (v == 0)
		return err_set(-EINVAL, "%s: 0 is root; the jailed VMM must run unprivileged", flag);
	*out = (unsigned)v;
	return 0;
}

int jail_parse_cgroup(const char *arg, struct jail_cgroup *out)
{
	const char *eq = strchr(arg, '=');
	size_t klen, vlen;
	const char *dot;

	if (!eq)
		return err_set(-EINVAL, "--cgroup: '%.80s' is not KEY=VALUE", arg);
	klen = (size_t)(eq - arg);
	if (!klen || klen > JAIL_CGROUP_KEY_MAX)
		return err_set(-EINVAL, "--cgroup: key must be 1 to %d characters", JAIL_CGROUP_KEY_MAX);
	for (size_t i = 0; i < klen; i++) {
		char c = arg[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
			return err_set(-EINVAL, "--cgroup: key '%.*s' may hold only [a-z0-9._]", (int)klen, arg);
	}
	dot = memchr(arg, '.', klen);
	if (!dot || dot == arg || arg[klen - 1] == '.' || memmem(arg, klen, "..", 2) || arg[0] < 'a')
		return err_set(-EINVAL, "--cgroup: key '%.*s' is not <controller>.<name>", (int)klen, arg);
	/* cgroup.* files decide membership and controllers: the jailer's own. */
	if (dot - arg == 6 && !memcmp(arg, "cgroup", 6))
		return err_set(-EINVAL, "--cgroup: key '%.*s': cgroup.* files are set by the jailer", (int)klen, arg);
	vlen = strnlen(eq + 1, JAIL_CGROUP_VALUE_MAX + 1);
	if (!vlen || vlen > JAIL_CGROUP_VALUE_MAX)
		return err_set(-EINVAL, "--cgroup: %.*s: value must be 1 to %d characters", (int)klen, arg,
			       JAIL_CGROUP_VALUE_MAX);
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)eq[1 + i] < 0x20 || eq[1 + i] == 0x7f)
			return err_set(-EINVAL, "--cgroup: %.*s: value holds a newline or control character",
				       (int)klen, arg);
	memcpy(out->key, arg, klen);
	out->key[klen] = '\0';
	memcpy(out->value, eq + 1, vlen + 1);
	return 0;
}

int jail_parse_rlimit(const char *arg, struct jail_options *o)
{
	const char *eq = strchr(arg, '=');
	unsigned long long v;
	rlim_t *slot;
	bool *set;
	int ret;

	if (!eq)
		return err_set(-EINVAL, "--resource-limit: '%.80s' is not KEY=N", arg);
	if (eq - arg == 5 && !memcmp(arg, "fsize", 5)) {
		slot = &o->fsize, set = &o->fsize_set;
	} else if (eq - arg == 7 && !memcmp(arg, "no-file", 7)) {
		slot = &o->nofile, set = &o->nofile_set;
	} else {
		return err_set(-EINVAL, "--resource-limit: unknown key '%.*s' (fsize or no-file)",
			       (int)(eq - arg > 32 ? 32 : eq - arg), arg);
	}
	if (*set)
		return err_set(-EINVAL, "--resource-limit: %.*s given twice", (int)(eq - arg), arg);
	/* RLIM_INFINITY is all ones: a finite limit stays below it. */
	ret = parse_u64(slot == &o->fsize ? "--resource-limit fsize" : "--resource-limit no-file", eq + 1,
			(unsigned long long)RLIM_INFINITY - 1, &v);
	if (ret)
		return ret;
	*slot = (rlim_t)v;
	*set = true;
	return 0;
}

static bool flag_is(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

/* "--flag VALUE" or "--flag=VALUE"; a flag that takes one value takes it
 * once. */
static int take_value(int argc, char *const argv[], int *i, const char *flag, const char **slot,
		      const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(flag);

	if (slot && *slot)
		return err_set(-EINVAL, "%s given twice", flag);
	if (arg[n] == '=') {
		*value = arg + n + 1;
	} else if (*i + 1 >= argc) {
		return err_set(-EINVAL, "%s needs a value", flag);
	} else {
		*value = argv[++*i];
	}
	if (slot)
		*slot = *value;
	return 0;
}

static int take_switch(const char *arg, const char *flag, bool *b)
{
	if (arg[strlen(flag)] == '=')
		return err_set(-EINVAL, "%s takes no value", flag);
	if (*b)
		return err_set(-EINVAL, "%s given twice", flag);
	*b = true;
	return 0;
}

static int parse_one(int argc, char *const argv[], int *i, struct jail_options *o, const char **uid,
		     const char **gid, const char **cgv)
{
	/* The flags that take one value, once. */
	const struct {
		const char *flag;
		const char **slot;
	} single[] = {
		{ "--id", &o->id }, { "--exec-file", &o->exec_file }, { "--uid", uid }, { "--gid", gid },
		{ "--chroot-base-dir", &o->chroot_base }, { "--netns", &o->netns },
		{ "--parent-cgroup", &o->parent_cgroup }, { "--cgroup-version", cgv },
	};
	const char *arg = argv[*i], *v;
	int ret;

	for (size_t k = 0; k < sizeof(single) / sizeof(single[0]); k++)
		if (flag_is(arg, single[k].flag))
			return take_value(argc, argv, i, single[k].flag, single[k].slot, &v);
	if (flag_is(arg, "--new-pid-ns"))
		return take_switch(arg, "--new-pid-ns", &o->new_pid_ns);
	if (flag_is(arg, "--daemonize"))
		return take_switch(arg, "--daemonize", &o->daemonize);
	if (flag_is(arg, "--cgroup")) {
		if ((ret = take_value(argc, argv, i, "--cgroup", NULL, &v)))
			return ret;
		if (o->n_cgroups >= JAIL_MAX_CGROUPS)
			return err_set(-EINVAL, "--cgroup: at most %d", JAIL_MAX_CGROUPS);
		if ((ret = jail_parse_cgroup(v, &o->cgroups[o->n_cgroups])))
			return ret;
		for (unsigned k = 0; k < o->n_cgroups; k++)
			if (!strcmp(o->cgroups[k].key, o->cgroups[o->n_cgroups].key))
				return err_set(-EINVAL, "--cgroup: %s given twice", o->cgroups[k].key);
		o->n_cgroups++;
		return 0;
	}
	if (flag_is(arg, "--resource-limit")) {
		if ((ret = take_value(argc, argv, i, "--resource-limit", NULL, &v)))
			return ret;
		return jail_parse_rlimit(v, o);
	}
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
		return take_switch(arg, arg, &o->help);
	if (!strcmp(arg, "--version") || !strcmp(arg, "-V"))
		return take_switch(arg, arg, &o->version);
	return err_set(-EINVAL, "unknown argument '%.80s' (the VMM's own arguments go after --)", arg);
}

static int check_exec_args(const struct jail_options *o)
{
	if (o->n_exec_args > JAIL_MAX_EXEC_ARGS)
		return err_set(-E2BIG, "--: at most %d arguments for the VMM", JAIL_MAX_EXEC_ARGS);
	for (int k = 0; k < o->n_exec_args; k++)
		if (flag_is(o->exec_args[k], "--id"))
			return err_set(-EINVAL, "--: the VMM gets --id from the jailer's --id; do not pass it after --");
	return 0;
}

/* What parse_one only collected: the values that are checked as a whole. */
static int check_values(struct jail_options *o, const char *uid, const char *gid, const char *cgv)
{
	static const char *const required[] = { "--id", "--exec-file", "--uid", "--gid" };
	const char *given[] = { o->id, o->exec_file, uid, gid };
	char name[JAIL_NAME_MAX + 1];
	int ret;

	for (size_t k = 0; k < sizeof(given) / sizeof(given[0]); k++)
		if (!given[k])
			return err_set(-EINVAL, "%s is required", required[k]);
	if ((ret = jail_check_id(o->id)) || (ret = check_path("--exec-file", o->exec_file, PATH_MAX, false)) ||
	    (ret = jail_exec_name(o->exec_file, name, sizeof(name))) ||
	    (ret = parse_id_number("--uid", uid, &o->uid)) || (ret = parse_id_number("--gid", gid, &o->gid)) ||
	    (ret = check_path("--chroot-base-dir", o->chroot_base, JAIL_BASE_MAX, true)))
		return ret;
	if (o->netns && (ret = check_path("--netns", o->netns, PATH_MAX, false)))
		return ret;
	if (o->parent_cgroup && (ret = check_parent_cgroup(o->parent_cgroup)))
		return ret;
	if (cgv && !strcmp(cgv, "1"))
		return err_set(-ENOTSUP, "--cgroup-version: cgroup v1 is not supported; use 2");
	if (cgv && strcmp(cgv, "2"))
		return err_set(-EINVAL, "--cgroup-version: '%.16s' is not 2", cgv);
	return check_exec_args(o);
}

int jail_parse_args(int argc, char *const argv[], struct jail_options *o)
{
	const char *uid = NULL, *gid = NULL, *cgv = NULL;
	int i, ret;

	memset(o, 0, sizeof(*o));
	o->cgroup_version = 2;
	o->nofile = JAIL_DEFAULT_NOFILE;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			o->n_exec_args = argc - i - 1;
			o->exec_args = argv + i + 1;
			break;
		}
		if ((ret = parse_one(argc, argv, &i, o, &uid, &gid, &cgv)))
			return ret;
	}
	if (o->help || o->version)
		return 0;
	if (!o->chroot_base)
		o->chroot_base = JAIL_DEFAULT_CHROOT_BASE;
	return check_values(o, uid, gid, cgv);
}

static int join_path(char *out, size_t cap, const char *what, const char *a, const char *b)
{
	/* "/" + "x" gives "/x", not "//x". */
	size_t alen = strlen(a);
	int n = snprintf(out, cap, "%s%s%s", a, alen && a[alen - 1] == '/' ? "" : "/", b);

	if (n < 0 || (size_t)n >= cap)
		return err_set(-ENAMETOOLONG, "%s: '%s/%s' is too long", what, a, b);
	return 0;
}

int jail_build_paths(const struct jail_options *o, const char *cgroup_root, struct jail_paths *p)
{
	char tmp[PATH_MAX];
	int ret;

	memset(p, 0, sizeof(*p));
	if ((ret = jail_check_id(o->id)) || (ret = jail_exec_name(o->exec_file, p->exec_name, sizeof(p->exec_name))))
		return ret;
	if ((ret = join_path(tmp, sizeof(tmp), "--chroot-base-dir", o->chroot_base, p->exec_name)) ||
	    (ret = join_path(p->jail_dir, sizeof(p->jail_dir), "--chroot-base-dir", tmp, o->id)) ||
	    (ret = join_path(p->root, sizeof(p->root), "--chroot-base-dir", p->jail_dir, "root")) ||
	    (ret = join_path(p->lock, sizeof(p->lock), "--chroot-base-dir", p->jail_dir, "jail.lock")))
		return ret;
	if ((ret = join_path(p->cgroup_parent, sizeof(p->cgroup_parent), "--parent-cgroup", cgroup_root,
			     o->parent_cgroup ? o->parent_cgroup : p->exec_name)) ||
	    (ret = join_path(p->cgroup, sizeof(p->cgroup), "--parent-cgroup", p->cgroup_parent, o->id)))
		return ret;
	return 0;
}

int jail_build_argv(const struct jail_options *o, const char *exec_name, char ***argv)
{
	int n = o->n_exec_args;
	char **v;

	if (n < 0 || n > JAIL_MAX_EXEC_ARGS)
		return err_set(-E2BIG, "--: at most %d arguments for the VMM", JAIL_MAX_EXEC_ARGS);
	v = calloc((size_t)n + 4, sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, "no memory for the VMM's %d arguments", n);
	/* execve takes char *const[] but never writes through it. */
	v[0] = (char *)exec_name;
	v[1] = "--id";
	v[2] = (char *)o->id;
	for (int k = 0; k < n; k++)
		v[3 + k] = o->exec_args[k];
	*argv = v;
	return 0;
}

void jail_usage(FILE *f)
{
	fprintf(f,
		"usage: ember-jailer --id ID --exec-file PATH --uid UID --gid GID\n"
		"                    [--chroot-base-dir DIR] [--netns PATH] [--new-pid-ns] [--daemonize]\n"
		"                    [--cgroup-version 2] [--cgroup KEY=VALUE]... [--parent-cgroup NAME]\n"
		"                    [--resource-limit fsize=N|no-file=N]... [-- VMM ARGS...]\n"
		"       ember-jailer --help | --version\n"
		"Runs the VMM (--exec-file, copied into the jail) as UID:GID with no capabilities in\n"
		"DIR/<exec-file-name>/ID/root (DIR defaults to %s), whose /dev holds only kvm,\n"
		"net/tun and urandom, as \"<exec-file-name> --id ID VMM ARGS...\", and exits with its status.\n"
		"  ID                  1-%d letters, digits or '-'\n"
		"  --netns PATH        join this network namespace (e.g. /var/run/netns/NAME)\n"
		"  --new-pid-ns        the VMM is PID 1 of a new PID namespace\n"
		"  --daemonize         detach (new session, stdio on /dev/null) and return at once\n"
		"  --cgroup KEY=VALUE  write VALUE to KEY (e.g. pids.max=64, cpu.max=50000 100000) in\n"
		"                      /sys/fs/cgroup/<parent-cgroup>/ID (cgroup v2)\n"
		"  --parent-cgroup N   defaults to the exec file's name\n"
		"  --resource-limit    fsize=N (bytes) or no-file=N (default no-file=%d)\n"
		"Exit status: the VMM's (128+N if it died of signal N); %d bad arguments, %d a set-up\n"
		"step failed, %d the jail is busy (another ember-jailer holds it), %d the exec failed.\n",
		JAIL_DEFAULT_CHROOT_BASE, JAIL_ID_MAX, JAIL_DEFAULT_NOFILE, JAIL_EXIT_USAGE, JAIL_EXIT_SETUP,
		JAIL_EXIT_BUSY, JAIL_EXIT_EXEC);
}
