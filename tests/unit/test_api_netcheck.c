/* mg_netcheck_* on a caller's loop, without touching any network but
 * loopback: a check with nothing to ask is done at once and reports so (in
 * text and JSON); a bad server is refused at start with a log line and
 * leaves nothing open; a check closed before it is done never calls done,
 * and its loop closes. */
#include "check.h"
#include "meshguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

struct seen {
	int done;
	int lines;
	char last[512];
};

static void on_done(struct mg_netcheck *nc, void *user)
{
	(void)nc;
	((struct seen *)user)->done++;
}

static void on_log(void *user, enum mg_log_level level, const char *line)
{
	struct seen *s = user;

	(void)level;
	s->lines++;
	snprintf(s->last, sizeof(s->last), "%s", line);
}

/* No server, no port mapping: done without waiting for the timeout. */
static void check_nothing_to_ask(void)
{
	struct mg_netcheck_config c = MG_NETCHECK_CONFIG_INIT;
	struct seen seen = { 0 };
	struct mg_netcheck *nc;
	uv_loop_t loop;
	char *text, *json;

	c.listen_port = 0;
	c.timeout_ms = 60000;
	c.on_log = on_log;
	c.user = &seen;
	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(mg_netcheck_start(&loop, &c, on_done, &nc), 0);
	CHECK_EQ(seen.done, 0); /* never from start */
	CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(seen.done, 1);
	text = mg_netcheck_report_text(nc);
	json = mg_netcheck_report_json(nc);
	CHECK(text && json);
	CHECK(strstr(text, "(ephemeral)\n") != NULL);
	CHECK(strstr(text, "no server given") != NULL);
	CHECK(strstr(text, "port mapping:    not asked (off)\n") != NULL);
	CHECK(strstr(text, "No public endpoint found: no STUN server was given") != NULL);
	CHECK(json[0] == '{' && json[strlen(json) - 1] == '}');
	CHECK(strstr(json, "\"timed_out\":false") != NULL);
	CHECK(strstr(json, "\"stun\":[]") != NULL);
	CHECK(strstr(json, "\"portmap\":null") != NULL);
	CHECK(strstr(json, "\"public_endpoint_found\":false") != NULL);
	free(text);
	free(json);
	mg_netcheck_close(nc);
	CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(uv_loop_close(&loop), 0);
	CHECK_EQ(seen.lines, 0);
}

static const struct {
	const char *server;
	const char *portmap;
	const char *line;
} refused[] = {
	{ "stun.example.com", NULL, "STUN server \"stun.example.com\" is not a server" },
	{ "2001:db8::1:3478", NULL, "STUN server \"2001:db8::1:3478\" is not a server" },
	{ "192.0.2.1:0", NULL, "STUN server \"192.0.2.1:0\" is not a server" },
	/* strtoul took these: a port is digits only. */
	{ "192.0.2.1: 3478", NULL, "STUN server \"192.0.2.1: 3478\" is not a server" },
	{ "192.0.2.1:3478 ", NULL, "STUN server \"192.0.2.1:3478 \" is not a server" },
	{ "192.0.2.1:3478", "upnp2", "port mapping \"upnp2\" is not a protocol" },
};

static void check_refused(void)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct mg_netcheck_config c = MG_NETCHECK_CONFIG_INIT;
		struct seen seen = { 0 };
		struct mg_netcheck *nc = NULL;
		uv_loop_t loop;

		c.stun_servers = &refused[i].server;
		c.stun_servers_len = 1;
		c.portmap = refused[i].portmap;
		c.on_log = on_log;
		c.user = &seen;
		CHECK_EQ(uv_loop_init(&loop), 0);
		CHECK_EQ(mg_netcheck_start(&loop, &c, on_done, &nc), -EINVAL);
		CHECK(nc == NULL);
		CHECK_EQ(seen.lines, 1);
		if (strncmp(seen.last, refused[i].line, strlen(refused[i].line)))
			fprintf(stderr, "refused[%zu]: %s\n", i, seen.last);
		CHECK(!strncmp(seen.last, refused[i].line, strlen(refused[i].line)));
		CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
		CHECK_EQ(uv_loop_close(&loop), 0);
		CHECK_EQ(seen.done, 0);
	}
}

/* A loopback socket of ours that never answers stands in for the server. */
static void check_cancel(void)
{
	struct mg_netcheck_config c = MG_NETCHECK_CONFIG_INIT;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct seen seen = { 0 };
	struct mg_netcheck *nc;
	char server[32];
	const char *servers[] = { server };
	uv_loop_t loop;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	CHECK(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sin.sin_port));
	c.stun_servers = servers;
	c.stun_servers_len = 1;
	c.listen_port = 0;
	c.timeout_ms = 60000;
	c.user = &seen;
	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(mg_netcheck_start(&loop, &c, on_done, &nc), 0);
	CHECK_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1); /* waiting for the answer */
	mg_netcheck_close(nc);
	CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(uv_loop_close(&loop), 0);
	CHECK_EQ(seen.done, 0);
	close(fd);
}

int main(void)
{
	check_nothing_to_ask();
	check_refused();
	check_cancel();
	mg_test_pass("test_api_netcheck");
	return 0;
}
