#include "vmm/seccomp_filter.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "vmm/log.h"
#include "vmm/seccomp_prebuilt.h"

/* Only the low 32 bits: glibc passes an int-sized request in a long, and
 * a sign-extended copy must not slip past an exact match. */
#define IOCTL_REQUEST_MASK 0xffffffffULL
#define IOCTL_TYPE_MASK 0xff00ULL

static uint32_t default_action = SCMP_ACT_KILL_PROCESS;

void seccomp_filter_set_default_action(uint32_t action)
{
	default_action = action;
}

static const unsigned setup_ioctl_types[] = { 0xAE /* KVM */, 'T' /* TUN, terminal */ };

static int add_ioctls(scmp_filter_ctx ctx, int nr, enum seccomp_arg a)
{
	unsigned n;
	const struct seccomp_ioctl *io = seccomp_policy_ioctls(a, &n);
	int ret = 0;

	if (a == SECCOMP_ARG_IOCTL_SETUP) {
		for (unsigned i = 0; !ret && i < sizeof(setup_ioctl_types) / sizeof(setup_ioctl_types[0]); i++)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					       SCMP_A1(SCMP_CMP_MASKED_EQ, IOCTL_TYPE_MASK, setup_ioctl_types[i] << 8));
		return ret;
	}
	for (unsigned i = 0; !ret && i < n; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, IOCTL_REQUEST_MASK, io[i].request));
	return ret;
}

/* libseccomp's own return codes; add_rule says which rule failed. */
static int add_conditions(scmp_filter_ctx ctx, const struct seccomp_rule *r, int nr, int level)
{
	if (r->arg == SECCOMP_ARG_ENOSYS)
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	if (level < SECCOMP_LEVEL_ARGS || r->arg == SECCOMP_ARG_ANY)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	switch (r->arg) {
	case SECCOMP_ARG_IOCTL_VCPU:
	case SECCOMP_ARG_IOCTL_VMM:
	case SECCOMP_ARG_IOCTL_API:
	case SECCOMP_ARG_IOCTL_SETUP:
		return add_ioctls(ctx, nr, r->arg);
	case SECCOMP_ARG_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SECCOMP_ARG_THREAD:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case SECCOMP_ARG_UNIX_SOCKET:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	case SECCOMP_ARG_PRCTL_NAME: {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));

		return ret ? ret : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	}
	default:
		return -EINVAL;
	}
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r, int level)
{
	int nr = seccomp_syscall_resolve_name(r->syscall), ret;

	if (nr == __NR_SCMP_ERROR)
		return err_set(-EINVAL, "seccomp: unknown syscall '%s' in the policy", r->syscall);
	ret = add_conditions(ctx, r, nr, level);
	if (ret)
		return err_set(ret, "seccomp: rule for %s (argument check %d): %s", r->syscall, (int)r->arg,
			       strerror(-ret));
	return 0;
}

int seccomp_filter_build(enum seccomp_thread t, int level, uint32_t action, scmp_filter_ctx *out)
{
	unsigned n;
	const struct seccomp_rule *rules = seccomp_policy_rules(t, &n);
	scmp_filter_ctx ctx;

	if (!rules)
		return err_set(-EINVAL, "seccomp: no thread kind %d", (int)t);
	if (level != SECCOMP_LEVEL_SYSCALLS && level != SECCOMP_LEVEL_ARGS)
		return err_set(-EINVAL, "seccomp: level %d has no filter (1 or 2)", level);
	ctx = seccomp_init(action);
	if (!ctx)
		return err_set(-ENOMEM, "seccomp: cannot start the %s filter", seccomp_thread_name(t));
	for (unsigned i = 0; i < n; i++) {
		int ret = add_rule(ctx, &rules[i], level);

		if (ret) {
			seccomp_release(ctx);
			return err_wrap(ret, "%s filter", seccomp_thread_name(t));
		}
	}
	*out = ctx;
	return 0;
}

int seccomp_filter_export(enum seccomp_thread t, int level, struct sock_filter **out, unsigned *len)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int ret, fd;

	ret = seccomp_filter_build(t, level, SCMP_ACT_KILL_PROCESS, &ctx);
	if (ret)
		return ret;
	fd = memfd_create("ember-seccomp", MFD_CLOEXEC);
	ret = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (!ret && fstat(fd, &st))
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % sizeof(**out) || st.st_size / sizeof(**out) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (!ret && !(*out = malloc((size_t)st.st_size)))
		ret = -ENOMEM;
	if (!ret && pread(fd, *out, (size_t)st.st_size, 0) != st.st_size) {
		ret = -EIO;
		free(*out);
	}
	if (fd >= 0)
		close(fd);
	if (ret)
		return err_set(ret, "seccomp: exporting the %s filter: %s", seccomp_thread_name(t), strerror(-ret));
	*len = (unsigned)(st.st_size / sizeof(**out));
	return 0;
}

