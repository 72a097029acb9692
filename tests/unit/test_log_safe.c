/* mg_log_safe: text from outside comes out as one printable line, quoted
 * values cannot be closed early, long text is cut whole escapes at a time
 * and marked, and the output never exceeds MG_LOG_SAFE_MAX. */
#include <string.h>

#include "check.h"
#include "util/log.h"

struct row {
	const char *in;
	size_t len;
	const char *out;
};

#define ALL ((size_t)-1)

static const struct row rows[] = {
	{ "WANIPConnection", ALL, "WANIPConnection" },
	{ "", ALL, "" },
	{ "a\nb\r\n", ALL, "a\\x0ab\\x0d\\x0a" },
	{ "\x1b[31mred\x1b[0m", ALL, "\\x1b[31mred\\x1b[0m" },
	{ "say \"hi\" \\ bye", ALL, "say \\\"hi\\\" \\\\ bye" },
	{ "caf\xc3\xa9 \x7f", ALL, "caf\\xc3\\xa9 \\x7f" },
	{ "stop\0hidden", 11, "stop" },
	{ "abcdef", 3, "abc" },
	{ "\t", ALL, "\\x09" },
};

static void table(void)
{
	char out[MG_LOG_SAFE_MAX];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *r = mg_log_safe(out, rows[i].in, rows[i].len);
		CHECK(r == out);
		if (strcmp(out, rows[i].out))
			fprintf(stderr, "row %zu: '%s', expected '%s'\n", i, out, rows[i].out);
		CHECK(strcmp(out, rows[i].out) == 0);
	}
}

/* Every length of input, of bytes that each need 4 out: cut at a whole
 * escape, "..." when cut, never past the buffer. */
static void bounds(void)
{
	char in[4 * MG_LOG_SAFE_MAX], out[MG_LOG_SAFE_MAX + 16];

	memset(in, '\x01', sizeof(in));
	for (size_t len = 0; len <= sizeof(in); len++) {
		memset(out, 'Z', sizeof(out));
		mg_log_safe(out, in, len);
		size_t n = strlen(out);
		CHECK(n < MG_LOG_SAFE_MAX);
		CHECK(out[MG_LOG_SAFE_MAX] == 'Z'); /* nothing written past */
		bool cut = n >= 3 && !strcmp(out + n - 3, "...");
		size_t body = cut ? n - 3 : n;
		CHECK_EQ(body % 4, 0);
		CHECK_EQ(cut, body / 4 < len);
		for (size_t i = 0; i < body; i += 4)
			CHECK(memcmp(out + i, "\\x01", 4) == 0);
	}
	/* A long printable line keeps as much as fits. */
	memset(in, 'a', sizeof(in));
	mg_log_safe(out, in, sizeof(in));
	CHECK_EQ(strlen(out), MG_LOG_SAFE_MAX - 1);
}

int main(void)
{
	table();
	bounds();
	mg_test_pass("log_safe");
	return 0;
}
