#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char err_msg[ERR_MSG_MAX];
static enum log_level current_level = LOG_WARN;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "Error", "Warning", "Info", "Debug", "Trace" };

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
		current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
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

const char *log_level_name(enum log_level level)
{
	return level <= LOG_TRACE ? level_names[level] : "?";
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_write(enum log_level level, const char *origin, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%09ld [ember:%s] %s: ", (long long)ts.tv_sec,
		     ts.tv_nsec, level_names[level], origin);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}
