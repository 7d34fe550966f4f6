/* ember test agent: /init of the Debian guest initramfs (issue 3).
 *
 * Mounts proc, sys and devtmpfs, loads the modules listed in
 * /etc/ember-modules (one path a line, already in modules.dep order) with
 * finit_module, then runs the scenario named by ember.scenario=NAME on the
 * kernel command line (default "shell"). Every step prints a marker line
 *
 *     EMBER-AGENT <seconds since boot, CLOCK_BOOTTIME> <event> [detail]
 *
 * on the console, so a test on the host can follow the boot and time it.
 * Scenarios live in the table at the bottom; add new ones there.
 *
 * root=/dev/vdX (or ember.root=, which wins) makes the agent, once the
 * modules are loaded, mount that device (ext4) and switch_root into it,
 * exec'ing its /sbin/init, as a distribution initramfs does: with an
 * initramfs the kernel leaves root= to /init.
 *
 * Built static: gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODULE_LIST "/etc/ember-modules"
#define SHELL_PATH "/bin/sh"

static char cmdline[4096];

/* One write per line so kernel messages do not split our lines. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char buf[4608];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += w;
	}
}

static void marker(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void marker(const char *fmt, ...)
{
	char ev[4096];
	struct timespec ts = { 0, 0 };
	va_list ap;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(ev, sizeof(ev), fmt, ap);
	va_end(ap);
	out("EMBER-AGENT %ld.%06ld %s", (long)ts.tv_sec, ts.tv_nsec / 1000, ev);
}

/* PID 1 must never exit: end the VM instead. */
static void __attribute__((noreturn)) finish(int cmd, const char *what)
{
	marker("%s", what);
	sync();
	reboot(cmd);
	marker("reboot-failed %s errno=%d", what, errno);
	for (;;)
		pause();
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Value of KEY=... on the command line, copied into val; 0 if found. */
static int cmdline_get(const char *key, char *val, size_t size)
{
	size_t klen = strlen(key);
	int found = -1;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *end = p + strcspn(p, " \n");
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = end - (p + klen + 1);
			if (n >= size)
				n = size - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			found = 0; /* the last one wins, as in the kernel */
		}
		p = end;
	}
	return found;
}

static void setup_console(void)
{
	/* The kernel opens /dev/console from the initramfs for fds 0-2; if
	 * the archive lacked the node, reopen it from devtmpfs. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
}

static void mount_fs(void)
{
	static const struct {
		const char *src, *dir, *type;
	} m[] = {
		{ "proc", "/proc", "proc" },
		{ "sysfs", "/sys", "sysfs" },
		{ "devtmpfs", "/dev", "devtmpfs" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mkdir(m[i].dir, 0755);
		if (mount(m[i].src, m[i].dir, m[i].type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
			marker("mount-failed %s errno=%d", m[i].dir, errno);
	}
}

static void load_modules(void)
{
	FILE *f = fopen(MODULE_LIST, "re");
	int loaded = 0, failed = 0;
	char line[512];
	if (!f) {
		marker("modules-none %s", MODULE_LIST);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			marker("module-missing %s", line);
			failed++;
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
			marker("module-failed %s errno=%d", line, errno);
			failed++;
		} else {
			loaded++;
		}
		close(fd);
	}
	fclose(f);
	marker("modules-loaded n=%d failed=%d", loaded, failed);
}

/* ---- scenarios ---- */

static void sc_info(void)
{
	struct utsname u;
	char c[sizeof(cmdline)];
	size_t n;
	uname(&u);
	strcpy(c, cmdline);
	n = strlen(c);
	if (n && c[n - 1] == '\n')
		c[n - 1] = '\0';
	out("nproc=%ld", sysconf(_SC_NPROCESSORS_ONLN));
	out("cmdline=%s", c);
	out("kernel=%s", u.release);
	marker("info-done");
	finish(RB_POWER_OFF, "poweroff");
}

/* "tick N" every 100 ms until ember.ticks=N (default: forever): a guest
 * that keeps running and shows when it runs, for pause/resume and
 * Ctrl-Alt-Del over the API. */
static void sc_ticker(void)
{
	char v[32];
	long max = -1;

	if (cmdline_get("ember.ticks", v, sizeof(v)) == 0)
		max = atol(v);
	for (long n = 0; max < 0 || n < max; n++) {
		marker("tick %ld", n);
		usleep(100000);
	}
	finish(RB_POWER_OFF, "poweroff");
}

static void sc_poweroff(void)
{
	finish(RB_POWER_OFF, "poweroff");
}

static void sc_reboot(void)
{
	finish(RB_AUTOBOOT, "reboot");
}

static void sc_panic(void)
{
	marker("panic");
	sync();
	if (write_file("/proc/sys/kernel/sysrq", "1") < 0)
		marker("sysrq-enable-failed errno=%d", errno);
	write_file("/proc/sysrq-trigger", "c");
	marker("panic-failed errno=%d", errno);
	finish(RB_POWER_OFF, "poweroff");
}

/* The tty named by the last console= (e.g. ttyS0,115200): a real tty,
 * unlike /dev/console, so the shell gets job control. */
static void console_tty(char *path, size_t size)
{
	char con[64];
	if (cmdline_get("console", con, sizeof(con)) == 0) {
		con[strcspn(con, ",")] = '\0';
		snprintf(path, size, "/dev/%s", con);
		if (access(path, R_OK | W_OK) == 0)
			return;
	}
	snprintf(path, size, "/dev/console");
}

static void sc_shell(void)
{
	char tty[80];
	console_tty(tty, sizeof(tty));
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int fd = open(tty, O_RDWR);
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTSTP, SIG_DFL);
		char *const argv[] = { "-sh", NULL };
		char *const envp[] = { "HOME=/", "TERM=linux", "PS1=ember:\\w# ",
			"PATH=/sbin:/usr/sbin:/bin:/usr/bin", NULL };
		execve(SHELL_PATH, argv, envp);
		out("exec %s failed: %s", SHELL_PATH, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		marker("fork-failed errno=%d", errno);
	} else {
		int st;
		pid_t w;
		/* As PID 1, reap everything until the shell itself exits. */
		while ((w = wait(&st)) != pid)
			if (w < 0 && errno != EINTR)
				break;
		marker("shell-exited");
	}
	finish(RB_POWER_OFF, "poweroff");
}

/* ---- block and rng scenarios (virtio-blk, virtio-rng) ---- */

