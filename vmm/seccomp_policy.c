#include "vmm/seccomp_policy.h"

#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* What any ember thread does through glibc: locks, logging, malloc,
 * signals, and ending. */
#define THREAD_BASICS                                                                                   \
	{ "futex", SECCOMP_ARG_ANY, "mutexes and condition variables (pause, exit, the API hand-off)" },  \
	{ "write", SECCOMP_ARG_ANY, "log lines; eventfd signals" },                                      \
	{ "rt_sigreturn", SECCOMP_ARG_ANY, "return from a signal handler (the vCPU kick)" },              \
	{ "rt_sigprocmask", SECCOMP_ARG_ANY, "glibc blocks signals around thread operations" },          \
	{ "mmap", SECCOMP_ARG_NO_EXEC, "malloc: large blocks and thread arenas, never executable" },    \
	{ "mprotect", SECCOMP_ARG_NO_EXEC, "malloc grows a thread arena read-write, never executable" }, \
	{ "munmap", SECCOMP_ARG_ANY, "free of large blocks" },                                           \
	{ "mremap", SECCOMP_ARG_ANY, "realloc of large blocks" },                                        \
	{ "madvise", SECCOMP_ARG_ANY, "free hands memory back (MADV_DONTNEED)" },                        \
	{ "brk", SECCOMP_ARG_ANY, "malloc's main arena" },                                               \
	{ "clock_gettime", SECCOMP_ARG_ANY, "log and metrics timestamps where the vDSO is not used" },  \
	{ "getpid", SECCOMP_ARG_ANY, "glibc's pthread_kill and raise" },                                 \
	{ "gettid", SECCOMP_ARG_ANY, "glibc's pthread_kill and raise" },                                 \
	{ "restart_syscall", SECCOMP_ARG_ANY, "a sleep interrupted by a signal resumes" },              \
	{ "exit", SECCOMP_ARG_ANY, "a thread ends" },                                                    \
	{ "exit_group", SECCOMP_ARG_ANY, "the process ends (main returns, or a fatal error)" }

static const struct seccomp_rule vcpu_rules[] = {
	THREAD_BASICS,
	{ "ioctl", SECCOMP_ARG_IOCTL_VCPU,
	  "KVM_RUN; interrupt lines raised by legacy devices; register dumps; the TAP's offloads when the "
	  "guest's virtio-net driver (re)starts the device" },
	{ "prctl", SECCOMP_ARG_PRCTL_NAME, "the thread's name for log lines (PR_GET_NAME)" },
	/* A driver that starts or resets a virtio device does it by an MMIO
	 * write, so the device's (de)activation runs here. */
	{ "epoll_ctl", SECCOMP_ARG_ANY, "virtio-net (de)activation watches or drops its TAP" },
	{ "timerfd_settime", SECCOMP_ARG_ANY, "virtio-net/vsock (de)activation arms or stops a retry timer" },
	{ "read", SECCOMP_ARG_ANY, "virtio-net reset drains its retry timer" },
	{ "close", SECCOMP_ARG_ANY, "virtio-vsock reset (a guest shutting down) drops its host connections" },
	{ "io_uring_enter", SECCOMP_ARG_ANY, "virtio-blk reset waits for the requests in flight" },
};

