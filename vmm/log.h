/* Error messages and leveled logging shared by every module.
 *
 * Functions that fail return a negative errno and record a message saying
 * what failed and where through err_fail(); the caller that finally reports
 * the failure reads it back with err_last(). The message is per thread so
 * vCPU and device threads do not clobber each other. */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdarg.h>

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
void log_write(enum log_level level, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
