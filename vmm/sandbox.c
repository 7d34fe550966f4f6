#include "vmm/sandbox.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm_spec.h"

static struct sandbox_config config;
static bool configured;

void sandbox_configure(const struct sandbox_config *cfg)
{
	config = *cfg;
	configured = true;
}

bool sandbox_enabled(void)
{
	return configured && (config.seccomp_level != SECCOMP_LEVEL_OFF || config.landlock);
}

int sandbox_enter_main(void)
{
	if (!sandbox_enabled())
		return 0;
	/* Every thread inherits it; seccomp and Landlock need it unprivileged,
	 * and no exec can ever gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return err_set(-errno, "sandbox: no_new_privs: %s", strerror(errno));
	return seccomp_filter_install(SECCOMP_THREAD_MAIN, config.seccomp_level);
}

static int restrict_files(const struct landlock_path *paths, unsigned n, const char *who)
{
	int ret;

	if (!configured || !config.landlock)
		return 0;
	ret = landlock_restrict(paths, n);
	if (ret == 1) {
		static bool said;

		/* Once per process: every thread would say the same. */
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			log_warn("Landlock is not available in this kernel: file access is not restricted");
		return 0;
	}
	return ret ? err_wrap(ret, "%s thread", who) : 0;
}

static int enter_thread(enum seccomp_thread t, const struct landlock_path *paths, unsigned n)
{
	int ret;

	if (!sandbox_enabled())
		return 0;
	/* Landlock first: the thread's own list has no landlock_* calls. */
	ret = restrict_files(paths, n, seccomp_thread_name(t));
	if (!ret)
		ret = seccomp_filter_install(t, config.seccomp_level);
	return ret;
}

int sandbox_enter_vcpu(void)
{
	return enter_thread(SECCOMP_THREAD_VCPU, NULL, 0);
}

int sandbox_enter_api(void)
{
	return enter_thread(SECCOMP_THREAD_API, NULL, 0);
}

static int push(struct sandbox_paths *out, const char *path, unsigned access)
{
	if (!path || !path[0])
		return 0;
	if (out->n == SANDBOX_MAX_PATHS)
		return err_set(-E2BIG, "sandbox: more than %d paths to allow", SANDBOX_MAX_PATHS);
	out->path[out->n++] = (struct landlock_path){ path, access };
	return 0;
}

int sandbox_vm_paths(const struct vm_spec *spec, const struct sandbox_config *cfg, struct sandbox_paths *out)
{
	int ret = 0;

	out->n = 0;
	if (cfg->snapshot_dir) {
		if (snprintf(out->snapshot_dir, sizeof(out->snapshot_dir), "%s", cfg->snapshot_dir) >=
		    (int)sizeof(out->snapshot_dir))
			return err_set(-ENAMETOOLONG, "sandbox: --snapshot-dir is too long");
	} else if (!getcwd(out->snapshot_dir, sizeof(out->snapshot_dir))) {
		return err_set(-errno, "sandbox: getcwd: %s", strerror(errno));
	}
	ret = push(out, out->snapshot_dir, LANDLOCK_DIR_FILES);
	if (!ret && cfg->api_sock) {
		snprintf(out->api_dir, sizeof(out->api_dir), "%s", cfg->api_sock);
		ret = push(out, dirname(out->api_dir), LANDLOCK_DIR_REMOVE);
	}
	if (!ret && spec->vsock.present) {
		snprintf(out->vsock_dir, sizeof(out->vsock_dir), "%s", spec->vsock.uds_path);
		ret = push(out, dirname(out->vsock_dir), LANDLOCK_DIR_REMOVE);
	}
	for (unsigned i = 0; !ret && i < spec->nr_drives; i++)
		ret = push(out, spec->drives[i].path_on_host,
			   LANDLOCK_READ | (spec->drives[i].is_read_only ? 0 : LANDLOCK_WRITE));
	if (!ret && spec->logger.present)
		ret = push(out, spec->logger.log_path, LANDLOCK_WRITE);
	if (!ret && spec->metrics.present)
		ret = push(out, spec->metrics.metrics_path, LANDLOCK_WRITE);
	/* A jail has no /proc: snapshots then read every page instead. */
	if (!ret && access("/proc/self/pagemap", R_OK) == 0)
		ret = push(out, "/proc/self/pagemap", LANDLOCK_READ);
	return ret;
}

int sandbox_enter_vmm(const struct vm_spec *spec)
{
	static struct sandbox_paths paths; /* one VM per process, on one thread */
	int ret;

	if (!sandbox_enabled())
		return 0;
	ret = config.landlock ? sandbox_vm_paths(spec, &config, &paths) : 0;
	if (!ret)
		ret = enter_thread(SECCOMP_THREAD_VMM, paths.path, config.landlock ? paths.n : 0);
	return ret;
}