static const struct seccomp_rule api_rules[] = {
	THREAD_BASICS,
	{ "epoll_wait", SECCOMP_ARG_ANY, "libmicrohttpd waits for connections and data" },
	{ "epoll_ctl", SECCOMP_ARG_ANY, "libmicrohttpd adds and drops connections" },
	{ "accept4", SECCOMP_ARG_ANY, "a client connects to the API socket" },
	{ "read", SECCOMP_ARG_ANY, "request bytes; the inter-thread wake-up eventfd" },
	{ "recvfrom", SECCOMP_ARG_ANY, "request bytes" },
	{ "sendto", SECCOMP_ARG_ANY, "response bytes" },
	{ "sendmsg", SECCOMP_ARG_ANY, "response bytes (header and body at once)" },
	{ "writev", SECCOMP_ARG_ANY, "response bytes (header and body at once)" },
	{ "shutdown", SECCOMP_ARG_ANY, "a connection is finished" },
	{ "close", SECCOMP_ARG_ANY, "a connection is closed" },
	{ "fcntl", SECCOMP_ARG_ANY, "libmicrohttpd makes accepted sockets non-blocking" },
	{ "setsockopt", SECCOMP_ARG_ANY, "libmicrohttpd tunes accepted sockets (corking)" },
	{ "getsockopt", SECCOMP_ARG_ANY, "libmicrohttpd reads socket state" },
	{ "getsockname", SECCOMP_ARG_ANY, "libmicrohttpd reads a connection's address" },
	{ "ioctl", SECCOMP_ARG_IOCTL_API, "libmicrohttpd's FIONBIO/FIONREAD on sockets" },
	/* The API thread is started by a thread that already runs under this
	 * list, so creating it and its first steps belong here. */
	{ "clone", SECCOMP_ARG_THREAD, "starting libmicrohttpd's thread (threads only, never processes)" },
	{ "clone3", SECCOMP_ARG_ENOSYS, "answered ENOSYS so glibc uses clone, whose flags can be checked" },
	{ "set_robust_list", SECCOMP_ARG_ANY, "a new thread registers its robust futex list" },
	{ "rseq", SECCOMP_ARG_ANY, "a new thread registers restartable sequences" },
	{ "epoll_create1", SECCOMP_ARG_ANY, "libmicrohttpd's poller at start" },
	{ "eventfd2", SECCOMP_ARG_ANY, "libmicrohttpd's inter-thread channel at start" },
	{ "prctl", SECCOMP_ARG_PRCTL_NAME, "naming the thread and reading its name for logs" },
	{ "sched_getaffinity", SECCOMP_ARG_ANY, "glibc sizes a new thread's arena" },
};

static const struct seccomp_rule vmm_rules[] = {
	THREAD_BASICS,
	{ "epoll_wait", SECCOMP_ARG_ANY, "the device event loop waits for queue kicks, TAP, sockets, timers" },
	{ "epoll_ctl", SECCOMP_ARG_ANY, "vsock connections and TAP readiness come and go" },
	{ "read", SECCOMP_ARG_ANY, "eventfds, TAP frames, vsock streams, console input, signalfd, timerfd" },
	{ "readv", SECCOMP_ARG_ANY, "TAP frames into guest buffers" },
	{ "writev", SECCOMP_ARG_ANY, "TAP frames from guest buffers" },
	{ "pread64", SECCOMP_ARG_ANY, "virtio-blk synchronous reads; /proc/self/pagemap in a snapshot" },
	{ "pwrite64", SECCOMP_ARG_ANY, "virtio-blk synchronous writes; snapshot files" },
	{ "preadv", SECCOMP_ARG_ANY, "virtio-blk synchronous reads" },
	{ "pwritev", SECCOMP_ARG_ANY, "virtio-blk synchronous writes" },
	{ "fsync", SECCOMP_ARG_ANY, "virtio-blk flush; snapshot files" },
	{ "fdatasync", SECCOMP_ARG_ANY, "virtio-blk flush" },
	{ "io_uring_enter", SECCOMP_ARG_ANY, "virtio-blk's ring, which takes only readv/writev" },
	{ "lseek", SECCOMP_ARG_ANY, "snapshot memory file holes (SEEK_DATA/SEEK_HOLE)" },
	{ "ftruncate", SECCOMP_ARG_ANY, "sizing a snapshot memory file" },
	{ "fallocate", SECCOMP_ARG_ANY, "virtio-blk discard and write-zeroes" },
	{ "openat", SECCOMP_ARG_ANY, "snapshot files; a drive's new backing file (PATCH /drives); Landlock limits where" },
	{ "newfstatat", SECCOMP_ARG_ANY, "a drive's size; a snapshot file's size" },
	{ "fstat", SECCOMP_ARG_ANY, "a drive's size; a snapshot file's size" },
	{ "close", SECCOMP_ARG_ANY, "finished connections and files" },
	{ "fcntl", SECCOMP_ARG_ANY, "non-blocking vsock sockets" },
	{ "socket", SECCOMP_ARG_UNIX_SOCKET, "a guest vsock connection to a host Unix socket (AF_UNIX only)" },
	{ "connect", SECCOMP_ARG_ANY, "a guest vsock connection to a host Unix socket" },
	{ "accept4", SECCOMP_ARG_ANY, "a host connection on the vsock Unix socket" },
	{ "shutdown", SECCOMP_ARG_ANY, "vsock stream half-close" },
	{ "getsockopt", SECCOMP_ARG_ANY, "a vsock connect's result (SO_ERROR)" },
	{ "getrandom", SECCOMP_ARG_ANY, "virtio-rng's entropy" },
	{ "ioctl", SECCOMP_ARG_IOCTL_VMM, "interrupts, dirty log and state capture for snapshots; terminal mode" },
	{ "tgkill", SECCOMP_ARG_ANY, "kicking a vCPU out of KVM_RUN (pause, stop)" },
	{ "timerfd_settime", SECCOMP_ARG_ANY, "rate limiter and metrics timers" },
	{ "getrusage", SECCOMP_ARG_ANY, "peak RSS in --print-exit-stats" },
	{ "mincore", SECCOMP_ARG_ANY, "guest pages resident, for metrics and exit stats" },
	{ "unlink", SECCOMP_ARG_ANY, "removing the API and vsock sockets at exit" },
	{ "recvfrom", SECCOMP_ARG_ANY, "vsock stream data from host sockets" },
	{ "sendto", SECCOMP_ARG_ANY, "vsock stream data to host sockets" },
	{ "access", SECCOMP_ARG_ANY, "checking a drive's new backing file (PATCH /drives)" },
	{ "flock", SECCOMP_ARG_ANY, "locking a drive's new backing file (PATCH /drives)" },
	{ "prctl", SECCOMP_ARG_PRCTL_NAME, "the thread's name for log lines (PR_GET_NAME)" },
};

