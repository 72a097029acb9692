/* The UAPI socket end to end, in /var/run/wireguard (needs root; exits 77,
 * skipped, otherwise) under names of our own, mgut<pid>*: a client socket
 * talks to the server while the test drives the loop with UV_RUN_NOWAIT;
 * then wg(8) itself shows and sets the device through it. wg comes with
 * scripts/deps, so its absence fails the test instead of dropping checks. */
#include "check.h"
#include "crypto/primitives.h"
#include "tunnel/uapi_server.h"
#include "uapi_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define K(c)	 c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define PRIV	 K("48")
#define PRIV_B64 "SEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEg="
#define PUB_B64	 "kXeyMnjL8PPRfDbyrMm1XpyF+HsiClOG7DcNZj4g4zc="
#define A	 K("a1")
#define A_B64	 "oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaE="
#define B	 K("b2")
#define B_B64	 "srKysrKysrKysrKysrKysrKysrKysrKysrKysrKysrI="
#define C_B64	 "w8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8M="

static uv_loop_t loop;
static struct mg_device dev;
static struct sockets socks = { .port = 51820 };
static char name[32], path[128];

/* Leaves nothing in /var/run/wireguard, even when a check fails. */
static void cleanup(void)
{
	static const char *const suffixes[] = { "", "b", "c", "d" };
	char p[160];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), MG_UAPI_SOCKET_DIR "/%s%s.sock", name, suffixes[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "/tmp/%s.conf", name);
	unlink(p);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop until done(arg), for at most five seconds. */
static void spin_until(bool (*done)(void *arg), void *arg)
{
	double deadline = now() + 5;

	while (!done(arg)) {
		CHECK(now() < deadline);
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(NULL, 0, 1);
	}
}

static void spin_a_while(void)
{
	for (int i = 0; i < 50; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(NULL, 0, 1);
	}
}

