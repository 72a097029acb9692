/* Minimal assertions for unit tests: each test program is one behaviour and
 * exits non-zero on the first failed check, naming file and line. */
#ifndef MG_TEST_CHECK_H
#define MG_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static int mg_check_failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                      \
	do {                                                                                \
		long long _a = (long long)(a), _b = (long long)(b);                         \
		if (_a != _b) {                                                             \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
				__LINE__, #a, #b, _a, _b);                                  \
			exit(1);                                                            \
		}                                                                           \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                       \
	do {                                                                                     \
		if (memcmp((a), (b), (n)) != 0) {                                                \
			fprintf(stderr, "%s:%d: memory %s != %s\n", __FILE__, __LINE__, #a, #b); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

/* Parses a hex string into out; returns the number of bytes. */
static inline size_t mg_test_unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;
	while (hex[0] && hex[1] && n < max) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static inline void mg_test_pass(const char *name)
{
	(void)mg_check_failures;
	printf("%s: ok\n", name);
}

#endif
