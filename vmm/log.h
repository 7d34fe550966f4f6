/* Error messages and leveled logging shared by every module.
 *
 * Functions that fail return a negative errno and record a message saying
 * what failed and where through err_fail(); the caller that finally reports
 * the failure reads it back with err_last(). The message is per thread so
 * vCPU and device threads do not clobber each other. */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

#define ERR_MSG_MAX 512

/* Record a message for the error `err` (a negative errno) and return `err`,
 * so failure paths read `return err_set(-EINVAL, "...")`. */
int err_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_set, but prefixes the message with the function that failed. */
#define err_fail(err, fmt, ...) err_set((err), "%s: " fmt, __func__, ##__VA_ARGS__)
/* Prefix the current message with more context, keeping the original error. */
int err_wrap(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *err_last(void);
void err_clear(void);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse Firecracker's level names ("Error", "Warning", "Info", "Debug",
 * "Trace", any case); returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
/* Redirect log lines to an already open fd (default: stderr). */
void log_set_fd(int fd);
/* `origin` is where the line comes from (a function name); shown before
 * the message in the default format, and as the origin in Firecracker's
 * format when show_log_origin is set. */
void log_write(enum log_level level, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* What the log_* macros call: the function for the default format, file
 * and line for Firecracker's origin ("vmm/vcpu.c:155"). */
void log_write_at(enum log_level level, const char *func, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define log_error(...) log_write_at(LOG_ERROR, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write_at(LOG_WARN, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write_at(LOG_INFO, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write_at(LOG_DEBUG, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define log_trace(...) log_write_at(LOG_TRACE, __func__, __FILE__, __LINE__, __VA_ARGS__)

/* Lines a guest can trigger at will (a broken ring, a register written
 * out of turn, a panic): a guest that repeats one mistake in a loop must
 * not fill the host's disk or drown the VMM's own lines. Each source (a
 * device) keeps one log_limit: a burst of LOG_LIMIT_BURST lines, then one
 * a second; lines held back are counted, and the next line written says
 * how many. Zero-initialised it starts full. Not locked: each source uses
 * it under its own lock. */
#define LOG_LIMIT_BURST 10
struct log_limit {
	uint64_t refilled_ns; /* CLOCK_MONOTONIC of the last refill; 0: never used */
	unsigned tokens;
	unsigned held;
};
/* Whether one more line may be written at now_ns; *held gets the lines
 * held back since the last one written (reset once said). */
bool log_limit_allow(struct log_limit *l, uint64_t now_ns, unsigned *held);
void log_limited_at(struct log_limit *l, enum log_level level, const char *func, const char *file, int line,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define log_guest(l, level, ...) log_limited_at(l, level, __func__, __FILE__, __LINE__, __VA_ARGS__)

/* Firecracker's logger (PUT /logger, --log-path).
 *
 * Until log_configure() is called, lines keep ember's own format on stderr
 * ("<sec>.<nsec> [ember:Level] func: message"). Once configured, every line
 * takes Firecracker's shape:
 *
 *   2024-05-01T10:20:30.123456789 [anonymous-instance:ember-vcpu0:WARN:vmm/vcpu.c:155] message
 *
 * i.e. "<UTC timestamp> [<instance id>:<thread name>(:<LEVEL>)(:<origin>)]
 * <message>", the thread name from pthread_getname_np, LEVEL one of ERROR
 * WARN INFO DEBUG TRACE (show_level), origin file:line or the function
 * (show_log_origin).
 *
 * Each line is built whole in a buffer of LOG_LINE_MAX bytes (a longer
 * message is cut) and written with one write(2), so lines from different
 * threads never interleave; LOG_LINE_MAX is below PIPE_BUF, so a write to a
 * FIFO is all or nothing. A line that cannot be written (a full FIFO, a
 * closed reader, a full disk) is dropped and counted, never waited for. */
#define LOG_LINE_MAX 1024
#define LOG_INSTANCE_ID_MAX 64
#define LOG_DEFAULT_INSTANCE_ID "anonymous-instance"

struct log_options {
	/* File or named pipe, opened O_WRONLY|O_APPEND|O_CREAT|O_NONBLOCK
	 * (0600). A FIFO must already have a reader: without one the open
	 * fails with -ENXIO. NULL keeps the current sink (stderr at first). */
	const char *path;
	enum log_level level;
	bool off;             /* level "Off": nothing is written at all */
	bool show_level;
	bool show_log_origin;
	const char *instance_id; /* NULL or "": LOG_DEFAULT_INSTANCE_ID */
};

/* Switches to Firecracker's format with these options. A second call
 * replaces the first (and closes the file it opened). On failure nothing
 * changes. Safe while other threads log. */
int log_configure(const struct log_options *o);
/* Back to the unconfigured state: stderr, ember's format, level Warning;
 * closes a file log_configure opened. The counters are kept. */
void log_reset(void);
/* Like log_level_parse, also taking Firecracker's "Off" (*off = true). */
int log_filter_parse(const char *name, enum log_level *level, bool *off);
/* Lines written whole, and lines lost (write failed, would block, or was
 * short), since the process started. Filtered-out lines count in neither. */
void log_counters(uint64_t *lines, uint64_t *dropped);

#endif
