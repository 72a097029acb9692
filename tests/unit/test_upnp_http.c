/* The bounded HTTP reader of UPnP answers: what is complete, what needs
 * more, what is too large (by Content-Length, by chunks, by headers, by a
 * body with no length) and what is not HTTP; every prefix of a complete
 * answer asks for more, never misparses; and the URLs we send to. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nat/upnp_http.h"

struct row {
	const char *in;
	bool eof;
	int ret;
	int status;
	const char *body;
};

static const struct row rows[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 0, 200, "hello" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more", false, 0, 200, "hello" },
	{ "HTTP/1.0 500 Internal\nContent-Length:2\n\nab", false, 0, 500, "ab" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, -EAGAIN, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", true, -EBADMSG, 0, NULL },
	{ "HTTP/1.1 200 OK\r\n\r\nuntil the close", false, -EAGAIN, 0, NULL },
	{ "HTTP/1.1 200 OK\r\n\r\nuntil the close", true, 0, 200, "until the close" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
	  false, 0, 200, "hello, world" },
	{ "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\nContent-Length: 3\r\n\r\n"
	  "3\nabc\n0\n\n",
	  false, 0, 200, "abc" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, -EAGAIN, 0,
	  NULL },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true, -EBADMSG, 0,
	  NULL },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX", false, -EBADMSG, 0,
	  NULL },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, -EBADMSG, 0, NULL },
	/* Sizes that can never fit, refused before any of it arrives. */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2000000000\r\n\r\n", false, -EMSGSIZE, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, -EMSGSIZE, 0,
	  NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n", false, -EMSGSIZE, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000\r\n", false, -EBADMSG, 0,
	  NULL },
	/* Not HTTP, or lengths that disagree or are not numbers. */
	{ "SSH-2.0-OpenSSH\r\n\r\n", false, -EBADMSG, 0, NULL },
	{ "HTTP/1.1 2x0 OK\r\n\r\n", false, -EBADMSG, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false,
	  -EBADMSG, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, -EBADMSG, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", false, -EBADMSG, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Len", false, -EAGAIN, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Len", true, -EBADMSG, 0, NULL },
};

static void table(void)
{
	char buf[MG_UPNP_HTTP_MAX];
	struct mg_upnp_http_reply r;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = strlen(rows[i].in);
		memcpy(buf, rows[i].in, len);
		int ret = mg_upnp_http_parse(&r, buf, len, sizeof(buf), rows[i].eof);
		if (ret != rows[i].ret)
			fprintf(stderr, "row %zu: %d, expected %d\n", i, ret, rows[i].ret);
		CHECK_EQ(ret, rows[i].ret);
		if (ret == 0) {
			CHECK_EQ(r.status, rows[i].status);
			CHECK_EQ(r.body_len, strlen(rows[i].body));
			CHECK(strcmp(r.body, rows[i].body) == 0);
		}
	}
}

/* Each strict prefix of a complete chunked answer asks for more and leaves
 * the bytes as they were (the reader parses again when more arrive). */
static void prefixes(void)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "3\r\nabc\r\n2\r\nde\r\n0\r\n";
	char buf[256];
	struct mg_upnp_http_reply r;

	for (size_t n = 0; n < sizeof(in) - 1; n++) {
		memcpy(buf, in, sizeof(in) - 1);
		CHECK_EQ(mg_upnp_http_parse(&r, buf, n, sizeof(buf), false), -EAGAIN);
		CHECK(memcmp(buf, in, sizeof(in) - 1) == 0);
	}
	CHECK_EQ(mg_upnp_http_parse(&r, buf, sizeof(in) - 1, sizeof(buf), false), 0);
	CHECK(strcmp(r.body, "abcde") == 0);
}

/* Whatever arrives without an end is refused once the buffer is full. */
static void full(void)
{
	static const char *const heads[] = {
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n",
		"HTTP/1.1 200 OK\r\nX-Pad: ",
	};
	char *buf = malloc(MG_UPNP_HTTP_MAX);
	struct mg_upnp_http_reply r;

	CHECK(buf != NULL);
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		memset(buf, 'A', MG_UPNP_HTTP_MAX);
		memcpy(buf, heads[i], strlen(heads[i]));
		CHECK_EQ(mg_upnp_http_parse(&r, buf, MG_UPNP_HTTP_MAX - 1, MG_UPNP_HTTP_MAX, false),
			 -EMSGSIZE);
		CHECK_EQ(mg_upnp_http_parse(&r, buf, MG_UPNP_HTTP_MAX, MG_UPNP_HTTP_MAX, false),
			 -EMSGSIZE);
	}
	free(buf);
}

static void urls(void)
{
	struct mg_upnp_http_url u;

	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://192.168.1.1:5000/ctl/IPConn"), 0);
	CHECK_EQ(u.addr.sin_addr.s_addr, htonl(0xc0a80101));
	CHECK_EQ(ntohs(u.addr.sin_port), 5000);
	CHECK(strcmp(u.path, "/ctl/IPConn") == 0);
	CHECK(strcmp(u.host, "192.168.1.1:5000") == 0);
	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://10.0.0.1"), 0);
	CHECK_EQ(ntohs(u.addr.sin_port), 80);
	CHECK(strcmp(u.path, "/") == 0);
	/* The path goes into our request line. */
	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://10.0.0.1/a b"), -EINVAL);
	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://10.0.0.1/a\r\nX: y"), -EINVAL);
	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://10.0.0.1/\x80"), -EINVAL);
	CHECK_EQ(mg_upnp_http_url_parse(&u, "http://router.lan/"), -EINVAL);
	CHECK_EQ(mg_upnp_http_url_parse(&u, "https://10.0.0.1/"), -EINVAL);
	char long_url[400] = "http://10.0.0.1/";
	memset(long_url + strlen(long_url), 'a', 300);
	CHECK_EQ(mg_upnp_http_url_parse(&u, long_url), -EINVAL);
}

int main(void)
{
	table();
	prefixes();
	full();
	urls();
	mg_test_pass("upnp_http");
	return 0;
}
