/* The UAPI socket on a libuv loop.
 *
 * Each connection reads into one buffer and answers the requests in it one
 * at a time: while a reply is being written nothing more is read, so a
 * client that sends without reading cannot make us hold more than one
 * request (MG_UAPI_MAX_REQUEST) and one reply. A request is handled only
 * once it is complete, so a client that hangs up halfway changes nothing.
 * Input may hold private keys: it is wiped as it is consumed. */
#include "tunnel/uapi_server.h"
#include "util/macros.h"
#include "crypto/primitives.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK 65536
/* The framing gives up past MG_UAPI_MAX_REQUEST; one more read may land. */
#define INPUT_LIMIT ((size_t)MG_UAPI_MAX_REQUEST + READ_CHUNK)

struct mg_uapi_conn {
	uv_pipe_t pipe;
	struct mg_uapi_server *server;
	struct mg_uapi_conn *prev, *next;
	char *in; /* received and not yet answered */
	size_t in_len, in_cap;
	size_t scan; /* where mg_uapi_frame resumes */
	bool reading, writing, eof, hang_up, closing;
};

/* One reply in flight; the write callback frees it. */
struct reply {
	uv_write_t req;
	struct mg_uapi_conn *conn;
	struct mg_uapi_buf buf;
};

/* ---- connections ---- */

static void pump(struct mg_uapi_conn *c);