/* Set-up: everything the runtime lists need, plus what building a VM,
 * opening devices and starting threads takes. Never exec, ptrace, mount,
 * namespaces, module loading, or executable memory. */
static const struct seccomp_rule main_rules[] = {
	THREAD_BASICS,
	{ "read", SECCOMP_ARG_ANY, "config files, kernel and initrd images, snapshot files" },
	{ "readv", SECCOMP_ARG_ANY, "as at run time" },
	{ "writev", SECCOMP_ARG_ANY, "as at run time" },
	{ "pread64", SECCOMP_ARG_ANY, "images and snapshot files" },
	{ "pwrite64", SECCOMP_ARG_ANY, "as at run time" },
	{ "preadv", SECCOMP_ARG_ANY, "as at run time" },
	{ "pwritev", SECCOMP_ARG_ANY, "as at run time" },
	{ "fsync", SECCOMP_ARG_ANY, "as at run time" },
	{ "fdatasync", SECCOMP_ARG_ANY, "as at run time" },
	{ "lseek", SECCOMP_ARG_ANY, "image sizes; snapshot memory file extents" },
	{ "ftruncate", SECCOMP_ARG_ANY, "as at run time" },
	{ "fallocate", SECCOMP_ARG_ANY, "as at run time" },
	{ "openat", SECCOMP_ARG_ANY, "config, images, drives, the KVM and TUN device nodes, log and metrics files" },
	{ "close", SECCOMP_ARG_ANY, "files and sockets" },
	{ "newfstatat", SECCOMP_ARG_ANY, "file sizes and types" },
	{ "fstat", SECCOMP_ARG_ANY, "file sizes and types" },
	{ "statx", SECCOMP_ARG_ANY, "file sizes and types" },
	{ "fcntl", SECCOMP_ARG_ANY, "descriptor flags" },
	{ "dup", SECCOMP_ARG_ANY, "the console's descriptors" },
	{ "ioctl", SECCOMP_ARG_IOCTL_SETUP, "KVM (0xAE) requests; TUN and terminal ('T') requests" },
	{ "epoll_create1", SECCOMP_ARG_ANY, "the device event loop" },
	{ "epoll_ctl", SECCOMP_ARG_ANY, "the device event loop" },
	{ "epoll_wait", SECCOMP_ARG_ANY, "the event loop serves the API before boot" },
	{ "eventfd2", SECCOMP_ARG_ANY, "queue kicks, interrupts, wake-ups" },
	{ "signalfd4", SECCOMP_ARG_ANY, "SIGTERM/SIGINT/SIGHUP as events" },
	{ "timerfd_create", SECCOMP_ARG_ANY, "metrics and rate limiter timers" },
	{ "timerfd_settime", SECCOMP_ARG_ANY, "metrics and rate limiter timers" },
	{ "rt_sigaction", SECCOMP_ARG_ANY, "the vCPU kick handler; SIGPIPE ignored" },
	{ "socket", SECCOMP_ARG_UNIX_SOCKET, "the API and vsock Unix sockets (AF_UNIX only)" },
	{ "bind", SECCOMP_ARG_ANY, "the API and vsock Unix sockets" },
	{ "listen", SECCOMP_ARG_ANY, "the API and vsock Unix sockets" },
	{ "accept4", SECCOMP_ARG_ANY, "as at run time" },
	{ "connect", SECCOMP_ARG_ANY, "as at run time" },
	{ "shutdown", SECCOMP_ARG_ANY, "as at run time" },
	{ "getsockopt", SECCOMP_ARG_ANY, "as at run time" },
	{ "setsockopt", SECCOMP_ARG_ANY, "as the API thread" },
	{ "getsockname", SECCOMP_ARG_ANY, "as the API thread" },
	{ "recvfrom", SECCOMP_ARG_ANY, "as the API thread" },
	{ "sendto", SECCOMP_ARG_ANY, "as the API thread" },
	{ "sendmsg", SECCOMP_ARG_ANY, "as the API thread" },
	{ "unlink", SECCOMP_ARG_ANY, "a stale vsock socket; the API socket at exit" },
	{ "clone", SECCOMP_ARG_THREAD, "vCPU and API threads (threads only, never processes)" },
	{ "clone3", SECCOMP_ARG_ENOSYS, "answered ENOSYS so glibc uses clone, whose flags can be checked" },
	{ "set_robust_list", SECCOMP_ARG_ANY, "a new thread registers its robust futex list" },
	{ "rseq", SECCOMP_ARG_ANY, "a new thread registers restartable sequences" },
	{ "sched_getaffinity", SECCOMP_ARG_ANY, "glibc sizes thread arenas" },
	{ "prctl", SECCOMP_ARG_ANY, "no_new_privs and thread names" },
	{ "seccomp", SECCOMP_ARG_ANY, "each thread stacks its own list on this one" },
	{ "landlock_create_ruleset", SECCOMP_ARG_ANY, "the file-system rules of the running VM" },
	{ "landlock_add_rule", SECCOMP_ARG_ANY, "the file-system rules of the running VM" },
	{ "landlock_restrict_self", SECCOMP_ARG_ANY, "the file-system rules of the running VM" },
	{ "io_uring_setup", SECCOMP_ARG_ANY, "virtio-blk's ring, created restricted to readv/writev" },
	{ "io_uring_enter", SECCOMP_ARG_ANY, "virtio-blk's ring, which takes only readv/writev" },
	{ "io_uring_register", SECCOMP_ARG_ANY, "virtio-blk's ring: its eventfd and restrictions, before it runs" },
	{ "getrandom", SECCOMP_ARG_ANY, "virtio-rng; glibc's malloc" },
	{ "tgkill", SECCOMP_ARG_ANY, "as at run time" },
	{ "getrusage", SECCOMP_ARG_ANY, "as at run time" },
	{ "mincore", SECCOMP_ARG_ANY, "as at run time" },
	{ "sysinfo", SECCOMP_ARG_ANY, "glibc's page counts" },
	{ "uname", SECCOMP_ARG_ANY, "host kernel version in logs" },
	{ "getcwd", SECCOMP_ARG_ANY, "the working directory Landlock leaves writable" },
	{ "readlink", SECCOMP_ARG_ANY, "resolving paths" },
	{ "prlimit64", SECCOMP_ARG_ANY, "glibc reads the stack limit for new threads" },
	{ "access", SECCOMP_ARG_ANY, "checking that configured files exist and are readable" },
	{ "flock", SECCOMP_ARG_ANY, "locking drive images so no second VMM writes them" },
};

