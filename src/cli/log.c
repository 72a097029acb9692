#include "cli/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static enum mg_log_level threshold = MG_LOG_LEVEL_INFO;

void mg_cli_log_init_from_env(void)
{
	(void)mg_log_level_parse(getenv("LOG_LEVEL"), &threshold);
}

enum mg_log_level mg_cli_log_level(void)
{
	return threshold;
}

void mg_cli_log(enum mg_log_level level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
