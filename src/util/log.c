#include "util/log.h"
#include "util/macros.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum mg_log_level mg_log_threshold = MG_LOG_INFO;

void mg_log_init_from_env(void)
{
	static const char *const names[] = { "error", "info", "verbose", "debug" };
	const char *v = getenv("LOG_LEVEL");

	if (!v)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(v, names[i]))
			mg_log_threshold = (enum mg_log_level)i;
	if (!strcmp(v, "silent"))
		mg_log_threshold = MG_LOG_ERROR;
}

void mg_log(enum mg_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (!mg_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, line);
}
