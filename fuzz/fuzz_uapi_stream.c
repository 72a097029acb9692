/* The UAPI socket's stream framing (uapi_server.c): the input is what a
 * client writes on one connection to a real server on a libuv loop, sent in
 * pieces whose sizes the first 8 bytes choose (1..256 bytes each, in turn),
 * with the loop run and the replies read between pieces; then the client
 * half-closes and reads to the end. The replies must be, byte for byte,
 * what the same bytes give when handed over whole to mg_uapi_frame and
 * mg_uapi_handle on a second device configured the same way: where the
 * stream is cut never changes what is answered, a request is answered only
 * once complete, and the connection always ends. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../tests/unit/uapi_fixture.h"
#include "crypto/primitives.h"
#include "tunnel/uapi_server.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REPLY (4u << 20)

static const char setup_req[] =
	"set=1\nprivate_key=4848484848484848484848484848484848484848484848484848484848484848\n"
	"listen_port=51820\n"
	"public_key=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n"
	"endpoint=192.0.2.1:51820\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n\n";

struct side {
	struct mg_device dev;
	struct sockets s;
	struct mg_uapi_buf replies;
};

static uv_loop_t loop;
static struct mg_uapi_server server;
static struct side served; /* what the server answers for */
static char dir[] = "/tmp/mg-fuzz-uapi-XXXXXX";
static char path[sizeof(dir) + 16];

static int handle(void *ctx, const char *req, size_t len, struct mg_uapi_buf *out)
{
	struct side *s = ctx;
	return mg_uapi_handle(&s->dev, &hooks, &s->s, req, len, out, NULL);
}

static void side_init(struct side *s)
{
	struct mg_uapi_buf out = { 0 };

	memset(s, 0, sizeof(*s));
	s->s.picked_port = 40000;
	s->s.busy_port = 1;
	s->s.failing_mark = 1;
	if (mg_device_init(&s->dev, &mg_clock_system, &ops, NULL) < 0 ||
	    handle(s, setup_req, sizeof(setup_req) - 1, &out) != (int)sizeof(setup_req) - 1)
		abort();
	mg_uapi_buf_free(&out);
}

static void side_free(struct side *s)
{
	mg_uapi_buf_free(&s->replies);
	mg_device_free(&s->dev);
}

static void teardown(void)
{
	mg_uapi_server_close(&server);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	rmdir(dir);
}

static void setup(void)
{
	mg_log_default()->threshold = MG_LOG_ERROR;
	if (mg_crypto_init() < 0 || !mkdtemp(dir) || uv_loop_init(&loop) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/uapi.sock", dir);
	if (mg_uapi_server_start_at(&server, &loop, path, NULL, handle, &served) < 0)
		abort();
	atexit(teardown);
}

/* The reference: the whole stream at once, as uapi_server.c's pump would
 * take it. */
static void reference(struct side *s, const char *in, size_t len)
{
	size_t pos = 0, scan;
	int n;

	while (pos < len) {
		scan = 0;
		if (mg_uapi_frame(in + pos, len - pos, &scan) == 0)
			return; /* incomplete at the end: dropped */
		n = handle(s, in + pos, len - pos, &s->replies);
		if (n <= 0)
			return; /* the server hangs up */
		pos += (size_t)n;
	}
}

/* Reads what is there; false once the server has closed. */
static bool read_replies(int fd, struct mg_uapi_buf *got)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (got->len + (size_t)n > MAX_REPLY)
			abort();
		if (mg_uapi_buf_append(got, buf, (size_t)n) < 0)
			abort();
	}
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static int connect_client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	uv_run(&loop, UV_RUN_NOWAIT); /* accepted */
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct side ref;
	uint8_t pieces[8] = { 255, 255, 255, 255, 255, 255, 255, 255 };
	const char *in = (const char *)data + (size < 8 ? size : 8);
	size_t len = size < 8 ? 0 : size - 8, pos = 0, k = 0;
	bool open = true;
	int fd, rounds;

	if (!ready) {
		setup();
		ready = true;
	}
	memcpy(pieces, data, size < 8 ? size : 8);
	side_init(&served);
	side_init(&ref);
	reference(&ref, in, len);

	fd = connect_client();
	for (rounds = 0; pos < len && open && rounds < 100000; rounds++) {
		size_t piece = (size_t)pieces[k++ % 8] + 1;
		ssize_t n = send(fd, in + pos, piece < len - pos ? piece : len - pos,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			pos += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break; /* the server hung up */
		uv_run(&loop, UV_RUN_NOWAIT);
		open = read_replies(fd, &served.replies);
	}
	shutdown(fd, SHUT_WR);
	for (rounds = 0; open && rounds < 100000; rounds++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		open = read_replies(fd, &served.replies);
	}
	if (open)
		abort(); /* the server never ended the connection */
	close(fd);
	uv_run(&loop, UV_RUN_NOWAIT);

	if (served.replies.len != ref.replies.len ||
	    (ref.replies.len && memcmp(served.replies.data, ref.replies.data, ref.replies.len)))
		abort();
	/* MG_FUZZ_UAPI_STREAM_ECHO=1: what the server answered. */
	if (getenv("MG_FUZZ_UAPI_STREAM_ECHO"))
		fprintf(stderr, "%.*s---\n", (int)served.replies.len,
			served.replies.data ? served.replies.data : "");
	side_free(&served);
	side_free(&ref);
	return 0;
}
