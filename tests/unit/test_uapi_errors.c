/* Every kind of bad request gets the errno wireguard-go 0.0.20220316 answers
 * (each row was also sent to the real wireguard-go), and, unlike
 * wireguard-go, changes nothing at all: the device's get reply and the
 * sockets are compared before and after. */
#include "check.h"
#include "crypto/primitives.h"
#include "tunnel/uapi.h"
#include "uapi_fixture.h"

#include <errno.h>

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define A    K("a1")
#define P    "set=1\npublic_key=" A "\n"
#define NEW  "public_key=" K("d4") "\nallowed_ip=10.0.0.0/8\n"

enum {
	ANY = 1
}; /* expected return: the request's length */

static const struct row {
	const char *request;
	const char *reply;
	int ret;
} rows[] = {
	/* A line with no '=' is a protocol error, EPROTO. */
	{ "set=1\nfoo\n\n", "errno=-71\n\n", ANY },
	{ P "endpoint\n\n", "errno=-71\n\n", ANY },
	/* Unknown keys; device keys after the first public_key. */
	{ "set=1\nfoo=bar\n\n", "errno=-22\n\n", ANY },
	{ "set=1\n=x\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nListen_port=1\n\n", "errno=-22\n\n", ANY },
	{ P "foo=1\n\n", "errno=-22\n\n", ANY },
	{ P "private_key=" K("11") "\n\n", "errno=-22\n\n", ANY },
	{ P "listen_port=1\n\n", "errno=-22\n\n", ANY },
	{ P "fwmark=1\n\n", "errno=-22\n\n", ANY },
	{ P "replace_peers=true\n\n", "errno=-22\n\n", ANY },
	/* Keys: exactly 64 hex digits. */
	{ "set=1\nprivate_key=" K("1") "\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nprivate_key=" K("11") "1\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nprivate_key=" K("gg") "\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nprivate_key=\n\n", "errno=-22\n\n", ANY },
	{ "set=1\npublic_key=zz\n\n", "errno=-22\n\n", ANY },
	{ P "preshared_key=" K("x1") "\n\n", "errno=-22\n\n", ANY },
	/* Numbers: strconv.ParseUint, base 10, in range. */
	{ "set=1\nlisten_port=65536\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nlisten_port=-1\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nlisten_port=+1\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nlisten_port=\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nlisten_port=0x10\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nlisten_port=1_0\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nfwmark=4294967296\n\n", "errno=-22\n\n", ANY },
	{ P "persistent_keepalive_interval=65536\n\n", "errno=-22\n\n", ANY },
	/* Booleans: "true" and nothing else. */
	{ "set=1\nreplace_peers=True\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nreplace_peers=1\n\n", "errno=-22\n\n", ANY },
	{ "set=1\nreplace_peers=true \n\n", "errno=-22\n\n", ANY },
	{ P "remove=yes\n\n", "errno=-22\n\n", ANY },
	{ P "update_only=1\n\n", "errno=-22\n\n", ANY },
	{ P "replace_allowed_ips=false\n\n", "errno=-22\n\n", ANY },
	/* protocol_version: only "1". */
	{ P "protocol_version=2\n\n", "errno=-22\n\n", ANY },
	{ P "protocol_version=01\n\n", "errno=-22\n\n", ANY },
	/* Endpoints: netip.ParseAddrPort. */
	{ P "endpoint=1.2.3.4\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=1.2.3.4:\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=[1.2.3.4]:5\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=::1:80\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=[::1]:65536\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=[fe80::1%]:80\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=[fe80::1%nosuchif]:80\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=host.example:80\n\n", "errno=-22\n\n", ANY },
	{ P "endpoint=01.2.3.4:80\n\n", "errno=-22\n\n", ANY },
	/* Allowed IPs: netip.ParsePrefix, the '/' required, no zone. */
	{ P "allowed_ip=10.0.0.1\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=10.0.0.0/33\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=::/129\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=010.0.0.0/8\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=fe80::%lo/64\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=10.0.0.0/-1\n\n", "errno=-22\n\n", ANY },
	{ P "allowed_ip=10.0.0.0/8/8\n\n", "errno=-22\n\n", ANY },
	/* One bad line at the end of a request that would change everything:
	 * wireguard-go would have applied all the lines before it. */
	{ "set=1\nprivate_key=" K("48") "\nreplace_peers=true\n" NEW "public_key=" A
					"\nendpoint=1.1.1.1:1\nallowed_ip=bad\n\n",
	  "errno=-22\n\n", ANY },
	/* The rebind fails: EADDRINUSE, and the new mark is taken back. */
	{ "set=1\nfwmark=5\nlisten_port=999\nreplace_peers=true\n\n", "errno=-98\n\n", ANY },
	/* SO_MARK fails: also EADDRINUSE in wireguard-go; no rebind. */
	{ "set=1\nlisten_port=1000\nfwmark=99\nreplace_peers=true\n\n", "errno=-98\n\n", ANY },
	/* get wants "\n" right after "get=1\n". */
	{ "get=1\nX", "errno=-22\n\n", ANY },
	/* The client left halfway: no blank line yet, no reply, no change. */
	{ "set=1\nreplace_peers=true\n", "", -ENODATA },
	{ "set=1\nreplace_peers=true\n" NEW, "", -ENODATA },
	{ "set=1\nlisten_port=1", "", -ENODATA },
	{ "set=1\n", "", -ENODATA },
	{ "get=1\n", "", -ENODATA },
	{ "se", "", -ENODATA },
	/* Not an operation: wireguard-go hangs up without a word. */
	{ "hello\n", "", -EPROTO },
	{ "set=1\r\n\n", "", -EPROTO },
	{ "\n", "", -EPROTO },
};

