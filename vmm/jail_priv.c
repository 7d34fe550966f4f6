/* ember-jailer's last steps before exec: resource limits, shedding every
 * privilege, closing inherited file descriptors. */
#include "vmm/jail.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"

/* Far above any CAP_LAST_CAP; PR_CAPBSET_DROP says EINVAL past the last. */
#define JAIL_CAP_SCAN 64
#define JAIL_CLOSE_SCAN_MAX (1 << 20)

int jail_set_rlimits(const struct jail_options *o)
{
	struct rlimit nofile = { o->nofile, o->nofile }, fsize = { o->fsize, o->fsize };

	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return err_set(-errno, "--resource-limit no-file=%llu: setrlimit: %s", (unsigned long long)o->nofile,
			       strerror(errno));
	if (o->fsize_set && setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		return err_set(-errno, "--resource-limit fsize=%llu: setrlimit: %s", (unsigned long long)o->fsize,
			       strerror(errno));
	return 0;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(data, 0, 2 * sizeof(*data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return err_set(-errno, "capget: %s", strerror(errno));
	return 0;
}

/* What jail_drop_privileges promises, read back from the kernel. */
static int check_dropped(uid_t uid, gid_t gid)
{
	struct __user_cap_data_struct data[2];
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int ret = caps_get(data);

	if (ret)
		return ret;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return err_set(-EPERM, "capabilities left after the drop (eff %08x prm %08x inh %08x, word %d)",
				       data[i].effective, data[i].permitted, data[i].inheritable, i);
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return err_set(-errno, "getresuid/getresgid: %s", strerror(errno));
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid)
		return err_set(-EPERM, "ids after the drop are uid %u/%u/%u gid %u/%u/%u, not %u:%u", (unsigned)r,
			       (unsigned)e, (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg, (unsigned)uid,
			       (unsigned)gid);
	if (getgroups(0, NULL) != 0)
		return err_set(-EPERM, "supplementary groups left after the drop");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return err_set(-EPERM, "NO_NEW_PRIVS is not set");
	return 0;
}

int jail_drop_privileges(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct none[2];

	if (uid == 0 || gid == 0)
		return err_set(-EPERM, "refusing to run the VMM as root (uid %u, gid %u)", (unsigned)uid, (unsigned)gid);
	/* The bounding set first: it takes CAP_SETPCAP, gone after setresuid. */
	for (int cap = 0; cap < JAIL_CAP_SCAN; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return err_set(-errno, "dropping capability %d from the bounding set: %s", cap, strerror(errno));
	if (setgroups(0, NULL) < 0)
		return err_set(-errno, "setgroups(0): %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return err_set(-errno, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return err_set(-errno, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
	/* setresuid clears effective and permitted, not inheritable or
	 * ambient: with a file's inheritable caps those could come back. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(-errno, "clearing the ambient capabilities: %s", strerror(errno));
	memset(none, 0, sizeof(none));
	if (syscall(SYS_capset, &hdr, none) < 0)
		return err_set(-errno, "capset (clearing every set): %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(-errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return check_dropped(uid, gid);
}

static int close_from_to(unsigned lo, unsigned hi)
{
	struct rlimit rl;
	long max;

	if (lo > hi || syscall(SYS_close_range, lo, hi, 0u) == 0)
		return 0;
	if (errno != ENOSYS)
		return err_set(-errno, "close_range(%u, %u): %s", lo, hi, strerror(errno));
	/* Kernels before 5.9: every fd the hard limit allows (no /proc in a
	 * jail); called before jail_set_rlimits lowers it. */
	max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < JAIL_CLOSE_SCAN_MAX ? (long)rl.rlim_max : JAIL_CLOSE_SCAN_MAX;
	for (long fd = lo; fd < max && fd <= (long)hi; fd++)
		close((int)fd);
	return 0;
}

int jail_close_fds(int keep)
{
	int ret;

	if (keep < 3)
		return close_from_to(3, ~0u);
	if ((ret = close_from_to(3, (unsigned)keep - 1)))
		return ret;
	return close_from_to((unsigned)keep + 1, ~0u);
}
