#include "util/log.h"
#include "util/macros.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct mg_log default_log = { .threshold = MG_LOG_INFO };

struct mg_log *mg_log_default(void)
{
	return &default_log;
}

/* The public API's parser (include/meshguard.h), defined here so that
 * mg_log_init_from_env and programs read LOG_LEVEL the same way. */
int mg_log_level_parse(const char *s, enum mg_log_level *out)
{
	static const struct {
		const char *name;
		enum mg_log_level level;
	} levels[] = {
		{ "error", MG_LOG_LEVEL_ERROR },     { "info", MG_LOG_LEVEL_INFO },
		{ "verbose", MG_LOG_LEVEL_VERBOSE }, { "debug", MG_LOG_LEVEL_DEBUG },
		{ "silent", MG_LOG_LEVEL_ERROR }, /* wireguard-go's word for "only errors" */
	};

	for (size_t i = 0; s && i < ARRAY_SIZE(levels); i++) {
		if (!strcmp(s, levels[i].name)) {
			*out = levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void mg_log_init_from_env(void)
{
	(void)mg_log_level_parse(getenv("LOG_LEVEL"), &default_log.threshold);
}

const char *mg_log_safe(char out[MG_LOG_SAFE_MAX], const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const size_t room = MG_LOG_SAFE_MAX - 4; /* keeps space for "..." and NUL */
	size_t o = 0, i = 0;

	for (; i < len && in[i]; i++) {
		unsigned char c = (unsigned char)in[i];
		char esc[4] = { '\\', (char)c };
		size_t n = 2;
		if (c < 0x20 || c >= 0x7f) {
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		} else if (c != '\\' && c != '"') {
			esc[0] = (char)c;
			n = 1;
		}
		if (o + n > room)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	if (i < len && in[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static void to_stderr(const char *line)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, line);
}

/* Ends a line that did not fit with "…", cut at a character boundary so
 * that a callback never sees half a UTF-8 sequence. */
static void mark_truncated(char line[MG_LOG_LINE_MAX])
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	size_t at = MG_LOG_LINE_MAX - sizeof(ellipsis);

	while (at > 0 && ((unsigned char)line[at] & 0xc0) == 0x80)
		at--;
	memcpy(line + at, ellipsis, sizeof(ellipsis));
}

void mg_log(const struct mg_log *log, enum mg_log_level level, const char *fmt, ...)
{
	char line[MG_LOG_LINE_MAX];
	va_list ap;
	int n;

	if (!log)
		log = &default_log;
	if (!mg_log_enabled(log, level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		mark_truncated(line);
	if (log->fn)
		log->fn(log->user, level, line);
	else
		to_stderr(line);
}