static struct mg_device dev;
static struct sockets socks = { .port = 51820, .busy_port = 999, .mark = 3, .failing_mark = 99 };

static char *get(void)
{
	struct mg_uapi_buf out = { 0 };

	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &socks, "get=1\n\n", 7, &out, NULL), 7);
	CHECK(mg_uapi_buf_append(&out, "", 1) == 0);
	return out.data;
}

/* request may hold a NUL, so its length is that of the literal. */
static void check_row(const struct row *r, size_t len)
{
	struct sockets before_socks = socks;
	struct mg_uapi_buf out = { 0 };
	char *before = get(), *after;
	int ret = mg_uapi_handle(&dev, &hooks, &socks, r->request, len, &out, NULL);

	CHECK(mg_uapi_buf_append(&out, "", 1) == 0);
	if (ret != (r->ret == ANY ? (int)len : r->ret) || strcmp(out.data, r->reply)) {
		fprintf(stderr, "request \"%.100s\": returned %d, reply \"%s\"\n", r->request, ret,
			out.data);
		exit(1);
	}
	after = get();
	CHECK(!strcmp(before, after));
	CHECK_EQ(socks.port, before_socks.port);
	CHECK_EQ(socks.mark, before_socks.mark);
	mg_uapi_buf_free(&out);
	free(before);
	free(after);
}

/* A line may have 65535 bytes before its '\n', no more (bufio.Scanner);
 * past that wireguard-go answers EIO. Ours then hangs up, since the rest
 * of the line would be read as requests. */
static void long_lines(void)
{
	size_t len = 6 + MG_UAPI_MAX_LINE + 2;
	char *req = malloc(len + 2);
	struct row r = { req, "errno=-22\n\n", ANY };

	memcpy(req, "set=1\n", 6);
	memset(req + 6, 'x', MG_UAPI_MAX_LINE);
	req[6 + MG_UAPI_MAX_LINE - 1] = '=';
	memcpy(req + 6 + MG_UAPI_MAX_LINE, "\n\n", 2);
	check_row(&r, len); /* the longest line: read, and an unknown key */
	memcpy(req + 6 + MG_UAPI_MAX_LINE, "x\n\n", 3);
	r.reply = "errno=-5\n\n";
	r.ret = -EMSGSIZE;
	check_row(&r, len + 1);
	check_row(&r, 6 + MG_UAPI_MAX_LINE + 1); /* too long before its '\n' arrives */
	free(req);
}

/* Over MG_UAPI_MAX_REQUEST in all: EIO too, and nothing applied. */
static void huge_request(void)
{
	const char line[] = "allowed_ip=10.0.0.0/8\n";
	size_t n = (MG_UAPI_MAX_REQUEST / (sizeof(line) - 1)) + 2, len = 0;
	char *req = malloc(strlen(P) + n * (sizeof(line) - 1) + 2);
	struct row r = { req, "errno=-5\n\n", -EMSGSIZE };

	len += (size_t)sprintf(req, "%s", P);
	for (size_t i = 0; i < n; i++, len += sizeof(line) - 1)
		memcpy(req + len, line, sizeof(line) - 1);
	req[len++] = '\n';
	check_row(&r, len);
	free(req);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	/* Something to lose: a key, two peers with endpoints and prefixes. */
	struct mg_uapi_buf out = { 0 };
	const char setup[] = "set=1\nprivate_key=" K(
		"58") "\npublic_key=" A "\nendpoint=192.0.2.1:1\nallowed_ip=10.1.0.0/16\n"
		      "public_key=" K("b2") "\npersistent_keepalive_interval=9\n"
					    "allowed_ip=fd00::/8\n\n";
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &socks, setup, sizeof(setup) - 1, &out, NULL),
		 sizeof(setup) - 1);
	mg_uapi_buf_free(&out);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i], strlen(rows[i].request));
	/* The NUL row, whole. */
	static const char nul[] = P "allowed_ip=10.0.0.0/8\0\n\n";
	struct row r = { nul, "errno=-22\n\n", ANY };
	check_row(&r, sizeof(nul) - 1);
	/* The failed rebind put the mark back: set, then restored. */
	CHECK_EQ(socks.marks, 2);
	CHECK_EQ(socks.rebinds, 0);
	long_lines();
	huge_request();
	mg_device_free(&dev);
	mg_test_pass("uapi_errors");
	return 0;
}
