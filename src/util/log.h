/* One line per event on stderr, with a level a user can choose
 * (LOG_LEVEL=error|info|verbose|debug, as wireguard-go reads it). */
#ifndef MG_UTIL_LOG_H
#define MG_UTIL_LOG_H

enum mg_log_level {
	MG_LOG_ERROR = 0,
	MG_LOG_INFO = 1,
	MG_LOG_VERBOSE = 2,
	MG_LOG_DEBUG = 3,
};

extern enum mg_log_level mg_log_threshold;

/* Reads LOG_LEVEL; unknown values keep the default (info). */
void mg_log_init_from_env(void);
void mg_log(enum mg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mg_log_enabled(level) ((level) <= mg_log_threshold)

#endif
