/* Loggers are per node: two loggers with different thresholds and callbacks
 * log side by side and each sees only its own lines; a NULL logger goes to
 * the process default; a line too long for the buffer ends in "…". Then two
 * devices on one wire, each with its own logger, log their handshakes each
 * to its own. */
#include "util/log.h"
#include "wire.h"

struct capture {
	unsigned lines;
	enum mg_log_level level;
	char last[MG_LOG_LINE_MAX];
};

static void capture(void *user, enum mg_log_level level, const char *line)
{
	struct capture *c = user;

	c->lines++;
	c->level = level;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

static void side_by_side(void)
{
	struct capture ca = { 0 }, cb = { 0 }, cd = { 0 };
	struct mg_log a = { .threshold = MG_LOG_INFO, .fn = capture, .user = &ca };
	struct mg_log b = { .threshold = MG_LOG_DEBUG, .fn = capture, .user = &cb };
	struct mg_log *def = mg_log_default();
	struct mg_log saved = *def;

	*def = (struct mg_log){ .threshold = MG_LOG_ERROR, .fn = capture, .user = &cd };
	mg_log(&a, MG_LOG_INFO, "a says %d", 1);
	mg_log(&a, MG_LOG_DEBUG, "a is filtered");
	mg_log(&b, MG_LOG_DEBUG, "b says %s", "debug");
	mg_log(NULL, MG_LOG_INFO, "default filters info");
	mg_log(NULL, MG_LOG_ERROR, "default says %s", "error");
	*def = saved;

	CHECK_EQ(ca.lines, 1);
	CHECK(!strcmp(ca.last, "a says 1"));
	CHECK_EQ(ca.level, MG_LOG_INFO);
	CHECK_EQ(cb.lines, 1);
	CHECK(!strcmp(cb.last, "b says debug"));
	CHECK_EQ(cb.level, MG_LOG_DEBUG);
	CHECK_EQ(cd.lines, 1);
	CHECK(!strcmp(cd.last, "default says error"));
	CHECK(mg_log_enabled(&b, MG_LOG_DEBUG) && !mg_log_enabled(&a, MG_LOG_DEBUG));
}

/* 'x' up to the last 3 bytes, then a 2-byte character that would straddle
 * the cut: it is dropped whole, and the line ends in the ellipsis. */
static void truncated(void)
{
	static char longer[2 * MG_LOG_LINE_MAX];
	struct capture c = { 0 };
	struct mg_log log = { .threshold = MG_LOG_INFO, .fn = capture, .user = &c };
	size_t n;

	memset(longer, 'x', sizeof(longer) - 1);
	memcpy(longer + MG_LOG_LINE_MAX - 5, "\xc3\xa9", 2);
	mg_log(&log, MG_LOG_INFO, "%s", longer);
	n = strlen(c.last);
	CHECK(n < MG_LOG_LINE_MAX);
	CHECK(!strcmp(c.last + n - 3, "\xe2\x80\xa6"));
	CHECK_EQ(c.last[n - 4], 'x');
	CHECK_EQ(n, MG_LOG_LINE_MAX - 5 + 3);
}

static void two_devices(void)
{
	struct capture c0 = { 0 }, c1 = { 0 }, cd = { 0 };
	struct mg_log l0 = { .threshold = MG_LOG_INFO, .fn = capture, .user = &c0 };
	struct mg_log l1 = { .threshold = MG_LOG_ERROR, .fn = capture, .user = &c1 };
	struct mg_log *def = mg_log_default();
	struct mg_log saved = *def;
	struct wire w;

	*def = (struct mg_log){ .threshold = MG_LOG_DEBUG, .fn = capture, .user = &cd };
	wire_init(&w, 2);
	w.nodes[0].dev.log = &l0;
	w.nodes[1].dev.log = &l1;
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_send_ip(&w, 0, 1, 84);
	wire_pump(&w);
	CHECK_EQ(w.nodes[1].delivered, 1);
	wire_free(&w);
	*def = saved;

	CHECK_EQ(c0.lines, 1);
	CHECK(strstr(c0.last, ": handshake completed, keypair 0x") != NULL);
	CHECK(strstr(c0.last, "(initiator)") != NULL);
	CHECK_EQ(c1.lines, 0);
	CHECK_EQ(cd.lines, 0);
}

int main(void)
{
	side_by_side();
	truncated();
	two_devices();
	mg_test_pass("log_per_node");
	return 0;
}