static void wipe_input(struct mg_uapi_conn *c)
{
	if (c->in) {
		mg_wipe(c->in, c->in_cap);
		free(c->in);
	}
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

static void on_conn_closed(uv_handle_t *h)
{
	struct mg_uapi_conn *c = container_of((uv_pipe_t *)h, struct mg_uapi_conn, pipe);
	struct mg_uapi_server *s = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	wipe_input(c);
	free(c);
}

static void close_conn(struct mg_uapi_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* Makes room for want more bytes, copying so no stale key is left behind. */
static int grow_input(struct mg_uapi_conn *c, size_t want)
{
	size_t cap = c->in_cap ? c->in_cap : READ_CHUNK, len = c->in_len;
	char *in;

	if (c->in_cap - c->in_len >= want)
		return 0;
	if (c->in_len + want > INPUT_LIMIT)
		return -ENOBUFS;
	while (cap - c->in_len < want)
		cap *= 2;
	if (cap > INPUT_LIMIT)
		cap = INPUT_LIMIT;
	in = malloc(cap);
	if (!in)
		return -ENOMEM;
	if (len)
		memcpy(in, c->in, len);
	wipe_input(c);
	c->in = in;
	c->in_len = len;
	c->in_cap = cap;
	return 0;
}

/* Drops the n bytes of the request just answered. */
static void consume(struct mg_uapi_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	mg_wipe(c->in + c->in_len - n, n);
	c->in_len -= n;
	c->scan = 0;
	if (!c->in_len)
		wipe_input(c); /* an idle connection holds nothing */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct mg_uapi_conn *c = container_of((uv_pipe_t *)h, struct mg_uapi_conn, pipe);

	(void)suggested;
	if (grow_input(c, READ_CHUNK) < 0) {
		*buf = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct mg_uapi_conn *c = container_of((uv_pipe_t *)stream, struct mg_uapi_conn, pipe);

	(void)buf;
	if (nread > 0) {
		c->in_len += (size_t)nread;
	} else if (nread == UV_EOF) {
		/* A half-closed client still gets its replies. */
		c->eof = true;
	} else if (nread < 0) {
		c->hang_up = true;
	}
	pump(c);
}

static void set_reading(struct mg_uapi_conn *c, bool on)
{
	if (on == c->reading)
		return;
	c->reading = on;
	if (!on)
		uv_read_stop((uv_stream_t *)&c->pipe);
	else if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		close_conn(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct reply *r = container_of(req, struct reply, req);
	struct mg_uapi_conn *c = r->conn;

	mg_uapi_buf_free(&r->buf);
	free(r);
	c->writing = false;
	if (status < 0)
		c->hang_up = true;
	pump(c);
}

/* Takes out's memory; on failure the connection is hung up. */
static void send_reply(struct mg_uapi_conn *c, struct mg_uapi_buf *out)
{
	struct reply *r = malloc(sizeof(*r));
	uv_buf_t b;

	if (!r) {
		mg_uapi_buf_free(out);
		c->hang_up = true;
		return;
	}
	r->conn = c;
	r->buf = *out;
	memset(out, 0, sizeof(*out));
	b = uv_buf_init(r->buf.data, (unsigned)r->buf.len);
	if (uv_write(&r->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0) {
		mg_uapi_buf_free(&r->buf);
		free(r);
		c->hang_up = true;
		return;
	}
	c->writing = true;
}

/* Answers complete requests until one reply is in flight; then reads more,
 * waits for the write, or closes when the client is done or must go. */
static void pump(struct mg_uapi_conn *c)
{
	struct mg_uapi_server *s = c->server;
	struct mg_uapi_buf out = { 0 };
	int n;

	while (!c->closing && !c->writing && !c->hang_up && c->in_len &&
	       mg_uapi_frame(c->in, c->in_len, &c->scan) != 0) {
		n = mg_uapi_handle(s->dev, s->hooks, s->ctx, c->in, c->in_len, &out);
		if (n > 0)
			consume(c, (size_t)n);
		else
			c->hang_up = true; /* not a request, or too long: as wireguard-go */
		if (out.len)
			send_reply(c, &out);
	}
	if (c->closing)
		return;
	if ((c->hang_up || c->eof) && !c->writing) {
		close_conn(c);
		return;
	}
	set_reading(c, !c->writing && !c->hang_up && !c->eof);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct mg_uapi_server *s =
		container_of((uv_pipe_t *)listener, struct mg_uapi_server, listener);
	struct mg_uapi_conn *c;

	if (status < 0 || s->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* libuv keeps the connection queued and stops accepting. */
		mg_log(s->dev->log, MG_LOG_ERROR, "uapi: out of memory for a connection");
		return;
	}
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->server = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0) {
		close_conn(c);
		return;
	}
	pump(c);
}

/* ---- the socket file ---- */

static bool still_ours(const struct mg_uapi_server *s)
{
	struct stat st;

	return lstat(s->path, &st) == 0 && st.st_dev == s->file_dev && st.st_ino == s->file_ino;
}

static void remember_file(struct mg_uapi_server *s)
{
	struct stat st;

	if (lstat(s->path, &st) < 0)
		return;
	s->file_dev = st.st_dev;
	s->file_ino = st.st_ino;
	s->owns_file = true;
}

/* wireguard-go's directory is 0755 whatever the umask. */
static int make_dir(void)
{
	if (mkdir(MG_UAPI_SOCKET_DIR, 0755) == 0)
		return chmod(MG_UAPI_SOCKET_DIR, 0755) < 0 ? -errno : 0;
	return errno == EEXIST ? 0 : -errno;
}

static int bind_at(int fd, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int ret;

	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Only root may configure us: the socket is 0700 as wireguard-go's.
	 * The umask is per process, so it changes only around bind. */
	old = umask(077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	return ret;
}

static int listen_at(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (bind_at(fd, path) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		err = errno;
		close(fd);
		unlink(path);
		return -err;
	}
	return fd;
}

/* Whether a daemon answers at path, the way wg(8) asks: connect. A full
 * backlog (EAGAIN) is a live daemon too. */
static bool answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell: leave the file alone */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN ||
	       errno == EINPROGRESS;
	close(fd);
	return live;
}

/* A socket left by a daemon that died is removed; a live one, or a file
 * that is not a socket, is not ours to delete. */
static int open_socket(const char *path)
{
	struct stat st;
	int fd = listen_at(path);

	if (fd != -EADDRINUSE)
		return fd;
	if (answers(path) || (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)))
		return -EADDRINUSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return listen_at(path);
}

/* ---- the server ---- */

static int init(struct mg_uapi_server *s, uv_loop_t *loop, const char *ifname,
		struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx)
{
	size_t len = strlen(ifname);

	memset(s, 0, sizeof(*s));
	s->closing = true; /* until it serves: closing it is then a no-op */
	if (!len || len >= IF_NAMESIZE || strchr(ifname, '/') || !strcmp(ifname, ".") ||
	    !strcmp(ifname, ".."))
		return -EINVAL;
	snprintf(s->path, sizeof(s->path), "%s/%s.sock", MG_UAPI_SOCKET_DIR, ifname);
	s->loop = loop;
	s->dev = dev;
	s->hooks = hooks;
	s->ctx = ctx;
	return 0;
}

/* Hands fd, a listening socket, to the loop. On failure fd is closed, and
 * if the loop refused it the handle is closing (the loop must run once). */
static int serve(struct mg_uapi_server *s, int fd)
{
	int ret;

	uv_pipe_init(s->loop, &s->listener, 0);
	ret = uv_pipe_open(&s->listener, fd);
	if (ret < 0)
		close(fd);
	else
		ret = uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, on_connection);
	if (ret < 0) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		return ret;
	}
	s->closing = false;
	return 0;
}

int mg_uapi_server_start(struct mg_uapi_server *s, uv_loop_t *loop, const char *ifname,
			 struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx)
{
	int ret = init(s, loop, ifname, dev, hooks, ctx), fd;

	if (ret < 0)
		return ret;
	ret = make_dir();
	if (ret < 0)
		return ret;
	fd = open_socket(s->path);
	if (fd < 0)
		return fd;
	remember_file(s);
	ret = serve(s, fd);
	if (ret < 0)
		unlink(s->path);
	return ret;
}

/* fd must be a unix stream socket; listening on it now means uv_listen
 * cannot fail later. Whether it is bound to our path decides whether the
 * file is ours to unlink. */
static int check_adopted(struct mg_uapi_server *s, int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int type;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sun, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM || sun.sun_family != AF_UNIX)
		return -EINVAL;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;
	if (len > offsetof(struct sockaddr_un, sun_path) &&
	    !strncmp(sun.sun_path, s->path, sizeof(sun.sun_path)))
		remember_file(s);
	return 0;
}

