/* One line per event on stderr, with a level a user can choose
 * (LOG_LEVEL=error|info|verbose|debug, as wireguard-go reads it). */
#ifndef MG_TUNNEL_LOG_H
#define MG_TUNNEL_LOG_H

/* The public header's enum (include/meshguard.h), defined identically
 * under the same guard, so the node can include both; the short names are
 * the internal spelling. */
#ifndef MG_LOG_LEVEL_DEFINED
#define MG_LOG_LEVEL_DEFINED
enum mg_log_level {
	MG_LOG_LEVEL_ERROR = 0,
	MG_LOG_LEVEL_INFO = 1,
	MG_LOG_LEVEL_VERBOSE = 2,
	MG_LOG_LEVEL_DEBUG = 3,
};
#endif
#define MG_LOG_ERROR   MG_LOG_LEVEL_ERROR
#define MG_LOG_INFO    MG_LOG_LEVEL_INFO
#define MG_LOG_VERBOSE MG_LOG_LEVEL_VERBOSE
#define MG_LOG_DEBUG   MG_LOG_LEVEL_DEBUG

extern enum mg_log_level mg_log_threshold;

/* Reads LOG_LEVEL; unknown values keep the default (info). */
void mg_log_init_from_env(void);
void mg_log(enum mg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mg_log_enabled(level) ((level) <= mg_log_threshold)

#endif
