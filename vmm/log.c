#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char err_msg[ERR_MSG_MAX];
static _Atomic enum log_level current_level = LOG_WARN;

/* The sink and format. Writers hold the lock shared across their write(2),
 * so log_configure (exclusive) can close the old file without pulling it
 * from under a line being written. */
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static int log_fd = STDERR_FILENO;
static int owned_fd = -1; /* the file log_configure opened, if any */
static bool fc_format;    /* log_configure was called */
static bool log_off;
static bool show_level;
static bool show_origin;
static char instance_id[LOG_INSTANCE_ID_MAX + 1] = LOG_DEFAULT_INSTANCE_ID;

static atomic_uint_fast64_t lines_written;
static atomic_uint_fast64_t lines_dropped;

static const char *const level_names[] = { "Error", "Warning", "Info", "Debug", "Trace" };
/* As Rust's log crate prints them, which is what Firecracker shows. */
static const char *const fc_level_names[] = { "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

int err_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return err;
}

int err_wrap(int err, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_msg, sizeof(old));
	if (old[0])
		snprintf(err_msg, sizeof(err_msg), "%.200s: %.300s", prefix, old);
	else
		snprintf(err_msg, sizeof(err_msg), "%.200s: %.300s", prefix,
			 strerror(err < 0 ? -err : err));
	return err;
}

const char *err_last(void)
{
	return err_msg[0] ? err_msg : "unknown error";
}

void err_clear(void)
{
	err_msg[0] = '\0';
}

void log_set_level(enum log_level level)
{
	if (level <= LOG_TRACE)
		atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&current_level, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warn") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return err_fail(-EINVAL, "unknown log level '%s'", name);
}

int log_filter_parse(const char *name, enum log_level *level, bool *off)
{
	if (strcasecmp(name, "off") == 0) {
		*off = true;
		return 0;
	}
	if (log_level_parse(name, level))
		return err_fail(-EINVAL, "unknown log level '%s' (Off, Error, Warning, Info, Debug or Trace)", name);
	*off = false;
	return 0;
}

const char *log_level_name(enum log_level level)
{
	return level <= LOG_TRACE ? level_names[level] : "?";
}

void log_set_fd(int fd)
{
	pthread_rwlock_wrlock(&sink_lock);
	log_fd = fd;
	pthread_rwlock_unlock(&sink_lock);
}

static int open_sink(const char *path)
{
	/* O_NONBLOCK: a FIFO whose reader stalls must cost us lines, not a
	 * blocked vCPU or event loop. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);

	if (fd >= 0)
		return fd;
	if (errno == ENXIO)
		return err_fail(-ENXIO, "%s is a named pipe with no reader: start the reader before configuring", path);
	return err_fail(-errno, "%s: %m", path);
}

int log_configure(const struct log_options *o)
{
	int fd = -1, old = -1;

	if (!o)
		return err_fail(-EINVAL, "no options");
	if (!o->off && o->level > LOG_TRACE)
		return err_fail(-EINVAL, "level %d out of range", (int)o->level);
	if (o->instance_id && strlen(o->instance_id) > LOG_INSTANCE_ID_MAX)
		return err_fail(-EINVAL, "instance id longer than %d bytes", LOG_INSTANCE_ID_MAX);
	if (o->path) {
		fd = open_sink(o->path);
		if (fd < 0)
			return fd;
	}
	pthread_rwlock_wrlock(&sink_lock);
	if (fd >= 0) {
		old = owned_fd;
		owned_fd = log_fd = fd;
	}
	fc_format = true;
	log_off = o->off;
	show_level = o->show_level;
	show_origin = o->show_log_origin;
	snprintf(instance_id, sizeof(instance_id), "%s",
		 o->instance_id && o->instance_id[0] ? o->instance_id : LOG_DEFAULT_INSTANCE_ID);
	if (!o->off)
		log_set_level(o->level);
	pthread_rwlock_unlock(&sink_lock);
	if (old >= 0)
		close(old);
	return 0;
}

void log_reset(void)
{
	int old;

	pthread_rwlock_wrlock(&sink_lock);
	old = owned_fd;
	owned_fd = -1;
	log_fd = STDERR_FILENO;
	fc_format = log_off = show_level = show_origin = false;
	snprintf(instance_id, sizeof(instance_id), "%s", LOG_DEFAULT_INSTANCE_ID);
	log_set_level(LOG_WARN);
	pthread_rwlock_unlock(&sink_lock);
	if (old >= 0)
		close(old);
}

void log_counters(uint64_t *lines, uint64_t *dropped)
{
	if (lines)
		*lines = atomic_load_explicit(&lines_written, memory_order_relaxed);
	if (dropped)
		*dropped = atomic_load_explicit(&lines_dropped, memory_order_relaxed);
}

/* Firecracker's prefix: "<UTC time> [<id>:<thread>(:<LEVEL>)(:<origin>)] ". */
static int fc_prefix(char *buf, size_t size, enum log_level level, const char *func, const char *file, int line)
{
	char thread[16] = "-";
	char stamp[32];
	char origin[256] = "";
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (pthread_getname_np(pthread_self(), thread, sizeof(thread)) || !thread[0])
		snprintf(thread, sizeof(thread), "-");
	if (show_origin) {
		if (file)
			snprintf(origin, sizeof(origin), ":%s:%d", file, line);
		else
			snprintf(origin, sizeof(origin), ":%s", func ? func : "?");
	}
	return snprintf(buf, size, "%s.%09ld [%s:%s%s%s%s] ", stamp, ts.tv_nsec, instance_id, thread,
			show_level ? ":" : "", show_level ? fc_level_names[level] : "", origin);
}

static int legacy_prefix(char *buf, size_t size, enum log_level level, const char *func)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return snprintf(buf, size, "%lld.%09ld [ember:%s] %s: ", (long long)ts.tv_sec, ts.tv_nsec, level_names[level],
			func ? func : "?");
}