static const struct seccomp_ioctl vcpu_ioctls[] = {
	{ KVM_RUN, "KVM_RUN" },
	{ KVM_IRQ_LINE, "KVM_IRQ_LINE" },
	{ KVM_GET_REGS, "KVM_GET_REGS" },
	{ KVM_GET_SREGS, "KVM_GET_SREGS" },
	{ TUNSETOFFLOAD, "TUNSETOFFLOAD" },
	{ TUNSETVNETHDRSZ, "TUNSETVNETHDRSZ" },
};

static const struct seccomp_ioctl vmm_ioctls[] = {
	{ KVM_IRQ_LINE, "KVM_IRQ_LINE" },
	{ KVM_GET_DIRTY_LOG, "KVM_GET_DIRTY_LOG" },
	{ KVM_IRQFD, "KVM_IRQFD" },
	{ KVM_IOEVENTFD, "KVM_IOEVENTFD" },
	{ KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION" },
	{ KVM_GET_REGS, "KVM_GET_REGS" },
	{ KVM_GET_SREGS, "KVM_GET_SREGS" },
	{ KVM_GET_FPU, "KVM_GET_FPU" },
	{ KVM_GET_XSAVE, "KVM_GET_XSAVE" },
	{ KVM_GET_XCRS, "KVM_GET_XCRS" },
	{ KVM_GET_LAPIC, "KVM_GET_LAPIC" },
	{ KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS" },
	{ KVM_GET_MP_STATE, "KVM_GET_MP_STATE" },
	{ KVM_GET_MSRS, "KVM_GET_MSRS" },
	{ KVM_GET_CPUID2, "KVM_GET_CPUID2" },
	{ KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP" },
	{ KVM_GET_PIT2, "KVM_GET_PIT2" },
	{ KVM_GET_CLOCK, "KVM_GET_CLOCK" },
	{ TCGETS, "TCGETS" },
	{ TCSETS, "TCSETS" },
	{ TCSETSW, "TCSETSW" },
	{ FIONBIO, "FIONBIO" },
	{ FIONREAD, "FIONREAD" },
};

static const struct seccomp_ioctl api_ioctls[] = {
	{ FIONBIO, "FIONBIO" },
	{ FIONREAD, "FIONREAD" },
};

static const char *const thread_names[SECCOMP_THREADS] = { "main", "vmm", "vcpu", "api" };
static const char *const thread_roles[SECCOMP_THREADS] = {
	"the main thread while it sets up (config, API-driven configuration, building the VM); "
	"every thread inherits this list",
	"the main thread once the guest runs: the device event loop, the controller and snapshots",
	"each vCPU thread: KVM_RUN and the device registers it reaches by port or MMIO exits",
	"libmicrohttpd's thread on the API socket; it parses requests and hands them to the vmm thread",
};

const char *seccomp_thread_name(enum seccomp_thread t)
{
	return t < SECCOMP_THREADS ? thread_names[t] : "?";
}

const char *seccomp_thread_role(enum seccomp_thread t)
{
	return t < SECCOMP_THREADS ? thread_roles[t] : "?";
}

const struct seccomp_rule *seccomp_policy_rules(enum seccomp_thread t, unsigned *n)
{
	switch (t) {
	case SECCOMP_THREAD_MAIN:
		*n = ARRAY_LEN(main_rules);
		return main_rules;
	case SECCOMP_THREAD_VMM:
		*n = ARRAY_LEN(vmm_rules);
		return vmm_rules;
	case SECCOMP_THREAD_VCPU:
		*n = ARRAY_LEN(vcpu_rules);
		return vcpu_rules;
	case SECCOMP_THREAD_API:
		*n = ARRAY_LEN(api_rules);
		return api_rules;
	default:
		*n = 0;
		return NULL;
	}
}

const struct seccomp_ioctl *seccomp_policy_ioctls(enum seccomp_arg a, unsigned *n)
{
	if (a == SECCOMP_ARG_IOCTL_VCPU) {
		*n = ARRAY_LEN(vcpu_ioctls);
		return vcpu_ioctls;
	}
	if (a == SECCOMP_ARG_IOCTL_VMM) {
		*n = ARRAY_LEN(vmm_ioctls);
		return vmm_ioctls;
	}
	if (a == SECCOMP_ARG_IOCTL_API) {
		*n = ARRAY_LEN(api_ioctls);
		return api_ioctls;
	}
	*n = 0;
	return NULL;
}

const struct seccomp_rule *seccomp_policy_find(enum seccomp_thread t, const char *syscall)
{
	unsigned n;
	const struct seccomp_rule *r = seccomp_policy_rules(t, &n);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(r[i].syscall, syscall))
			return &r[i];
	return NULL;
}
