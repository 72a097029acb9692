/* One line per event, with a level a user can choose
 * (LOG_LEVEL=error|info|verbose|debug, as wireguard-go reads it).
 *
 * Every node has its own logger, so two nodes in one process log side by
 * side with their own thresholds and destinations; modules keep a borrowed
 * pointer to their owner's struct mg_log, which must outlive them. A NULL
 * logger means the process default (mg_log_default()), for code that has
 * no node, such as the command line itself. */
#ifndef MG_UTIL_LOG_H
#define MG_UTIL_LOG_H

#include <stdbool.h>

/* The levels are the public API's (enum mg_log_level), so a caller's log
 * callback and the library's loggers share one type; the public header is
 * a leaf (libc and libuv only), so every layer may take types from it. */
#include "meshguard.h"

#define MG_LOG_ERROR   MG_LOG_LEVEL_ERROR
#define MG_LOG_INFO    MG_LOG_LEVEL_INFO
#define MG_LOG_VERBOSE MG_LOG_LEVEL_VERBOSE
#define MG_LOG_DEBUG   MG_LOG_LEVEL_DEBUG

/* A line's text, without newline or timestamp, is at most this long
 * (terminator included); longer lines end in "…". */
#define MG_LOG_LINE_MAX 1024

struct mg_log {
	enum mg_log_level threshold; /* lines above it are not even formatted */
	/* Called on the logging thread with the line, valid only during the
	 * call. NULL: stderr, prefixed with the UTC time of day. */
	void (*fn)(void *user, enum mg_log_level level, const char *line);
	void *user;
};

/* The logger used for NULL: threshold info, stderr. Its only writer should
 * be the program's start-up (mg_log_init_from_env, or tests quietening
 * it), before other threads run. */
struct mg_log *mg_log_default(void);

/* Sets the default logger's threshold from LOG_LEVEL; unknown values keep
 * it. For programs (the CLI), never called by the library. */
void mg_log_init_from_env(void);

void mg_log(const struct mg_log *log, enum mg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Text from outside (a gateway's answer, a client's request line, anything
 * a peer sent) made fit for one log line: bytes outside printable ASCII
 * become \xHH, a backslash and a double quote \\ and \" (so a quoted
 * value cannot close its quotes, start a new line or move a terminal's
 * cursor); reads len bytes or up to a NUL; writes at most
 * MG_LOG_SAFE_MAX - 1 bytes and a NUL, ending in "..." when cut. Returns
 * out, for use as a printf argument. Strings a parser already held to a
 * safe alphabet (certificate, member and group names: [A-Za-z0-9._-]) need
 * it not. */
#define MG_LOG_SAFE_MAX 128
const char *mg_log_safe(char out[MG_LOG_SAFE_MAX], const char *in, size_t len);

static inline bool mg_log_enabled(const struct mg_log *log, enum mg_log_level level)
{
	return level <= (log ? log : mg_log_default())->threshold;
}

#endif