static int dial(const char *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return; /* hung up on: what the reader checks */
		if (n < 0) {
			CHECK(errno == EAGAIN);
			uv_run(&loop, UV_RUN_NOWAIT);
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
}

struct inbox {
	int fd;
	char buf[65536];
	size_t len;
	int replies; /* wanted: each reply ends in the only "\n\n" it has */
	bool eof;
};

static int count_replies(const struct inbox *in)
{
	int n = 0;

	for (size_t i = 1; i < in->len; i++)
		if (in->buf[i - 1] == '\n' && in->buf[i] == '\n')
			n++;
	return n;
}

static bool received(void *arg)
{
	struct inbox *in = arg;
	ssize_t n = recv(in->fd, in->buf + in->len, sizeof(in->buf) - 1 - in->len, 0);

	if (n > 0)
		in->len += (size_t)n;
	else if (n == 0)
		in->eof = true;
	in->buf[in->len] = '\0';
	return in->eof || (in->replies && count_replies(in) >= in->replies);
}

/* Reads until `replies` replies (0: until the server hangs up). */
static const char *receive(int fd, int replies)
{
	static struct inbox in;

	memset(&in, 0, sizeof(in));
	in.fd = fd;
	in.replies = replies;
	spin_until(received, &in);
	return in.buf;
}

static void expect_at(int line, const char *got, const char *want)
{
	if (strcmp(got, want)) {
		fprintf(stderr, "%s:%d: got:\n%s\nwant:\n%s\n", __FILE__, line, got, want);
		exit(1);
	}
}

#define expect(got, want) expect_at(__LINE__, got, want)

static const char *ask(const char *req, int replies)
{
	int fd = dial(path);
	static char copy[65536];

	send_all(fd, req, strlen(req));
	snprintf(copy, sizeof(copy), "%s", receive(fd, replies));
	close(fd);
	return copy;
}

static void start_checks(struct mg_uapi_server *s)
{
	struct mg_uapi_server again;
	struct stat st;

	CHECK(lstat(path, &st) == 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	CHECK(stat(MG_UAPI_SOCKET_DIR, &st) == 0);
	CHECK_EQ(st.st_mode & 0755, 0755);
	/* A live daemon answers there: a second one must not start. */
	CHECK_EQ(mg_uapi_server_start(&again, &loop, name, &dev, &hooks, &socks), -EADDRINUSE);
	CHECK_EQ(mg_uapi_server_start(&again, &loop, "a/b", &dev, &hooks, &socks), -EINVAL);
	CHECK_EQ(mg_uapi_server_start(&again, &loop, "", &dev, &hooks, &socks), -EINVAL);
	(void)s;
}

static void get_and_set(void)
{
	expect(ask("get=1\n\n", 1), "listen_port=51820\nerrno=0\n\n");
	expect(ask("set=1\nprivate_key=" PRIV "\npublic_key=" A "\nallowed_ip=10.0.0.0/8\n\n", 1),
	       "errno=0\n\n");
	CHECK(dev.identity.has_identity);
	CHECK_EQ(dev.peers.count, 1);
	expect(ask("set=1\nlisten_port=x\n\n", 1), "errno=-22\n\n");
}

/* Three requests in one write; then one request in many small pieces. */
static void several_per_connection(void)
{
	const char three[] = "get=1\n\nset=1\npublic_key=" B "\n\nget=1\n\n";
	const char *got = ask(three, 3);
	const char one[] = "set=1\npublic_key=" B "\npersistent_keepalive_interval=7\n\n";
	int fd;

	CHECK(!strncmp(got, "private_key=", 12));
	CHECK(strstr(got, "\nerrno=0\n\nerrno=0\n\nprivate_key="));
	CHECK(strstr(strstr(got, "errno=0\n\nerrno=0\n\n"), "public_key=" B));
	fd = dial(path);
	for (size_t i = 0; i < sizeof(one) - 1; i += 5) {
		send_all(fd, one + i, sizeof(one) - 1 - i < 5 ? sizeof(one) - 1 - i : 5);
		spin_a_while();
	}
	expect(receive(fd, 1), "errno=0\n\n");
	/* A bad request does not end the connection. */
	send_all(fd, "set=1\nfoo=1\n\nget=1\nX", 20);
	expect(receive(fd, 2), "errno=-22\n\nerrno=-22\n\n");
	close(fd);
	CHECK_EQ(dev.peers.last->persistent_keepalive_interval, 7);
}

/* Hanging up halfway, going over the line limit, or sending something that
 * is not a request: nothing changes; the last two get hung up on. */
static void bad_clients(void)
{
	char *big = malloc(MG_UAPI_MAX_LINE + 16);
	int fd = dial(path);

	const char partial[] = "set=1\nreplace_peers=true\nprivate_key=" K("00") "\n";

	send_all(fd, partial, sizeof(partial) - 1);
	spin_a_while();
	close(fd);
	spin_a_while();
	CHECK_EQ(dev.peers.count, 2);
	CHECK(dev.identity.has_identity);

	memcpy(big, "set=1\n", 6);
	memset(big + 6, 'x', MG_UAPI_MAX_LINE + 1);
	fd = dial(path);
	send_all(fd, big, MG_UAPI_MAX_LINE + 7);
	expect(receive(fd, 0), "errno=-5\n\n");
	close(fd);
	free(big);
	expect(ask("hello\n", 0), "");
	CHECK_EQ(dev.peers.count, 2);

	/* Half-closed after the request: the reply still comes. */
	fd = dial(path);
	send_all(fd, "get=1\n\n", 7);
	shutdown(fd, SHUT_WR);
	CHECK(strstr(receive(fd, 0), "errno=0\n\n"));
	close(fd);
}

/* ---- wg(8) ---- */

struct child {
	pid_t pid;
	int out;
	char buf[16384];
	size_t len;
	int status;
	bool done;
};

/* A client that asks and hangs up before the answer: the reply meets a
 * closed socket, which must cost an EPIPE on that connection and never a
 * SIGPIPE to the process (this test keeps SIGPIPE's default: death). The
 * server goes on answering others. */
static void gone_before_reply(void)
{
	for (int k = 0; k < 3; k++) {
		int fd = dial(path);

		send_all(fd, "get=1\n\n", 7);
		close(fd);
		spin_a_while();
	}
	CHECK(strstr(ask("get=1\n\n", 1), "errno=0\n\n"));
}

static bool exited(void *arg)
{
	struct child *c = arg;
	ssize_t n;

	while ((n = read(c->out, c->buf + c->len, sizeof(c->buf) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (!c->done && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->done = true;
	return c->done && n == 0;
}

/* Runs wg with args while the loop serves it; returns its output. */
static const char *wg(const char *const *args)
{
	static struct child c;
	int fds[2];

	memset(&c, 0, sizeof(c));
	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	c.pid = fork();
	CHECK(c.pid >= 0);
	if (c.pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execv("/usr/bin/wg", (char *const *)args);
		_exit(127);
	}
	close(fds[1]);
	c.out = fds[0];
	CHECK(fcntl(c.out, F_SETFL, O_NONBLOCK) == 0);
	spin_until(exited, &c);
	close(c.out);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status)) {
		fprintf(stderr, "wg %s %s failed:\n%s\n", args[1], args[2], c.buf);
		exit(1);
	}
	return c.buf;
}

static void contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle)) {
		fprintf(stderr, "\"%s\" not in:\n%s\n", needle, haystack);
		exit(1);
	}
}

static void wg_show(void)
{
	const char *out;

	dev.peers.first->rx_bytes = 1372;
	dev.peers.first->tx_bytes = 1428;
	out = wg((const char *const[]){ "wg", "show", name, NULL });
	contains(out, "interface: ");
	contains(out, "public key: " PUB_B64);
	contains(out, "private key: (hidden)");
	contains(out, "listening port: 51820");
	contains(out, "peer: " A_B64);
	contains(out, "allowed ips: 10.0.0.0/8");
	contains(out, "transfer: 1.34 KiB received, 1.39 KiB sent");
	contains(out, "persistent keepalive: every 7 seconds");
	out = wg((const char *const[]){ "wg", "show", name, "dump", NULL });
	expect(out, PRIV_B64 "\t" PUB_B64 "\t51820\toff\n" A_B64
			     "\t(none)\t(none)\t10.0.0.0/8\t0\t1372\t1428\toff\n" B_B64
			     "\t(none)\t(none)\t(none)\t0\t0\t0\t7\n");
	contains(wg((const char *const[]){ "wg", "show", "interfaces", NULL }), name);
}

static void wg_set(void)
{
	const char *out;

	wg((const char *const[]){ "wg", "set", name, "listen-port", "12345", "fwmark", "0x20",
				  "peer", C_B64, "allowed-ips", "10.5.0.0/16,fd00::/64", "endpoint",
				  "127.0.0.1:9999", "persistent-keepalive", "25", NULL });
	CHECK_EQ(socks.port, 12345);
	CHECK_EQ(socks.mark, 0x20);
	CHECK_EQ(dev.peers.count, 3);
	wg((const char *const[]){ "wg", "set", name, "peer", A_B64, "remove", NULL });
	CHECK_EQ(dev.peers.count, 2);
	out = wg((const char *const[]){ "wg", "showconf", name, NULL });
	contains(out, "ListenPort = 12345");
	contains(out, "FwMark = 0x20");
	contains(out, "PrivateKey = " PRIV_B64);
	contains(out, "PublicKey = " C_B64);
	contains(out, "AllowedIPs = 10.5.0.0/16, fd00::/64");
	contains(out, "Endpoint = 127.0.0.1:9999");
	contains(out, "PersistentKeepalive = 25");
}

static void wg_setconf(void)
{
	char conf[128];
	FILE *f;

	snprintf(conf, sizeof(conf), "/tmp/%s.conf", name);
	f = fopen(conf, "w");
	CHECK(f != NULL);
	fprintf(f,
		"[Interface]\nPrivateKey = %s\nListenPort = 51821\n\n"
		"[Peer]\nPublicKey = %s\nAllowedIPs = 10.7.0.0/16\nEndpoint = [::1]:1234\n",
		PRIV_B64, A_B64);
	fclose(f);
	wg((const char *const[]){ "wg", "setconf", name, conf, NULL });
	CHECK_EQ(socks.port, 51821);
	CHECK_EQ(dev.peers.count, 1);
	contains(wg((const char *const[]){ "wg", "show", name, "endpoints", NULL }),
		 A_B64 "\t[::1]:1234");
	/* syncconf: a get, a diff, a set; B and C stay gone. */
	wg((const char *const[]){ "wg", "syncconf", name, conf, NULL });
	expect(wg((const char *const[]){ "wg", "show", name, "allowed-ips", NULL }),
	       A_B64 "\t10.7.0.0/16\n");
	wg((const char *const[]){ "wg", "set", name, "private-key", "/dev/null", NULL });
	CHECK(!dev.identity.has_identity);
}

/* ---- the socket file ---- */

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

static bool gone_called;

static void on_gone(struct mg_uapi_server *s)
{
	(void)s;
	gone_called = true;
}

static void make_path(char *p, size_t len, const char *suffix)
{
	snprintf(p, len, MG_UAPI_SOCKET_DIR "/%s%s.sock", name, suffix);
}

/* A socket bound at p and never served: what a dead daemon leaves. */
static int bound_socket(const char *p, bool listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	if (listening)
		CHECK(listen(fd, 8) == 0);
	return fd;
}

static bool loop_done(void *arg)
{
	(void)arg;
	return uv_run(&loop, UV_RUN_NOWAIT) == 0;
}

/* Deleted, then (another server) replaced: the callback fires, and close
 * leaves the replacement alone. A stale socket is cleared on start; a
 * file that is not a socket is not. */
static void file_watch(void)
{
	struct mg_uapi_server s;
	char p[128], n[48];
	struct stat st;
	int fd;

	snprintf(n, sizeof(n), "%sb", name);
	make_path(p, sizeof(p), "b");
	close(bound_socket(p, false));
	CHECK_EQ(mg_uapi_server_start(&s, &loop, n, &dev, &hooks, &socks), 0);
	CHECK_EQ(mg_uapi_server_watch(&s, on_gone), 0);
	spin_a_while();
	CHECK(!gone_called);
	CHECK(unlink(p) == 0);
	spin_until(flag_set, &gone_called);
	fd = bound_socket(p, true); /* someone else's now */
	mg_uapi_server_close(&s);
	spin_a_while(); /* its close callbacks; the main server stays open */
	CHECK(lstat(p, &st) == 0);
	close(fd);
	unlink(p);

	/* Not a socket: not ours to remove. */
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CHECK_EQ(mg_uapi_server_start(&s, &loop, n, &dev, &hooks, &socks), -EADDRINUSE);
	unlink(p);
}

static void close_when_gone(struct mg_uapi_server *s)
{
	gone_called = true;
	mg_uapi_server_close(s); /* what a daemon does before it exits */
}

/* Another daemon's socket renamed over ours: that is "gone" too. */
static void file_replaced(void)
{
	struct mg_uapi_server s;
	char p[128], other[128], n[48];
	int fd;

	snprintf(n, sizeof(n), "%sb", name);
	make_path(p, sizeof(p), "b");
	make_path(other, sizeof(other), "d");
	CHECK_EQ(mg_uapi_server_start(&s, &loop, n, &dev, &hooks, &socks), 0);
	gone_called = false;
	CHECK_EQ(mg_uapi_server_watch(&s, close_when_gone), 0);
	fd = bound_socket(other, true);
	CHECK(rename(other, p) == 0);
	spin_until(flag_set, &gone_called);
	spin_a_while();
	CHECK(access(p, F_OK) == 0); /* the newcomer's, left alone */
	close(fd);
	unlink(p);
	CHECK_EQ(mg_uapi_server_watch(&s, on_gone), -EINVAL);
}

/* WG_UAPI_FD: a socket bound and listening already, handed over. */
static void adopt(void)
{
	struct mg_uapi_server s;
	char p[128], n[48];
	int fd, client;

	snprintf(n, sizeof(n), "%sc", name);
	make_path(p, sizeof(p), "c");
	fd = bound_socket(p, true);
	CHECK_EQ(mg_uapi_server_adopt(&s, &loop, fd, n, &dev, &hooks, &socks), 0);
	client = dial(p);
	send_all(client, "get=1\n\n", 7);
	CHECK(strstr(receive(client, 1), "errno=0\n\n"));
	close(client);
	mg_uapi_server_close(&s);
	spin_a_while();
	CHECK(access(p, F_OK) < 0);
}

/* Close hangs up on everyone, removes the file, and lets the loop end. */
static void close_server(struct mg_uapi_server *s)
{
	int idle = dial(path), partial = dial(path);
	uint32_t peers = dev.peers.count;

	send_all(partial, "set=1\nreplace_peers=true\n", 25);
	spin_a_while();
	mg_uapi_server_close(s);
	mg_uapi_server_close(s); /* twice is fine */
	CHECK(access(path, F_OK) < 0);
	spin_until(loop_done, NULL);
	expect(receive(idle, 0), "");
	expect(receive(partial, 0), "");
	close(idle);
	close(partial);
	CHECK_EQ(dev.peers.count, peers);
}

int main(void)
{
	struct mg_uapi_server s;

	if (geteuid() != 0) {
		printf("uapi_server: skipped (needs root for %s)\n", MG_UAPI_SOCKET_DIR);
		return 77;
	}
	if (access("/usr/bin/wg", X_OK) != 0) {
		fprintf(stderr, "uapi_server: /usr/bin/wg not found (run scripts/deps)\n");
		return 1;
	}
	snprintf(name, sizeof(name), "mgut%d", (int)getpid() % 100000);
	snprintf(path, sizeof(path), MG_UAPI_SOCKET_DIR "/%s.sock", name);
	atexit(cleanup);
	CHECK(mg_crypto_init() == 0);
	CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	CHECK(uv_loop_init(&loop) == 0);
	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);

	CHECK_EQ(mg_uapi_server_start(&s, &loop, name, &dev, &hooks, &socks), 0);
	start_checks(&s);
	get_and_set();
	several_per_connection();
	bad_clients();
	gone_before_reply();
	wg_show();
	wg_set();
	wg_setconf();
	file_watch();
	file_replaced();
	adopt();
	close_server(&s);

	CHECK_EQ(uv_loop_close(&loop), 0);
	mg_device_free(&dev);
	mg_test_pass("uapi_server");
	return 0;
}