int mg_uapi_server_adopt(struct mg_uapi_server *s, uv_loop_t *loop, int fd, const char *ifname,
			 struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx)
{
	int ret = init(s, loop, ifname, dev, hooks, ctx);

	if (ret == 0)
		ret = check_adopted(s, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return serve(s, fd);
}

static void on_file_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct mg_uapi_server *s = container_of(h, struct mg_uapi_server, watch);
	mg_uapi_server_gone_cb cb = s->gone;

	(void)filename, (void)events, (void)status;
	if (s->closing || !cb || still_ours(s))
		return;
	s->gone = NULL;
	uv_fs_event_stop(h);
	cb(s);
}

int mg_uapi_server_watch(struct mg_uapi_server *s, mg_uapi_server_gone_cb cb)
{
	int ret;

	if (s->watching || s->closing || !s->owns_file)
		return -EINVAL;
	uv_fs_event_init(s->loop, &s->watch);
	ret = uv_fs_event_start(&s->watch, on_file_event, s->path, 0);
	/* The file may have gone, or been replaced (then the watch is on the
	 * wrong file), before the watch began. */
	if (ret == 0 && !still_ours(s))
		ret = -ENOENT;
	if (ret < 0) {
		uv_close((uv_handle_t *)&s->watch, NULL);
		return ret == UV_ENOENT ? -ENOENT : ret;
	}
	s->watching = true;
	s->gone = cb;
	return 0;
}

void mg_uapi_server_close(struct mg_uapi_server *s)
{
	if (s->closing)
		return;
	s->closing = true;
	if (s->watching)
		uv_close((uv_handle_t *)&s->watch, NULL);
	/* Before anything else, so a new daemon can start at once; and only our
	 * own file, or we would delete the socket of one that replaced us. */
	if (s->owns_file && still_ours(s))
		unlink(s->path);
	uv_close((uv_handle_t *)&s->listener, NULL);
	for (struct mg_uapi_conn *c = s->conns; c; c = c->next)
		close_conn(c);
}