static void log_vwrite(enum log_level level, const char *func, const char *file, int line, const char *fmt,
		       va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t len;
	ssize_t w;
	int n, saved_errno = errno;

	if (level > LOG_TRACE || level > log_get_level())
		return;
	pthread_rwlock_rdlock(&sink_lock);
	if (log_off) {
		pthread_rwlock_unlock(&sink_lock);
		return;
	}
	n = fc_format ? fc_prefix(buf, sizeof(buf), level, func, file, line) : legacy_prefix(buf, sizeof(buf), level, func);
	len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	/* Messages use %m: it must see the caller's errno. */
	errno = saved_errno;
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;
	/* The last byte is always the newline, even for a cut line. */
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	buf[len++] = '\n';
	do
		w = write(log_fd, buf, len);
	while (w < 0 && errno == EINTR);
	pthread_rwlock_unlock(&sink_lock);
	if (w == (ssize_t)len)
		atomic_fetch_add_explicit(&lines_written, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&lines_dropped, 1, memory_order_relaxed);
	errno = saved_errno;
}

void log_write(enum log_level level, const char *origin, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, origin, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_write_at(enum log_level level, const char *func, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, func, file, line, fmt, ap);
	va_end(ap);
}

#define NS_PER_S 1000000000ull

bool log_limit_allow(struct log_limit *l, uint64_t now_ns, unsigned *held)
{
	if (!l->refilled_ns) {
		l->refilled_ns = now_ns ? now_ns : 1;
		l->tokens = LOG_LIMIT_BURST;
	} else if (now_ns > l->refilled_ns) {
		uint64_t secs = (now_ns - l->refilled_ns) / NS_PER_S;

		if (secs) {
			l->tokens = secs >= LOG_LIMIT_BURST - l->tokens ? LOG_LIMIT_BURST : l->tokens + (unsigned)secs;
			l->refilled_ns += secs * NS_PER_S;
		}
	}
	*held = 0;
	if (!l->tokens) {
		l->held++;
		return false;
	}
	l->tokens--;
	*held = l->held;
	l->held = 0;
	return true;
}

void log_limited_at(struct log_limit *l, enum log_level level, const char *func, const char *file, int line,
		    const char *fmt, ...)
{
	struct timespec ts;
	char msg[LOG_LINE_MAX];
	unsigned held;
	va_list ap;

	/* A line nobody would see spends nothing. */
	if (level > log_get_level())
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!log_limit_allow(l, (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec, &held))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held)
		log_write_at(level, func, file, line, "%s (%u more like it held back)", msg, held);
	else
		log_write_at(level, func, file, line, "%s", msg);
}
