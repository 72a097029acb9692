/* The library-wide calls of include/meshguard.h: the version the header
 * names is the one linked, mg_library_init succeeds from several threads at
 * once and again afterwards, and log levels parse as wireguard-go's
 * LOG_LEVEL words. */
#include "check.h"
#include "meshguard.h"

#include <errno.h>
#include <pthread.h>

static const struct {
	const char *word;
	int ret;
	enum mg_log_level level;
} levels[] = {
	{ "error", 0, MG_LOG_LEVEL_ERROR },
	{ "info", 0, MG_LOG_LEVEL_INFO },
	{ "verbose", 0, MG_LOG_LEVEL_VERBOSE },
	{ "debug", 0, MG_LOG_LEVEL_DEBUG },
	{ "silent", 0, MG_LOG_LEVEL_ERROR },
	{ "", -EINVAL, 0 },
	{ "Debug", -EINVAL, 0 },
	{ "debug ", -EINVAL, 0 },
	{ "3", -EINVAL, 0 },
};

static void *init_thread(void *arg)
{
	*(int *)arg = mg_library_init();
	return NULL;
}

int main(void)
{
	pthread_t threads[4];
	int results[4];
	enum mg_log_level level;

	CHECK_EQ(mg_api_version(), MG_API_VERSION);
	CHECK_EQ(mg_api_version() >> 16, MG_API_VERSION_MAJOR);
	CHECK(mg_version_string()[0] >= '0' && mg_version_string()[0] <= '9');

	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&threads[i], NULL, init_thread, &results[i]), 0);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(pthread_join(threads[i], NULL), 0);
		CHECK_EQ(results[i], 0);
	}
	CHECK_EQ(mg_library_init(), 0);

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		level = MG_LOG_LEVEL_INFO;
		CHECK_EQ(mg_log_level_parse(levels[i].word, &level), levels[i].ret);
		CHECK_EQ(level, levels[i].ret ? MG_LOG_LEVEL_INFO : levels[i].level);
	}
	CHECK_EQ(mg_log_level_parse(NULL, &level), -EINVAL);
	mg_test_pass("test_api_library");
	return 0;
}