static const char *errname(int e)
{
	static char buf[16];
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* Integer value of KEY=N on the command line, or def. */
static long cmdline_long(const char *key, long def)
{
	char v[32], *end;
	if (cmdline_get(key, v, sizeof(v)) < 0)
		return def;
	long n = strtol(v, &end, 0);
	return *end || end == v ? def : n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Device nodes appear as the modules probe; allow a few seconds. */
static int wait_dev(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(50 * 1000);
	}
	marker("dev-missing %s", path);
	return -1;
}

/* First line of a (small) file, without its newline; -1 if unreadable. */
static int first_line(const char *path, char *buf, size_t size)
{
	if (read_file(path, buf, size) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_ull(const char *path, unsigned long long *v)
{
	char buf[64], *end;
	if (first_line(path, buf, sizeof(buf)) < 0)
		return -1;
	*v = strtoull(buf, &end, 10);
	return end == buf ? -1 : 0;
}

/* blk-read: mount /dev/vda read-only at /mnt, print the first line of
 * ember.file (default /hello.txt) and the disk's size in sectors. */
static void sc_blk_read(void)
{
	char path[256] = "/hello.txt", full[320], line[1024];
	unsigned long long sectors;
	cmdline_get("ember.file", path, sizeof(path));
	if (wait_dev("/dev/vda") < 0)
		finish(RB_POWER_OFF, "poweroff");
	if (read_ull("/sys/block/vda/size", &sectors) == 0)
		marker("blk-size sectors=%llu", sectors);
	else
		marker("blk-size-failed errno=%s", errname(errno));
	mkdir("/mnt", 0755);
	if (mount("/dev/vda", "/mnt", "ext4", MS_RDONLY, NULL) < 0) {
		marker("blk-read-failed mount errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	snprintf(full, sizeof(full), "/mnt%s%s", path[0] == '/' ? "" : "/", path);
	if (first_line(full, line, sizeof(line)) < 0)
		marker("blk-read-failed open %s errno=%s", path, errname(errno));
	else
		marker("blk-read file=%s content=%s", path, line);
	if (umount("/mnt") < 0)
		marker("blk-read-failed umount errno=%s", errname(errno));
	finish(RB_POWER_OFF, "poweroff");
}

/* blk-write: mount /dev/vda read-write, write ember.data (and a newline)
 * to /written.txt, fsync, unmount, sync. */
static void sc_blk_write(void)
{
	char data[1024] = "ember";
	const char *step = "mount";
	int fd = -1;
	cmdline_get("ember.data", data, sizeof(data));
	strcat(data, "\n");
	if (wait_dev("/dev/vda") < 0)
		finish(RB_POWER_OFF, "poweroff");
	mkdir("/mnt", 0755);
	if (mount("/dev/vda", "/mnt", "ext4", 0, NULL) < 0)
		goto fail;
	step = "open";
	fd = open("/mnt/written.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	step = "write";
	if (write(fd, data, strlen(data)) != (ssize_t)strlen(data)) {
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	step = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	step = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "umount";
	if (umount("/mnt") < 0)
		goto fail;
	sync();
	marker("blk-write-done bytes=%zu", strlen(data));
	finish(RB_POWER_OFF, "poweroff");
fail:
	marker("blk-write-failed %s errno=%s", step, errname(errno));
	if (fd >= 0)
		close(fd);
	finish(RB_POWER_OFF, "poweroff");
}

/* A minimal virtio-blk driver in user space, for blk-ro: Linux refuses
 * every write to a disk offered with VIRTIO_BLK_F_RO in the block layer
 * (pwrite, BLKZEROOUT, BLKDISCARD: EPERM), so only a driver that ignores
 * the flag can ask the device itself. The disk's virtio-mmio transport is
 * unbound from the kernel's virtio-mmio driver (which resets the device and
 * frees its registers for /dev/mem), then driven through /dev/mem: one
 * queue of 8 in one locked page whose physical address comes from
 * /proc/self/pagemap, one request at a time, polled (no interrupt).
 * Handles virtio-mmio version 1 (legacy) and 2. */
enum {
	VM_MAGIC = 0x000, VM_VERSION = 0x004, VM_DEVICE_ID = 0x008,
	VM_DEV_FEATURES = 0x010, VM_DEV_FEATURES_SEL = 0x014,
	VM_DRV_FEATURES = 0x020, VM_DRV_FEATURES_SEL = 0x024,
	VM_GUEST_PAGE_SIZE = 0x028, VM_QUEUE_SEL = 0x030, VM_QUEUE_NUM_MAX = 0x034,
	VM_QUEUE_NUM = 0x038, VM_QUEUE_ALIGN = 0x03c, VM_QUEUE_PFN = 0x040,
	VM_QUEUE_READY = 0x044, VM_QUEUE_NOTIFY = 0x050, VM_IRQ_STATUS = 0x060,
	VM_IRQ_ACK = 0x064, VM_STATUS = 0x070, VM_DESC_LO = 0x080, VM_DESC_HI = 0x084,
	VM_AVAIL_LO = 0x090, VM_AVAIL_HI = 0x094, VM_USED_LO = 0x0a0, VM_USED_HI = 0x0a4,
};
/* Offsets in the one DMA page. */
enum { RQ_DESC = 0, RQ_AVAIL = 128, RQ_USED = 256, RQ_HDR = 1024, RQ_STATUS = 1100, RQ_DATA = 2048 };
#define RQ_QSIZE 8

struct raw_blk {
	volatile uint8_t *regs;
	uint8_t *page;
	uint64_t page_pa;
	uint16_t avail_idx, qsize;
	uint32_t version;
	uint32_t features_lo;
};

static uint32_t rd32(struct raw_blk *d, unsigned off)
{
	return *(volatile uint32_t *)(d->regs + off);
}

static void wr32(struct raw_blk *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

/* The platform device behind /sys/block/DISK and its register window
 * (from /proc/iomem, where it is listed under the device's name). */
static int raw_find(const char *disk, char *pdev, size_t size, uint64_t *base)
{
	char link[PATH_MAX], *slash, line[256];
	snprintf(line, sizeof(line), "/sys/block/%s/device", disk);
	if (!realpath(line, link))
		return -1;
	/* .../LNRO0005:00/virtio0 */
	if (!(slash = strrchr(link, '/')))
		return -1;
	*slash = '\0';
	if (!(slash = strrchr(link, '/')))
		return -1;
	snprintf(pdev, size, "%s", slash + 1);
	FILE *f = fopen("/proc/iomem", "re");
	if (!f)
		return -1;
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *colon = strstr(line, " : ");
		line[strcspn(line, "\n")] = '\0';
		if (colon && !strcmp(colon + 3, pdev)) {
			*base = strtoull(line + strspn(line, " "), NULL, 16);
			found = 0;
		}
	}
	fclose(f);
	errno = found ? ENOENT : 0;
	return found;
}

static int raw_open(struct raw_blk *d, const char *pdev, uint64_t base)
{
	char path[256];
	uint64_t ent;
	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "/sys/bus/platform/drivers/virtio-mmio/unbind");
	if (write_file(path, pdev) < 0)
		return -1;
	/* The queue page must not move while the device uses it. */
	write_file("/proc/sys/vm/compact_unevictable_allowed", "0");
	d->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (d->page == MAP_FAILED)
		return -1;
	memset(d->page, 0, 4096);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, &ent, sizeof(ent), (uintptr_t)d->page / 4096 * sizeof(ent));
	close(fd);
	if (n != sizeof(ent) || !(ent >> 63) || !(ent & ((1ull << 55) - 1))) {
		errno = EFAULT;
		return -1;
	}
	d->page_pa = (ent & ((1ull << 55) - 1)) * 4096;
	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base & ~4095ull);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	d->regs = (volatile uint8_t *)m + (base & 4095);
	return 0;
}

/* Reset and bring up queue 0; returns 0, or -1 with a reason in *why. */
static int raw_init(struct raw_blk *d, const char **why)
{
	*why = "magic";
	if (rd32(d, VM_MAGIC) != 0x74726976)
		return -1;
	d->version = rd32(d, VM_VERSION);
	*why = "not-blk";
	if (rd32(d, VM_DEVICE_ID) != 2 || (d->version != 1 && d->version != 2))
		return -1;
	wr32(d, VM_STATUS, 0);
	for (int i = 0; i < 1000 && rd32(d, VM_STATUS); i++)
		usleep(1000);
	wr32(d, VM_STATUS, 1); /* ACKNOWLEDGE */
	wr32(d, VM_STATUS, 1 | 2); /* DRIVER */
	wr32(d, VM_DEV_FEATURES_SEL, 0);
	d->features_lo = rd32(d, VM_DEV_FEATURES);
	/* No device feature, VIRTIO_BLK_F_RO included: a driver that ignores
	 * the flag. Version 2 needs VIRTIO_F_VERSION_1 (bit 32). */
	wr32(d, VM_DRV_FEATURES_SEL, 0);
	wr32(d, VM_DRV_FEATURES, 0);
	if (d->version == 2) {
		wr32(d, VM_DRV_FEATURES_SEL, 1);
		wr32(d, VM_DRV_FEATURES, 1);
		wr32(d, VM_STATUS, 1 | 2 | 8); /* FEATURES_OK */
		*why = "features";
		if (!(rd32(d, VM_STATUS) & 8))
			return -1;
	} else {
		wr32(d, VM_GUEST_PAGE_SIZE, 4096);
	}
	wr32(d, VM_QUEUE_SEL, 0);
	*why = "queue";
	uint32_t max = rd32(d, VM_QUEUE_NUM_MAX);
	if (max < 3)
		return -1;
	d->qsize = max < RQ_QSIZE ? max : RQ_QSIZE;
	wr32(d, VM_QUEUE_NUM, d->qsize);
	if (d->version == 2) {
		wr32(d, VM_DESC_LO, (uint32_t)(d->page_pa + RQ_DESC));
		wr32(d, VM_DESC_HI, (uint32_t)((d->page_pa + RQ_DESC) >> 32));
		wr32(d, VM_AVAIL_LO, (uint32_t)(d->page_pa + RQ_AVAIL));
		wr32(d, VM_AVAIL_HI, (uint32_t)((d->page_pa + RQ_AVAIL) >> 32));
		wr32(d, VM_USED_LO, (uint32_t)(d->page_pa + RQ_USED));
		wr32(d, VM_USED_HI, (uint32_t)((d->page_pa + RQ_USED) >> 32));
		wr32(d, VM_QUEUE_READY, 1);
	} else {
		/* legacy layout: used ring at the next QueueAlign boundary
		 * after the avail ring, which ends below RQ_USED */
		wr32(d, VM_QUEUE_ALIGN, RQ_USED);
		wr32(d, VM_QUEUE_PFN, (uint32_t)(d->page_pa / 4096));
	}
	wr32(d, VM_STATUS, 1 | 2 | (d->version == 2 ? 8 : 0) | 4); /* DRIVER_OK */
	*why = "status";
	if (rd32(d, VM_STATUS) & 0xc0) /* DEVICE_NEEDS_RESET, FAILED */
		return -1;
	return 0;
}

/* One request on sector 0 with 512 data bytes at RQ_DATA: type 0 (IN) or
 * 1 (OUT). Returns the device's status byte, or -1 on timeout. */
static int raw_request(struct raw_blk *d, uint32_t type)
{
	struct desc {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} *desc = (struct desc *)(d->page + RQ_DESC);
	volatile uint16_t *avail = (uint16_t *)(d->page + RQ_AVAIL);
	volatile uint16_t *used = (uint16_t *)(d->page + RQ_USED);
	uint32_t *hdr = (uint32_t *)(d->page + RQ_HDR);
	hdr[0] = type; /* type, reserved, sector (le64) */
	hdr[1] = 0;
	hdr[2] = hdr[3] = 0;
	d->page[RQ_STATUS] = 0xff;
	desc[0] = (struct desc){ d->page_pa + RQ_HDR, 16, 1 /* NEXT */, 1 };
	desc[1] = (struct desc){ d->page_pa + RQ_DATA, 512, 1 | (type == 0 ? 2 /* WRITE */ : 0), 2 };
	desc[2] = (struct desc){ d->page_pa + RQ_STATUS, 1, 2, 0 };
	avail[0] = 1; /* VRING_AVAIL_F_NO_INTERRUPT */
	avail[2 + d->avail_idx % d->qsize] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail[1] = ++d->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(d, VM_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 5000; i++) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (used[1] == d->avail_idx) {
			uint32_t isr = rd32(d, VM_IRQ_STATUS);
			if (isr)
				wr32(d, VM_IRQ_ACK, isr);
			return d->page[RQ_STATUS];
		}
		usleep(1000);
	}
	return -1;
}

static const char *blk_status_name(int st)
{
	static char buf[24];
	switch (st) {
	case 0: return "ok";
	case 1: return "EIO"; /* VIRTIO_BLK_S_IOERR: the kernel's -EIO */
	case 2: return "EOPNOTSUPP"; /* VIRTIO_BLK_S_UNSUPP */
	case -1: return "timeout";
	default: snprintf(buf, sizeof(buf), "status-%d", st); return buf;
	}
}

/* blk-ro: on a read-only disk, the kernel's view (/sys/block/vda/ro);
 * BLKROSET 0 and a 4 KiB O_DIRECT pwrite + fsync at offset 0 (the block
 * layer refuses with EPERM: virtio_blk marks an F_RO disk read-only as a
 * whole, which BLKROSET does not clear); a kernel read of sector 0; then
 * the same sector written and read through the user-space driver above,
 * which reaches the device: write=<its answer> (a device that refuses
 * says VIRTIO_BLK_S_IOERR: EIO), read=ok when the raw read succeeds and
 * returns what the kernel read. */
static void sc_blk_ro(void)
{
	char ro[16], pdev[128];
	int zero = 0, werr;
	uint64_t base = 0;
	void *buf = NULL;
	const char *why;
	struct raw_blk d;
	if (wait_dev("/dev/vda") < 0)
		finish(RB_POWER_OFF, "poweroff");
	if (first_line("/sys/block/vda/ro", ro, sizeof(ro)) < 0)
		snprintf(ro, sizeof(ro), "?");
	marker("blk-ro kernel-ro=%s", ro);
	int fd = open("/dev/vda", O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		marker("blk-ro open-rw=%s", errname(errno));
		fd = open("/dev/vda", O_RDONLY | O_DIRECT | O_CLOEXEC);
	}
	if (fd < 0 || posix_memalign(&buf, 4096, 4096) != 0) {
		marker("blk-ro-failed open errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	if (ioctl(fd, BLKROSET, &zero) < 0)
		marker("blk-ro roset=%s", errname(errno));
	else
		marker("blk-ro roset=ok");
	memset(buf, 0xa5, 4096);
	ssize_t n = pwrite(fd, buf, 4096, 0);
	werr = n == 4096 ? 0 : n < 0 ? errno : EIO;
	if (!werr && fsync(fd) < 0)
		werr = errno;
	marker("blk-ro pwrite=%s", werr ? errname(werr) : "ok");
	n = pread(fd, buf, 4096, 0);
	marker("blk-ro kernel-read=%s", n == 4096 ? "ok" : n < 0 ? errname(errno) : "short");
	close(fd);
	if (raw_find("vda", pdev, sizeof(pdev), &base) < 0) {
		marker("blk-ro-failed raw-find errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	if (raw_open(&d, pdev, base) < 0) {
		marker("blk-ro-failed raw-open %s errno=%s", pdev, errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	if (raw_init(&d, &why) < 0) {
		marker("blk-ro-failed raw-init %s", why);
		finish(RB_POWER_OFF, "poweroff");
	}
	marker("blk-ro raw %s at 0x%llx version=%u f-ro=%u", pdev, (unsigned long long)base,
		d.version, (d.features_lo >> 5) & 1);
	memset(d.page + RQ_DATA, 0x5a, 512);
	int st = raw_request(&d, 1);
	marker("blk-ro write=%s via=device", blk_status_name(st));
	memset(d.page + RQ_DATA, 0, 512);
	st = raw_request(&d, 0);
	if (st == 0 && n == 4096 && memcmp(d.page + RQ_DATA, buf, 512))
		marker("blk-ro read=differs");
	else
		marker("blk-ro read=%s", blk_status_name(st));
	wr32(&d, VM_STATUS, 0);
	free(buf);
	finish(RB_POWER_OFF, "poweroff");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* blk-list: every virtio disk (/sys/block/vd*), in name order. */
static void sc_blk_list(void)
{
	char *names[26];
	int n = 0;
	wait_dev("/dev/vda");
	DIR *d = opendir("/sys/block");
	if (!d) {
		marker("blk-list-failed errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	for (struct dirent *e; (e = readdir(d)) && n < 26;)
		if (!strncmp(e->d_name, "vd", 2))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		char p[300], ro[16] = "?", dev[300];
		unsigned long long sectors = 0;
		snprintf(p, sizeof(p), "/sys/block/%s/size", names[i]);
		read_ull(p, &sectors);
		snprintf(p, sizeof(p), "/sys/block/%s/ro", names[i]);
		first_line(p, ro, sizeof(ro));
		snprintf(dev, sizeof(dev), "/dev/%s", names[i]);
		marker("blk-list dev=%s sectors=%llu ro=%s node=%s", names[i], sectors, ro,
			access(dev, F_OK) == 0 ? "yes" : "no");
		free(names[i]);
	}
	marker("blk-list-done n=%d", n);
	finish(RB_POWER_OFF, "poweroff");
}

/* xorshift64*: a fixed-seed generator, so every run hits the same offsets. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random 4 KiB I/O at queue depth 1 for secs seconds over [0, span). */
static int bench_rand(int fd, void *buf, int write_, uint64_t span, long secs, double *iops)
{
	uint64_t blocks = span / 4096, ops = 0;
	double t0 = now_s(), t;
	do {
		off_t off = (off_t)(next_rand() % blocks) * 4096;
		ssize_t n = write_ ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);
		if (n != 4096)
			return n < 0 ? -1 : (errno = EIO, -1);
		ops++;
		t = now_s() - t0;
	} while (t < secs);
	if (write_ && fdatasync(fd) < 0)
		return -1;
	t = now_s() - t0;
	*iops = ops / t;
	marker("blk-bench rand-%s iops=%.0f ops=%llu secs=%.3f", write_ ? "write" : "read", *iops,
		(unsigned long long)ops, t);
	return 0;
}

/* Sequential 1 MiB I/O over [0, span). */
static int bench_seq(int fd, void *buf, int write_, uint64_t span)
{
	double t0 = now_s();
	for (uint64_t off = 0; off < span; off += 1 << 20) {
		ssize_t n = write_ ? pwrite(fd, buf, 1 << 20, off) : pread(fd, buf, 1 << 20, off);
		if (n != 1 << 20)
			return n < 0 ? -1 : (errno = EIO, -1);
	}
	if (write_ && fdatasync(fd) < 0)
		return -1;
	double t = now_s() - t0;
	marker("blk-bench seq-%s MBps=%.1f bytes=%llu secs=%.3f", write_ ? "write" : "read",
		span / 1e6 / t, (unsigned long long)span, t);
	return 0;
}

/* blk-bench: raw O_DIRECT throughput of ember.dev (default /dev/vda), which
 * it overwrites: sequential 1 MiB reads then writes over the first
 * ember.mib MiB (64), then random 4 KiB reads then writes in that range
 * for ember.secs seconds each (5). MBps is 10^6 bytes/s. */
static void sc_blk_bench(void)
{
	char dev[64] = "/dev/vda";
	long mib = cmdline_long("ember.mib", 64), secs = cmdline_long("ember.secs", 5);
	uint64_t size = 0, span;
	void *buf = NULL;
	double iops;
	const char *step = "open";
	cmdline_get("ember.dev", dev, sizeof(dev));
	if (wait_dev(dev) < 0)
		finish(RB_POWER_OFF, "poweroff");
	int fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	step = "size";
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		goto fail;
	if (mib < 1)
		mib = 1;
	if (secs < 1)
		secs = 1;
	span = (uint64_t)mib << 20;
	if (span > (size & ~((1ull << 20) - 1)))
		span = size & ~((1ull << 20) - 1);
	step = "alloc";
	if (span == 0 || posix_memalign(&buf, 4096, 1 << 20) != 0) {
		errno = ENOSPC;
		goto fail;
	}
	for (size_t i = 0; i < 1 << 20; i++)
		((unsigned char *)buf)[i] = (unsigned char)(i * 7 + 1);
	marker("blk-bench dev=%s size=%llu span=%llu secs=%ld", dev, (unsigned long long)size,
		(unsigned long long)span, secs);
	step = "seq-read";
	if (bench_seq(fd, buf, 0, span) < 0)
		goto fail;
	step = "seq-write";
	if (bench_seq(fd, buf, 1, span) < 0)
		goto fail;
	step = "rand-read";
	if (bench_rand(fd, buf, 0, span, secs, &iops) < 0)
		goto fail;
	step = "rand-write";
	if (bench_rand(fd, buf, 1, span, secs, &iops) < 0)
		goto fail;
	close(fd);
	free(buf);
	marker("blk-bench-done");
	finish(RB_POWER_OFF, "poweroff");
fail:
	marker("blk-bench-failed %s errno=%s", step, errname(errno));
	finish(RB_POWER_OFF, "poweroff");
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* hwrng: 64 bytes from /dev/hwrng (20 s limit) and the kernel's choice of
 * hardware RNG. */
static void sc_hwrng(void)
{
	unsigned char b[64];
	char hex[sizeof(b) * 2 + 1] = "", cur[128] = "";
	size_t got = 0;
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: a stuck read ends with EINTR */
	if (wait_dev("/dev/hwrng") == 0) {
		int fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			marker("hwrng-failed open errno=%s", errname(errno));
		alarm(20);
		while (fd >= 0 && got < sizeof(b)) {
			ssize_t n = read(fd, b + got, sizeof(b) - got);
			if (n <= 0) {
				marker("hwrng-failed read errno=%s", n < 0 ? errname(errno) : "EOF");
				break;
			}
			got += n;
		}
		alarm(0);
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < got; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	marker("hwrng bytes=%zu hex=%s", got, hex);
	if (first_line("/sys/class/misc/hw_random/rng_current", cur, sizeof(cur)) < 0)
		snprintf(cur, sizeof(cur), "unreadable-%s", errname(errno));
	marker("hwrng current=%s", cur);
	finish(RB_POWER_OFF, "poweroff");
}

/* ---- networking: ip= (as a distribution initramfs does) and the
 * virtio-net scenarios ---- */

/* What ip= configured (addresses in network byte order). */
static struct {
	int up;
	char dev[IFNAMSIZ];
	struct in_addr addr, mask, gw;
} netcfg;

static int ifreq_sock(void)
{
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static int if_up(int s, const char *dev)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int if_set_in(int s, const char *dev, unsigned long req, struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	return ioctl(s, req, &ifr);
}

/* The first network device other than lo, in name order. */
static int first_netdev(char *dev, size_t size)
{
	struct dirent **names;
	int n = scandir("/sys/class/net", &names, NULL, alphasort), found = -1;
	for (int i = 0; i < n; i++) {
		if (found < 0 && names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, "lo")) {
			size_t n = strnlen(names[i]->d_name, size - 1);
			memcpy(dev, names[i]->d_name, n);
			dev[n] = '\0';
			found = 0;
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return found;
}

/* ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:...
 * (Documentation/admin-guide/nfs/nfsroot.rst). The Debian cloud kernel
 * has no CONFIG_IP_PNP, so, as an initramfs does, the agent brings up lo
 * and the device with a static address, netmask and default route. Only
 * static configuration: autoconf must be empty, off or none. Markers:
 * ip-config dev=D addr=A netmask=M gw=G mac=MAC driver=DRV carrier=0|1,
 * or ip-config-failed STEP errno=E, or ip-config-skipped WHY. */
static void ip_config(void)
{
	char val[512], *f[10] = { 0 }, *p, dev[IFNAMSIZ] = "", path[96], mac[32] = "?", drv[PATH_MAX] = "?";
	char a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN] = "none", carrier[8] = "?";
	struct in_addr addr, mask, gw = { 0 };
	const char *step;
	int nf = 0, s = -1;

	if (cmdline_get("ip", val, sizeof(val)) < 0)
		return;
	if (!strcmp(val, "off") || !strcmp(val, "none"))
		return;
	for (p = val; nf < 10; nf++) {
		f[nf] = p;
		p = strchr(p, ':');
		if (!p) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (nf < 2 && strchr(val, '.') == NULL) { /* ip=dhcp, ip=on, ... */
		marker("ip-config-skipped autoconf=%s", val);
		return;
	}
	if (nf > 6 && f[6][0] && strcmp(f[6], "off") && strcmp(f[6], "none")) {
		marker("ip-config-skipped autoconf=%s", f[6]);
		return;
	}
	if (!f[0][0] || inet_pton(AF_INET, f[0], &addr) != 1) {
		marker("ip-config-failed client errno=EINVAL");
		return;
	}
	if (nf > 3 && f[3][0]) {
		if (inet_pton(AF_INET, f[3], &mask) != 1) {
			marker("ip-config-failed netmask errno=EINVAL");
			return;
		}
	} else { /* the kernel's default: the address's class */
		uint32_t h = ntohl(addr.s_addr);
		mask.s_addr = htonl(h < 0x80000000u ? 0xff000000u : h < 0xc0000000u ? 0xffff0000u : 0xffffff00u);
	}
	if (nf > 2 && f[2][0] && inet_pton(AF_INET, f[2], &gw) != 1) {
		marker("ip-config-failed gateway errno=EINVAL");
		return;
	}
	if (nf > 5 && f[5][0])
		snprintf(dev, sizeof(dev), "%s", f[5]);
	/* The device appears when virtio_net probes: allow 5 s. */
	for (int i = 0; i < 100; i++) {
		if (dev[0]) {
			snprintf(path, sizeof(path), "/sys/class/net/%s", dev);
			if (access(path, F_OK) == 0)
				break;
		} else if (first_netdev(dev, sizeof(dev)) == 0) {
			break;
		}
		usleep(50 * 1000);
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s", dev[0] ? dev : "?");
	if (access(path, F_OK) < 0) {
		marker("ip-config-failed no-device %s errno=ENODEV", dev[0] ? dev : "(any)");
		return;
	}
	if (nf > 4 && f[4][0] && sethostname(f[4], strlen(f[4])) < 0)
		marker("ip-config-warning hostname errno=%s", errname(errno));

	s = ifreq_sock();
	step = "socket";
	if (s < 0)
		goto fail;
	step = "lo-up";
	if (if_up(s, "lo") < 0)
		goto fail;
	step = "addr";
	if (if_set_in(s, dev, SIOCSIFADDR, addr) < 0)
		goto fail;
	step = "netmask";
	if (if_set_in(s, dev, SIOCSIFNETMASK, mask) < 0)
		goto fail;
	step = "up";
	if (if_up(s, dev) < 0)
		goto fail;
	if (gw.s_addr) {
		struct rtentry rt;
		memset(&rt, 0, sizeof(rt));
		((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
		((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
		((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
		((struct sockaddr_in *)&rt.rt_gateway)->sin_addr = gw;
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = dev;
		step = "route";
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			goto fail;
		inet_ntop(AF_INET, &gw, g, sizeof(g));
	}
	close(s);
	/* virtio-net reports its link at once (or has no status at all);
	 * give the carrier a moment, as the kernel's ipconfig does. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", dev);
	for (int i = 0; i < 50; i++) {
		if (first_line(path, carrier, sizeof(carrier)) == 0 && !strcmp(carrier, "1"))
			break;
		usleep(20 * 1000);
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", dev);
	first_line(path, mac, sizeof(mac));
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", dev);
	{
		ssize_t n = readlink(path, drv, sizeof(drv) - 1);
		if (n > 0) {
			drv[n] = '\0';
			memmove(drv, strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv, strlen(drv) + 1);
		} else {
			snprintf(drv, sizeof(drv), "?");
		}
	}
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	inet_ntop(AF_INET, &mask, m, sizeof(m));
	marker("ip-config dev=%s addr=%s netmask=%s gw=%s mac=%s driver=%s carrier=%s", dev, a, m, g, mac, drv,
	       carrier);
	netcfg.up = 1;
	snprintf(netcfg.dev, sizeof(netcfg.dev), "%s", dev);
	netcfg.addr = addr;
	netcfg.mask = mask;
	netcfg.gw = gw;
	return;
fail:
	marker("ip-config-failed %s dev=%s errno=%s", step, dev, errname(errno));
	if (s >= 0)
		close(s);
}

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* count ICMP echo requests to target, one a second at most, each waiting
 * up to 2 s for its reply. Marker: net-ping target=T sent=N received=M
 * rtt-ms=<average of the replies>. Returns the replies received. */
static int icmp_ping(struct in_addr target, int count)
{
	char t[INET_ADDRSTRLEN];
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP), got = 0, sent = 0;
	uint16_t id = (uint16_t)getpid() ^ 0x4d45;
	double rtt_sum = 0;

	inet_ntop(AF_INET, &target, t, sizeof(t));
	if (s < 0) {
		marker("net-ping-failed socket errno=%s", errname(errno));
		return 0;
	}
	for (int seq = 1; seq <= count; seq++) {
		uint8_t pkt[64] = { 8, 0 }, buf[1500];
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = target };
		pkt[4] = id >> 8;
		pkt[5] = id & 0xff;
		pkt[6] = seq >> 8;
		pkt[7] = seq & 0xff;
		for (size_t i = 8; i < sizeof(pkt); i++)
			pkt[i] = (uint8_t)i;
		uint16_t c = inet_csum(pkt, sizeof(pkt));
		memcpy(pkt + 2, &c, 2);
		double t0 = now_s(), deadline = t0 + 2.0;
		if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			marker("net-ping-failed sendto errno=%s", errname(errno));
			usleep(500 * 1000);
			continue;
		}
		sent++;
		for (double now = t0; now < deadline; now = now_s()) {
			struct pollfd pfd = { .fd = s, .events = POLLIN };
			if (poll(&pfd, 1, (int)((deadline - now) * 1000) + 1) <= 0)
				continue;
			ssize_t n = recv(s, buf, sizeof(buf), 0);
			if (n < 20)
				continue;
			size_t ihl = (buf[0] & 0xf) * 4u;
			if ((size_t)n < ihl + 8 || buf[ihl] != 0 || buf[ihl + 4] != (id >> 8) ||
			    buf[ihl + 5] != (id & 0xff) || buf[ihl + 6] != (seq >> 8) || buf[ihl + 7] != (seq & 0xff))
				continue;
			got++;
			rtt_sum += now_s() - t0;
			break;
		}
		double wait = t0 + 1.0 - now_s();
		if (seq < count && wait > 0)
			usleep((useconds_t)(wait * 1e6));
	}
	close(s);
	marker("net-ping target=%s sent=%d received=%d rtt-ms=%.3f", t, sent, got, got ? rtt_sum * 1000 / got : 0.0);
	return got;
}

/* busybox sha256sum as a child fed through a pipe. */
struct hasher {
	pid_t pid;
	int in, out;
};

static int hasher_start(struct hasher *h)
{
	int pin[2], pout[2];
	if (pipe2(pin, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		return -1;
	}
	h->pid = fork();
	if (h->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execl("/bin/busybox", "sha256sum", (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (h->pid < 0) {
		close(pin[1]);
		close(pout[0]);
		return -1;
	}
	h->in = pin[1];
	h->out = pout[0];
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Closes the input, reads the 64 hex digits into hex (65 bytes). */
static int hasher_end(struct hasher *h, char *hex)
{
	char buf[128];
	ssize_t len = 0, n;
	int st;
	close(h->in);
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(h->out, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += n;
	}
	close(h->out);
	waitpid(h->pid, &st, 0);
	buf[len] = '\0';
	if (len < 64 || strspn(buf, "0123456789abcdef") < 64)
		return -1;
	memcpy(hex, buf, 64);
	hex[64] = '\0';
	return 0;
}

static int tcp_listen(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static void peer_name(int c, char *buf, size_t size)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char ip[INET_ADDRSTRLEN] = "?";
	if (getpeername(c, (struct sockaddr *)&a, &len) == 0)
		inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
	snprintf(buf, size, "%s:%u", ip, len ? ntohs(a.sin_port) : 0);
}

#define NET_CHUNK (256 * 1024)

/* Sink: reads the connection to EOF. Marker net-recv bytes=N sha256=H
 * MBps=R (10^6 bytes/s from accept to EOF) peer=IP:PORT. */
static int net_sink(int c)
{
	static char buf[NET_CHUNK];
	char hex[65], peer[40];
	struct hasher h;
	unsigned long long total = 0;
	double t0 = now_s();
	peer_name(c, peer, sizeof(peer));
	if (hasher_start(&h) < 0) {
		marker("net-recv-failed hasher errno=%s", errname(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			marker("net-recv-failed read errno=%s bytes=%llu", errname(errno), total);
			break;
		}
		if (n == 0)
			break;
		if (write_all(h.in, buf, n) < 0) {
			marker("net-recv-failed hash errno=%s", errname(errno));
			break;
		}
		total += n;
	}
	double dt = now_s() - t0;
	if (hasher_end(&h, hex) < 0) {
		marker("net-recv-failed sha256sum");
		return -1;
	}
	marker("net-recv bytes=%llu sha256=%s MBps=%.1f peer=%s", total, hex, dt > 0 ? total / dt / 1e6 : 0.0, peer);
	return 0;
}

/* Source: writes mib MiB of random bytes, then closes. Marker net-sent
 * bytes=N sha256=H MBps=R peer=IP:PORT. */
static int net_source(int c, long mib)
{
	static char buf[NET_CHUNK];
	char hex[65], peer[40];
	struct hasher h;
	unsigned long long total = 0, want = (unsigned long long)mib << 20;
	double t0 = now_s();
	peer_name(c, peer, sizeof(peer));
	if (hasher_start(&h) < 0) {
		marker("net-sent-failed hasher errno=%s", errname(errno));
		return -1;
	}
	while (total < want) {
		size_t n = want - total < sizeof(buf) ? want - total : sizeof(buf);
		for (size_t off = 0; off < n;) {
			ssize_t r = getrandom(buf + off, n - off, 0);
			if (r > 0)
				off += r;
		}
		if (write_all(h.in, buf, n) < 0) {
			marker("net-sent-failed hash errno=%s", errname(errno));
			break;
		}
		if (write_all(c, buf, n) < 0) {
			marker("net-sent-failed write errno=%s bytes=%llu", errname(errno), total);
			break;
		}
		total += n;
	}
	shutdown(c, SHUT_WR);
	double dt = now_s() - t0;
	if (hasher_end(&h, hex) < 0) {
		marker("net-sent-failed sha256sum");
		return -1;
	}
	marker("net-sent bytes=%llu sha256=%s MBps=%.1f peer=%s", total, hex, dt > 0 ? total / dt / 1e6 : 0.0, peer);
	return 0;
}

static void __attribute__((noreturn)) net_timeout(int sig)
{
	(void)sig;
	marker("net-failed timeout");
	finish(RB_POWER_OFF, "poweroff");
}

/* Waits for a connection on one of the listeners (-1: skip) for the
 * rest of the scenario's time; returns the index of the listener and the
 * accepted socket in *c, or -1. */
static int net_accept(const int *l, int nl, int *c)
{
	struct pollfd pfd[4];
	for (int i = 0; i < nl; i++)
		pfd[i] = (struct pollfd){ .fd = l[i], .events = POLLIN };
	for (;;) {
		if (poll(pfd, nl, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < nl; i++) {
			if (l[i] >= 0 && (pfd[i].revents & POLLIN)) {
				*c = accept4(l[i], NULL, NULL, SOCK_CLOEXEC);
				if (*c >= 0)
					return i;
			}
		}
	}
}

#define NET_PORT_SINK 5001
#define NET_PORT_SOURCE 5002
#define NET_PORT_CONTROL 5003

static void net_need_ip(const char *scenario)
{
	struct sigaction sa = { .sa_handler = net_timeout };
	if (!netcfg.up) {
		marker("%s-failed no-ip-config", scenario);
		finish(RB_POWER_OFF, "poweroff");
	}
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)cmdline_long("ember.net_timeout", 300));
	signal(SIGPIPE, SIG_IGN);
}

/* net: needs ip=. Pings ember.ping (default: the gateway) ember.pings
 * times (3), then serves TCP on all addresses: port 5001 reads a
 * connection to EOF (net-recv), 5002 sends ember.net_mib MiB (64) of
 * random bytes and closes (net-sent), each once, in any order; marker
 * net-ready when both listen (the host may ping the guest from then on).
 * A connection to 5003 ends early. Then net-done and power off. The whole
 * scenario has ember.net_timeout seconds (300). */
static void sc_net(void)
{
	char v[64];
	struct in_addr target = netcfg.gw;
	long mib = cmdline_long("ember.net_mib", 64);
	int l[3], c, done_sink = 0, done_source = 0;

	net_need_ip("net");
	if (cmdline_get("ember.ping", v, sizeof(v)) == 0 && inet_pton(AF_INET, v, &target) != 1)
		target.s_addr = 0;
	if (target.s_addr)
		icmp_ping(target, (int)cmdline_long("ember.pings", 3));
	else
		marker("net-ping-skipped no-target");
	l[0] = tcp_listen(NET_PORT_SINK);
	l[1] = tcp_listen(NET_PORT_SOURCE);
	l[2] = tcp_listen(NET_PORT_CONTROL);
	if (l[0] < 0 || l[1] < 0 || l[2] < 0) {
		marker("net-failed listen errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	inet_ntop(AF_INET, &netcfg.addr, v, sizeof(v));
	marker("net-ready addr=%s sink=%d source=%d control=%d", v, NET_PORT_SINK, NET_PORT_SOURCE, NET_PORT_CONTROL);
	while (!done_sink || !done_source) {
		int i = net_accept(l, 3, &c);
		if (i < 0) {
			marker("net-failed accept errno=%s", errname(errno));
			break;
		}
		if (i == 0) {
			net_sink(c);
			done_sink = 1;
			close(l[0]);
			l[0] = -1;
		} else if (i == 1) {
			net_source(c, mib);
			done_source = 1;
			close(l[1]);
			l[1] = -1;
		}
		close(c);
		if (i == 2) {
			marker("net-control-end");
			break;
		}
	}
	marker("net-done");
	finish(RB_POWER_OFF, "poweroff");
}

/* net-iperf: needs ip= and iperf3 in the image (build/debian/iperf3.cpio
 * appended to the initramfs). Runs `iperf3 -s` and marks iperf-ready once
 * it listens on 5201; a connection to 5003 (or iperf3 exiting) ends it.
 * ember.net_timeout seconds (300). */
static void sc_net_iperf(void)
{
	char line[256];
	int l, c;
	pid_t pid;

	net_need_ip("iperf");
	if (access("/usr/bin/iperf3", X_OK) < 0) {
		marker("iperf-failed missing /usr/bin/iperf3 errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	l = tcp_listen(NET_PORT_CONTROL);
	if (l < 0) {
		marker("iperf-failed listen errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) { /* its per-test reports would flood the console */
			dup2(null, 1);
			dup2(null, 2);
		}
		char *const argv[] = { "iperf3", "-s", "-p", "5201", NULL };
		char *const envp[] = { "HOME=/", "TMPDIR=/tmp", "PATH=/usr/bin:/bin", NULL };
		execve("/usr/bin/iperf3", argv, envp);
		_exit(127);
	}
	if (pid < 0) {
		marker("iperf-failed fork errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	/* Listening when /proc/net/tcp has 0.0.0.0:1451 in state 0A; iperf3
	 * listens on IPv6 ([::]:5201, dual stack) when it can. */
	for (int i = 0; i < 200; i++) {
		int ready = 0;
		for (int f = 0; f < 2 && !ready; f++) {
			FILE *tcp = fopen(f ? "/proc/net/tcp6" : "/proc/net/tcp", "re");
			while (tcp && fgets(line, sizeof(line), tcp))
				if (strstr(line, ":1451 ") && strstr(line, " 0A "))
					ready = 1;
			if (tcp)
				fclose(tcp);
		}
		if (ready) {
			marker("iperf-ready port=5201 control=%d", NET_PORT_CONTROL);
			break;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			marker("iperf-failed iperf3-exited");
			finish(RB_POWER_OFF, "poweroff");
		}
		usleep(50 * 1000);
	}
	for (;;) {
		struct pollfd pfd = { .fd = l, .events = POLLIN };
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			marker("iperf-exited status=%d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			break;
		}
		if (poll(&pfd, 1, 500) > 0 && (c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			close(c);
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			marker("iperf-done");
			break;
		}
	}
	finish(RB_POWER_OFF, "poweroff");
}

/* ---- virtio-vsock scenario ---- */

#define VSOCK_CHUNK (64 * 1024)
#define VSOCK_MAX_CONNECTS 64

/* Shared with the per-connection children (MAP_SHARED). */
static struct vsock_counts {
	unsigned long conns, bytes, errors, active;
} *vcount;

static int vsock_listen(unsigned port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 128) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* The guest's own CID, from /dev/vsock; -1 if unknown. */
static long vsock_local_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
	close(fd);
	return r < 0 ? -1 : (long)cid;
}

/* Child: echoes everything back until EOF (or a reset), then exits. */
static void __attribute__((noreturn)) vsock_echo_child(int c, unsigned long id)
{
	static char buf[VSOCK_CHUNK];
	unsigned long long total = 0;
	int err = 0;
	const char *step = "read";
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != ECONNRESET)
			err = errno;
		if (n <= 0)
			break;
		if (write_all(c, buf, n) < 0) {
			if (errno != ECONNRESET && errno != EPIPE) {
				err = errno;
				step = "write";
			}
			break;
		}
		total += n;
	}
	close(c);
	if (err) {
		marker("vsock-echo-error conn=%lu step=%s errno=%s bytes=%llu", id, step, errname(err), total);
		__atomic_add_fetch(&vcount->errors, 1, __ATOMIC_SEQ_CST);
	}
	__atomic_add_fetch(&vcount->bytes, total, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&vcount->conns, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&vcount->active, 1, __ATOMIC_SEQ_CST);
	_exit(err ? 1 : 0);
}

/* Child: a guest-initiated connection to the host (CID 2) port `port`.
 * Sends "SEND <bytes>\n" and then <bytes> random bytes, reads the host's
 * one-line answer "OK <bytes> <sha256>\n" and prints
 * vsock-sent conn=I port=P bytes=N sha256=H reply-bytes=N reply-sha256=H
 * (the connection is length-prefixed so no half-close is needed). */
static void __attribute__((noreturn)) vsock_connect_child(int id, unsigned port, long mib)
{
	static char buf[VSOCK_CHUNK];
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port };
	unsigned long long total = 0, want = (unsigned long long)mib << 20;
	char hex[65], reply[256], rb[32] = "?", rs[80] = "?";
	struct hasher h;
	const char *step = "socket";
	double t0 = now_s();
	int c = -1, tries = 0;

	for (;;) { /* the host's listener may not be up yet: retry for 10 s */
		c = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0)
			goto fail;
		step = "connect";
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		int e = errno;
		close(c);
		c = -1;
		errno = e;
		if (++tries >= 50 || (e != ECONNRESET && e != ECONNREFUSED && e != ETIMEDOUT && e != EINTR))
			goto fail;
		usleep(200 * 1000);
	}
	double t1 = now_s();
	step = "hasher";
	if (hasher_start(&h) < 0)
		goto fail;
	snprintf(reply, sizeof(reply), "SEND %llu\n", want);
	step = "write";
	if (write_all(c, reply, strlen(reply)) < 0)
		goto fail;
	while (total < want) {
		size_t n = want - total < sizeof(buf) ? want - total : sizeof(buf);
		for (size_t off = 0; off < n;) {
			ssize_t r = getrandom(buf + off, n - off, 0);
			if (r > 0)
				off += r;
		}
		step = "hash";
		if (write_all(h.in, buf, n) < 0)
			goto fail;
		step = "write";
		if (write_all(c, buf, n) < 0)
			goto fail;
		total += n;
	}
	step = "sha256sum";
	if (hasher_end(&h, hex) < 0)
		goto fail;
	step = "reply";
	size_t len = 0;
	while (len < sizeof(reply) - 1) {
		ssize_t n = read(c, reply + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENODATA;
			goto fail;
		}
		if (reply[len] == '\n')
			break;
		len++;
	}
	reply[len] = '\0';
	if (sscanf(reply, "OK %31s %79s", rb, rs) != 2) {
		errno = EPROTO;
		goto fail;
	}
	double t2 = now_s();
	close(c);
	marker("vsock-sent conn=%d port=%u bytes=%llu sha256=%s reply-bytes=%s reply-sha256=%s connect-ms=%.1f MBps=%.1f",
	       id, port, total, hex, rb, rs, (t1 - t0) * 1000, t2 > t1 ? total / (t2 - t1) / 1e6 : 0.0);
	_exit(0);
fail:
	marker("vsock-connect-failed conn=%d port=%u step=%s errno=%s tries=%d bytes=%llu", id, port, step,
	       errname(errno), tries, total);
	_exit(1);
}

static void __attribute__((noreturn)) vsock_timeout(int sig)
{
	(void)sig;
	marker("vsock-failed timeout");
	finish(RB_POWER_OFF, "poweroff");
}

/* vsock-echo: listens on AF_VSOCK port ember.vsock_port (5000) and echoes
 * every connection back until EOF, each in its own child, any number at
 * once; marker vsock-listening port=P control=P+1 cid=<local CID> once it
 * listens. With ember.vsock_connect=P it then also opens
 * ember.vsock_connects (1) connections to the host (CID 2) port P at once,
 * each sending ember.vsock_mib MiB (1) (vsock-sent ..., then
 * vsock-connect-done n= ok=). A connection to port P+1 ends it:
 * vsock-control-end, the children are waited for (10 s), vsock-done
 * conns=N bytes=B errors=E, power off. ember.vsock_timeout seconds (300)
 * bound the whole scenario. */
static void sc_vsock_echo(void)
{
	struct sigaction sa = { .sa_handler = vsock_timeout };
	unsigned port = (unsigned)cmdline_long("ember.vsock_port", 5000);
	long connect_port = cmdline_long("ember.vsock_connect", -1);
	long nconnect = cmdline_long("ember.vsock_connects", 1);
	long mib = cmdline_long("ember.vsock_mib", 1);
	pid_t cpids[VSOCK_MAX_CONNECTS];
	int ncp = 0, cok = 0, cdone = 0, l[2];
	unsigned long next_id = 0;

	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)cmdline_long("ember.vsock_timeout", 300));
	signal(SIGPIPE, SIG_IGN);
	vcount = mmap(NULL, sizeof(*vcount), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vcount == MAP_FAILED) {
		marker("vsock-failed mmap errno=%s", errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	wait_dev("/dev/vsock");
	l[0] = vsock_listen(port);
	if (l[0] < 0) {
		marker("vsock-failed listen port=%u errno=%s", port, errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	l[1] = vsock_listen(port + 1);
	if (l[1] < 0) {
		marker("vsock-failed listen port=%u errno=%s", port + 1, errname(errno));
		finish(RB_POWER_OFF, "poweroff");
	}
	marker("vsock-listening port=%u control=%u cid=%ld", port, port + 1, vsock_local_cid());

	if (connect_port > 0) {
		if (nconnect < 1)
			nconnect = 1;
		if (nconnect > VSOCK_MAX_CONNECTS)
			nconnect = VSOCK_MAX_CONNECTS;
		for (int i = 0; i < nconnect; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				close(l[0]);
				close(l[1]);
				vsock_connect_child(i, (unsigned)connect_port, mib);
			}
			if (pid < 0) {
				marker("vsock-connect-failed conn=%d step=fork errno=%s", i, errname(errno));
				break;
			}
			cpids[ncp++] = pid;
		}
		if (!ncp)
			marker("vsock-connect-done n=0 ok=0");
	}

	for (;;) {
		struct pollfd pfd[2] = { { .fd = l[0], .events = POLLIN }, { .fd = l[1], .events = POLLIN } };
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (int i = 0; i < ncp; i++) {
				if (cpids[i] == pid) {
					cpids[i] = 0;
					cdone++;
					if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
						cok++;
					if (cdone == ncp)
						marker("vsock-connect-done n=%d ok=%d", ncp, cok);
				}
			}
		}
		int r = poll(pfd, 2, 200);
		if (r < 0 && errno != EINTR) {
			marker("vsock-failed poll errno=%s", errname(errno));
			break;
		}
		if (r <= 0)
			continue;
		if (pfd[1].revents & POLLIN) {
			int c = accept4(l[1], NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				close(c);
				marker("vsock-control-end");
				break;
			}
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept4(l[0], NULL, NULL, SOCK_CLOEXEC);
			if (c < 0) {
				if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
					marker("vsock-echo-error step=accept errno=%s", errname(errno));
				continue;
			}
			__atomic_add_fetch(&vcount->active, 1, __ATOMIC_SEQ_CST);
			pid = fork();
			if (pid == 0) {
				close(l[0]);
				close(l[1]);
				vsock_echo_child(c, next_id);
			}
			if (pid < 0) {
				marker("vsock-echo-error step=fork errno=%s", errname(errno));
				__atomic_sub_fetch(&vcount->active, 1, __ATOMIC_SEQ_CST);
			}
			next_id++;
			close(c);
		}
	}
	close(l[0]);
	close(l[1]);
	/* Children still running get 10 s, then are killed. */
	double end = now_s() + 10;
	while (now_s() < end && waitpid(-1, NULL, WNOHANG) >= 0)
		usleep(50 * 1000);
	long left = (long)__atomic_load_n(&vcount->active, __ATOMIC_SEQ_CST);
	if (left > 0)
		kill(-1, SIGKILL);
	marker("vsock-done conns=%lu accepted=%lu bytes=%lu errors=%lu killed=%ld", vcount->conns, next_id,
	       vcount->bytes, vcount->errors, left);
	finish(RB_POWER_OFF, "poweroff");
}

/* ---- snapshot scenario ---- */

#define SNAP_BLK_BYTES (1 << 20)

static long long clock_ms(clockid_t clk)
{
	struct timespec ts = { 0, 0 };
	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ticker child: "snap-tick N mono=<ms> real=<ms>" every 100 ms (a
 * relative sleep, so a restore never produces a burst of catch-up ticks). */
static void __attribute__((noreturn)) snap_ticker(void)
{
	for (long n = 0;; n++) {
		marker("snap-tick %ld mono=%lld real=%lld", n, clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_REALTIME));
		struct timespec d = { 0, 100 * 1000 * 1000 };
		while (nanosleep(&d, &d) < 0 && errno == EINTR)
			;
	}
}

/* splitmix64 of (seed, word index): the 1 MiB written by "blk SEED",
 * little-endian 64-bit words. */
static uint64_t snap_pattern(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* "blk SEED": writes the pattern to /dev/vda at 0 with O_DIRECT, fdatasync
 * (a virtio-blk flush), reads it back with O_DIRECT (from the device, not
 * the page cache), compares and hashes what was read. 0, or an errno
 * (EILSEQ: read back something else). */
static int snap_blk(uint64_t seed, char *hex)
{
	static unsigned char *wbuf, *rbuf;
	int fd, err = 0;
	if (!wbuf) {
		wbuf = mmap(NULL, 2 * SNAP_BLK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (wbuf == MAP_FAILED) {
			wbuf = NULL;
			return errno;
		}
		rbuf = wbuf + SNAP_BLK_BYTES;
	}
	for (uint64_t i = 0; i < SNAP_BLK_BYTES / 8; i++) {
		uint64_t v = snap_pattern(seed, i);
		for (int b = 0; b < 8; b++)
			wbuf[i * 8 + b] = (unsigned char)(v >> (8 * b));
	}
	fd = open("/dev/vda", O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return errno;
	for (size_t off = 0; off < SNAP_BLK_BYTES && !err;) {
		ssize_t n = pwrite(fd, wbuf + off, SNAP_BLK_BYTES - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? errno : ENOSPC;
		else
			off += n;
	}
	if (!err && fdatasync(fd) < 0)
		err = errno;
	memset(rbuf, 0, SNAP_BLK_BYTES);
	for (size_t off = 0; off < SNAP_BLK_BYTES && !err;) {
		ssize_t n = pread(fd, rbuf + off, SNAP_BLK_BYTES - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? errno : ENODATA;
		else
			off += n;
	}
	close(fd);
	if (!err && memcmp(wbuf, rbuf, SNAP_BLK_BYTES))
		err = EILSEQ;
	if (!err) {
		struct hasher h;
		if (hasher_start(&h) < 0)
			return errno;
		int w = write_all(h.in, rbuf, SNAP_BLK_BYTES);
		if (hasher_end(&h, hex) < 0 || w < 0)
			err = EIO;
	}
	return err;
}

/* One connection: line commands until EOF or a reset. Markers snap-conn
 * n=I on accept and snap-conn-end n=I cmds=K end=eof|ERRNO. */
static void __attribute__((noreturn)) snap_conn(int c, unsigned long id)
{
	char line[256], reply[256];
	size_t len = 0;
	unsigned long cmds = 0;
	int err = 0, toolong = 0;

	marker("snap-conn n=%lu", id);
	for (;;) {
		char ch;
		ssize_t n = read(c, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		if (ch != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = ch;
			else
				toolong = 1;
			continue;
		}
		line[len] = '\0';
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		len = 0;
		cmds++;
		unsigned long long seed;
		char tail;
		if (toolong) {
			snprintf(reply, sizeof(reply), "err line-too-long");
			toolong = 0;
		} else if (!strcmp(line, "ping")) {
			snprintf(reply, sizeof(reply), "pong");
		} else if (!strcmp(line, "time")) {
			snprintf(reply, sizeof(reply), "time mono=%lld real=%lld", clock_ms(CLOCK_MONOTONIC),
				 clock_ms(CLOCK_REALTIME));
		} else if (sscanf(line, "blk %llu%c", &seed, &tail) == 1) {
			char hex[65];
			int e = snap_blk(seed, hex);
			if (e)
				snprintf(reply, sizeof(reply), "blk-err %s", errname(e));
			else
				snprintf(reply, sizeof(reply), "blk-ok %llu %s", seed, hex);
			marker("snap-blk n=%lu %s", id, reply);
		} else if (!strcmp(line, "quit")) {
			write_all(c, "bye\n", 4);
			marker("snap-quit n=%lu", id);
			finish(RB_POWER_OFF, "poweroff");
		} else {
			snprintf(reply, sizeof(reply), "err unknown-command");
		}
		strcat(reply, "\n");
		if (write_all(c, reply, strlen(reply)) < 0) {
			err = errno;
			break;
		}
	}
	close(c);
	marker("snap-conn-end n=%lu cmds=%lu end=%s", id, cmds, err ? errname(err) : "eof");
	_exit(0);
}

/* vsock_listen, printing snap-failed listen ... when the error is new (a
 * VM without a vsock device retries quietly, ticking on). */
static int snap_listen(unsigned port)
{
	static int last_err;
	int l = vsock_listen(port);
	if (l < 0 && errno != last_err) {
		last_err = errno;
		marker("snap-failed listen port=%u errno=%s", port, errname(errno));
	}
	return l;
}

/* snapshot: a guest to snapshot and restore. A ticker child prints
 * snap-tick N mono=<CLOCK_MONOTONIC ms> real=<CLOCK_REALTIME ms> every
 * 100 ms from N=0; the agent listens on AF_VSOCK port ember.vsock_port
 * (5000): snap-listening port=P cid=C. Each connection is served in its own
 * child, line by line: "ping" -> "pong"; "time" -> "time mono= real=";
 * "blk SEED" (decimal) -> 1 MiB of splitmix64(SEED + (i+1) * golden) words
 * written to /dev/vda at 0 with O_DIRECT, fdatasync, read back with
 * O_DIRECT and compared: "blk-ok SEED <sha256 of what was read>" or
 * "blk-err ERRNO" (EILSEQ: read back something else); "quit" -> "bye" and
 * power off; anything else "err unknown-command". A restore resets every
 * vsock connection (TRANSPORT_RESET): the child sees ECONNRESET and ends,
 * the listener goes on. Accept errors are logged (snap-accept-error) and
 * retried; after 10 in a row the listener is opened again (snap-relisten).
 * Without a vsock device it only ticks (snap-failed listen ..., once).
 * Runs until "quit". */
static void sc_snapshot(void)
{
	unsigned port = (unsigned)cmdline_long("ember.vsock_port", 5000);
	unsigned long next_id = 0;
	int l, errs = 0;

	signal(SIGPIPE, SIG_IGN);
	pid_t t = fork();
	if (t == 0)
		snap_ticker();
	if (t < 0)
		marker("snap-failed fork-ticker errno=%s", errname(errno));
	wait_dev("/dev/vsock");
	while ((l = snap_listen(port)) < 0)
		sleep(1);
	marker("snap-listening port=%u cid=%ld", port, vsock_local_cid());
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			marker("snap-accept-error errno=%s", errname(errno));
			usleep(200 * 1000);
			if (++errs >= 10) {
				close(l);
				while ((l = snap_listen(port)) < 0)
					sleep(1);
				marker("snap-relisten port=%u", port);
				errs = 0;
			}
			continue;
		}
		errs = 0;
		pid_t pid = fork();
		if (pid == 0) {
			close(l);
			snap_conn(c, next_id);
		}
		if (pid < 0)
			marker("snap-accept-error step=fork errno=%s", errname(errno));
		next_id++;
		close(c);
	}
}

/* ---- root file system switch (ember.root=/dev/vdX) ---- */

static void __attribute__((noreturn)) root_fail(const char *step)
{
	marker("root-failed %s errno=%s", step, errname(errno));
	finish(RB_POWER_OFF, "poweroff");
}

/* Mounts dev (ext4; read-only if the disk refuses read-write) on /newroot,
 * moves /dev, /proc and /sys into it (or detaches them when it has no such
 * directory), makes it / (MS_MOVE + chroot, as busybox switch_root and
 * klibc run-init do; the initramfs's files are not deleted) and execs its
 * /sbin/init. Does not return. */
static void __attribute__((noreturn)) switch_root(const char *dev)
{
	static const char *const moved[] = { "/dev", "/proc", "/sys" };
	unsigned long flags = 0;
	if (wait_dev(dev) < 0)
		root_fail("wait");
	mkdir("/newroot", 0755);
	if (mount(dev, "/newroot", "ext4", 0, NULL) < 0) {
		if (errno != EACCES && errno != EROFS)
			root_fail("mount");
		flags = MS_RDONLY;
		if (mount(dev, "/newroot", "ext4", flags, NULL) < 0)
			root_fail("mount-ro");
	}
	marker("root-mounted %s %s", dev, flags ? "ro" : "rw");
	if (access("/newroot/sbin/init", X_OK) < 0)
		root_fail("no-sbin-init");
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		char dst[64];
		struct stat st;
		snprintf(dst, sizeof(dst), "/newroot%s", moved[i]);
		if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (mount(moved[i], dst, NULL, MS_MOVE, NULL) < 0)
				root_fail("move");
		} else {
			umount2(moved[i], MNT_DETACH);
		}
	}
	if (chdir("/newroot") < 0)
		root_fail("chdir");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		root_fail("move-root");
	if (chroot(".") < 0)
		root_fail("chroot");
	if (chdir("/") < 0)
		root_fail("chdir");
	marker("switch-root %s", dev);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	char *const argv[] = { "/sbin/init", NULL };
	char *const envp[] = { "HOME=/", "TERM=linux", "PATH=/sbin:/usr/sbin:/bin:/usr/bin", NULL };
	execve("/sbin/init", argv, envp);
	root_fail("exec");
}

static const struct scenario {
	const char *name;
	void (*run)(void); /* does not return: ends the VM */
} scenarios[] = {
	{ "info", sc_info },
	{ "poweroff", sc_poweroff },
	{ "reboot", sc_reboot },
	{ "panic", sc_panic },
	{ "shell", sc_shell },
	{ "blk-read", sc_blk_read },
	{ "blk-write", sc_blk_write },
	{ "blk-ro", sc_blk_ro },
	{ "blk-list", sc_blk_list },
	{ "blk-bench", sc_blk_bench },
	{ "hwrng", sc_hwrng },
	{ "ticker", sc_ticker },
	{ "net", sc_net },
	{ "net-iperf", sc_net_iperf },
	{ "vsock-echo", sc_vsock_echo },
	{ "snapshot", sc_snapshot },
};

int main(void)
{
	char name[64] = "shell", root[64];

	setup_console();
	marker("init-started");
	mount_fs();
	setup_console();
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		marker("cmdline-unreadable errno=%d", errno);
	load_modules();
	ip_config();
	if (cmdline_get("ember.root", root, sizeof(root)) == 0 || cmdline_get("root", root, sizeof(root)) == 0)
		switch_root(root);
	cmdline_get("ember.scenario", name, sizeof(name));
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(scenarios[i].name, name)) {
			marker("scenario %s", name);
			scenarios[i].run();
		}
	}
	marker("scenario-unknown %s", name);
	finish(RB_POWER_OFF, "poweroff");
}
