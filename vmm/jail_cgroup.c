/* ember-jailer's cgroup v2 steps: the VMM's cgroup under
 * /sys/fs/cgroup/<parent-cgroup>/<id>, its controllers and limits. */
#include "vmm/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define CONTROLLERS_MAX 256 /* "+cpu +memory +pids ..." */

int jail_cgroup_check_fs(const char *cgroup_root)
{
	struct statfs sf;

	if (statfs(cgroup_root, &sf) < 0)
		return err_set(-errno, "cgroup: %s: %s", cgroup_root, strerror(errno));
	if (sf.f_type != CGROUP2_SUPER_MAGIC)
		return err_set(-ENOTSUP,
			       "cgroup: %s is not a cgroup2 mount (cgroup v1 is not supported); "
			       "mount one with: mount -t cgroup2 none %s",
			       cgroup_root, cgroup_root);
	return 0;
}

/* One write(2) of all of `text`: cgroup files take a value per write. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return err_set(-ENAMETOOLONG, "cgroup: %s/%s: path too long", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(-errno, "cgroup: opening %s: %s", path, strerror(errno));
	n = write(fd, text, len);
	if (n < 0 || (size_t)n != len) {
		int err = n < 0 ? errno : EIO;

		close(fd);
		return err_set(-err, "cgroup: writing '%s' to %s: %s", text, path, strerror(err));
	}
	if (close(fd) < 0)
		return err_set(-errno, "cgroup: writing '%s' to %s: %s", text, path, strerror(errno));
	return 0;
}

/* "+ctl1 +ctl2" for the controllers the keys name, each once. */
static int controllers_of(const struct jail_cgroup *cg, unsigned n, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		size_t clen = strcspn(cg[i].key, ".");
		char tok[JAIL_CGROUP_KEY_MAX + 3];
		const char *hit;
		bool seen = false;

		snprintf(tok, sizeof(tok), "+%.*s", (int)clen, cg[i].key);
		for (hit = strstr(out, tok); hit && !seen; hit = strstr(hit + 1, tok))
			seen = hit[strlen(tok)] == ' ' || hit[strlen(tok)] == '\0';
		if (seen)
			continue;
		if (used + strlen(tok) + 2 > cap)
			return err_set(-E2BIG, "cgroup: too many controllers");
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", tok);
	}
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "cgroup: mkdir %s: %s", path, strerror(errno));
	return 0;
}

int jail_cgroup_setup(const char *cgroup_root, const struct jail_paths *p, const struct jail_cgroup *cg,
		      unsigned n)
{
	char ctl[CONTROLLERS_MAX], level[PATH_MAX];
	size_t rlen = strlen(cgroup_root), plen = strlen(p->cgroup_parent);
	int ret;

	if (strncmp(p->cgroup_parent, cgroup_root, rlen) || p->cgroup_parent[rlen] != '/' || plen >= sizeof(level))
		return err_set(-EINVAL, "cgroup: %s is not under %s", p->cgroup_parent, cgroup_root);
	if ((ret = controllers_of(cg, n, ctl, sizeof(ctl))))
		return ret;
	/* Each level from the root down to the parent must hand the
	 * controllers to its children (cgroup v2's top-down rule). */
	memcpy(level, p->cgroup_parent, plen + 1);
	for (size_t i = rlen; i <= plen; i++) {
		if (i < plen && p->cgroup_parent[i] != '/')
			continue;
		level[i] = '\0';
		if (i > rlen && (ret = make_dir(level)))
			return ret;
		if (ctl[0] && (ret = write_file(level, "cgroup.subtree_control", ctl)))
			return err_wrap(ret, "enabling controllers (is one missing from cgroup.controllers?)");
		level[i] = p->cgroup_parent[i];
	}
	if ((ret = make_dir(p->cgroup)))
		return ret;
	for (unsigned i = 0; i < n; i++)
		if ((ret = write_file(p->cgroup, cg[i].key, cg[i].value)))
			return ret;
	return 0;
}

int jail_cgroup_join(const char *cgroup_dir)
{
	return write_file(cgroup_dir, "cgroup.procs", "0");
}

int jail_cgroup_remove(const char *cgroup_dir)
{
	/* The reaped VMM leaves the cgroup a moment after waitpid returns. */
	for (int tries = 0;; tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (rmdir(cgroup_dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || tries >= 200)
			return err_set(-errno, "cgroup: rmdir %s: %s", cgroup_dir, strerror(errno));
		nanosleep(&ts, NULL);
	}
}