int seccomp_filter_load_bpf(const struct sock_filter *prog, unsigned len)
{
	struct sock_fprog fp = { .len = (unsigned short)len, .filter = (struct sock_filter *)prog };

	if (!len || len > BPF_MAXINSNS)
		return err_set(-EINVAL, "seccomp: a program of %u instructions", len);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return err_set(-errno, "seccomp: no_new_privs: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
		return err_set(-errno, "seccomp: loading a program: %s", strerror(errno));
	return 0;
}

int seccomp_filter_install(enum seccomp_thread t, int level)
{
	const struct sock_filter *prog;
	scmp_filter_ctx ctx;
	unsigned len;
	int ret;

	if (level == SECCOMP_LEVEL_OFF)
		return 0;
	/* The programs built into ember by ember-seccomp-gen: no libseccomp
	 * work on any thread at start-up. */
	if (default_action == SCMP_ACT_KILL_PROCESS && seccomp_prebuilt_find(t, level, &prog, &len))
		return seccomp_filter_load_bpf(prog, len);
	ret = seccomp_filter_build(t, level, default_action, &ctx);
	if (ret)
		return ret;
	ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret)
		return err_set(ret, "seccomp: loading the %s filter: %s", seccomp_thread_name(t), strerror(-ret));
	return 0;
}

static void print_condition(FILE *out, const struct seccomp_rule *r)
{
	unsigned n;
	const struct seccomp_ioctl *io = seccomp_policy_ioctls(r->arg, &n);

	switch (r->arg) {
	case SECCOMP_ARG_IOCTL_SETUP:
		fprintf(out, "request type 0xAE (KVM) or 'T' (TUN, terminal)");
		return;
	case SECCOMP_ARG_NO_EXEC:
		fprintf(out, "prot without PROT_EXEC");
		return;
	case SECCOMP_ARG_THREAD:
		fprintf(out, "flags with CLONE_THREAD");
		return;
	case SECCOMP_ARG_UNIX_SOCKET:
		fprintf(out, "domain AF_UNIX");
		return;
	case SECCOMP_ARG_ENOSYS:
		fprintf(out, "fails with ENOSYS");
		return;
	case SECCOMP_ARG_PRCTL_NAME:
		fprintf(out, "option PR_GET_NAME or PR_SET_NAME");
		return;
	default:
		break;
	}
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "," : "request ", io[i].name);
}

int seccomp_filter_print(FILE *out, enum seccomp_thread t, int level)
{
	unsigned n;
	const struct seccomp_rule *rules = seccomp_policy_rules(t, &n);

	if (!rules)
		return err_set(-EINVAL, "seccomp: no thread kind %d", (int)t);
	fprintf(out, "# %s: %s\n", seccomp_thread_name(t), seccomp_thread_role(t));
	if (level == SECCOMP_LEVEL_OFF) {
		fprintf(out, "(no filter: --seccomp-level 0)\n");
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "%-24s ", rules[i].syscall);
		if ((level == SECCOMP_LEVEL_ARGS && rules[i].arg != SECCOMP_ARG_ANY) || rules[i].arg == SECCOMP_ARG_ENOSYS)
			print_condition(out, &rules[i]);
		else
			fprintf(out, "any arguments");
		fprintf(out, " | %s\n", rules[i].why);
	}
	fprintf(out, "%-24s anything else kills the process (SIGSYS)\n", "*");
	return 0;
}

int seccomp_filter_print_pfc(FILE *out, enum seccomp_thread t, int level)
{
	scmp_filter_ctx ctx;
	int ret;

	if (level == SECCOMP_LEVEL_OFF)
		return 0;
	ret = seccomp_filter_build(t, level, SCMP_ACT_KILL_PROCESS, &ctx);
	if (ret)
		return ret;
	fflush(out);
	ret = seccomp_export_pfc(ctx, fileno(out));
	seccomp_release(ctx);
	return ret ? err_set(ret, "seccomp: exporting the %s filter: %s", seccomp_thread_name(t), strerror(-ret)) : 0;
}
