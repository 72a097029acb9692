/* The UAPI socket on a libuv loop.
 *
 * Each connection reads into one buffer and answers the requests in it one
 * at a time: while a reply is being written nothing more is read, so a
 * client that sends without reading cannot make us hold more than one
 * request (MG_UAPI_MAX_REQUEST) and one reply. A request is handled only
 * once it is complete, so a client that hangs up halfway changes nothing.
 * Input may hold private keys: it is wiped as it is consumed. */
#include "tunnel/uapi_server.h"
#include "tunnel/broker.h"
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
	uv_poll_t poll;
	int fd;
	struct mg_uapi_server *server;
	struct mg_uapi_conn *prev, *next;
	char *in; /* received and not yet answered */
	size_t in_len, in_cap;
	size_t scan;		/* where mg_uapi_frame resumes */
	struct mg_uapi_buf out; /* the reply being written; empty: none */
	size_t out_sent;
	int events; /* what poll waits for now */
	bool eof, hang_up, closing;
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
	struct mg_uapi_conn *c = container_of((uv_poll_t *)h, struct mg_uapi_conn, poll);
	struct mg_uapi_server *s = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	wipe_input(c);
	mg_uapi_buf_free(&c->out);
	free(c);
}

static void close_conn(struct mg_uapi_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->poll, on_conn_closed);
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

/* One read per readiness: the poll is level-triggered. */
static void read_some(struct mg_uapi_conn *c)
{
	ssize_t n;

	if (grow_input(c, READ_CHUNK) < 0) {
		c->hang_up = true;
		return;
	}
	do
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->in_len += (size_t)n;
	else if (n == 0)
		c->eof = true; /* a half-closed client still gets its replies */
	else if (errno != EAGAIN && errno != EWOULDBLOCK)
		c->hang_up = true;
}

/* Sends what the socket takes of the reply; MSG_NOSIGNAL: a client that
 * hung up costs an EPIPE here, never a signal to the host process. The
 * reply (it may hold private keys) is wiped once sent or abandoned. */
static void write_some(struct mg_uapi_conn *c)
{
	while (c->out_sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_sent += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (!(n < 0 && errno == EINTR)) {
			c->hang_up = true;
			break;
		}
	}
	mg_uapi_buf_free(&c->out);
	c->out_sent = 0;
}

static void on_conn_ready(uv_poll_t *h, int status, int events)
{
	struct mg_uapi_conn *c = container_of(h, struct mg_uapi_conn, poll);

	if (status < 0)
		c->hang_up = true;
	else if (events & UV_WRITABLE)
		write_some(c);
	else if (events & UV_READABLE)
		read_some(c);
	pump(c);
}

static void set_events(struct mg_uapi_conn *c, int events)
{
	if (events == c->events)
		return;
	c->events = events;
	if (!events)
		uv_poll_stop(&c->poll);
	else if (uv_poll_start(&c->poll, events, on_conn_ready) < 0)
		close_conn(c);
}

/* Answers complete requests until one reply is waiting to be written; then
 * reads more, waits for the socket, or closes when the client is done or
 * must go. */
static void pump(struct mg_uapi_conn *c)
{
	struct mg_uapi_server *s = c->server;
	int n;

	while (!c->closing && !c->out.len && !c->hang_up && c->in_len &&
	       mg_uapi_frame(c->in, c->in_len, &c->scan) != 0) {
		n = s->handle ? s->handle(s->ctx, c->in, c->in_len, &c->out)
			      : mg_uapi_handle(s->dev, s->hooks, s->ctx, c->in, c->in_len, &c->out,
					       NULL);
		if (n > 0)
			consume(c, (size_t)n);
		else
			c->hang_up = true; /* not a request, or too long: as wireguard-go */
		if (c->out.len)
			write_some(c);
	}
	if (c->closing)
		return;
	if ((c->hang_up || c->eof) && !c->out.len) {
		close_conn(c);
		return;
	}
	if (c->out.len)
		set_events(c, UV_WRITABLE);
	else
		set_events(c, c->hang_up || c->eof ? 0 : UV_READABLE);
}

static void add_conn(struct mg_uapi_server *s, int fd)
{
	struct mg_uapi_conn *c = calloc(1, sizeof(*c));

	if (!c || uv_poll_init(s->loop, &c->poll, fd) < 0) {
		mg_log(s->log, MG_LOG_ERROR, "uapi: out of memory for a connection");
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->server = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	pump(c);
}

static int open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void drop_waiting_client(struct mg_uapi_server *s)
{
	int fd;

	if (s->spare_fd < 0)
		return;
	close(s->spare_fd);
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	s->spare_fd = open_spare();
}

/* Only root and our own user may configure us. The socket file's mode
 * (0700) already keeps others out; this holds even if it were changed. */
static bool trusted_peer(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_connection(uv_poll_t *h, int status, int events)
{
	struct mg_uapi_server *s = container_of(h, struct mg_uapi_server, listener);

	(void)events;
	if (status < 0 || s->closing)
		return;
	for (int k = 0; k < 16; k++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/* EAGAIN: all taken; anything else: the client's loss */
			if (errno == EMFILE || errno == ENFILE)
				drop_waiting_client(s);
			return;
		}
		if (!trusted_peer(fd)) {
			close(fd);
			continue;
		}
		add_conn(s, fd);
	}
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
	s->listen_fd = -1;
	s->spare_fd = -1;
	if (!len || len >= IF_NAMESIZE || strchr(ifname, '/') || !strcmp(ifname, ".") ||
	    !strcmp(ifname, ".."))
		return -EINVAL;
	snprintf(s->path, sizeof(s->path), "%s/%s.sock", MG_UAPI_SOCKET_DIR, ifname);
	s->loop = loop;
	s->dev = dev;
	s->log = dev->log;
	s->hooks = hooks;
	s->ctx = ctx;
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct mg_uapi_server *s = container_of((uv_poll_t *)h, struct mg_uapi_server, listener);

	close(s->listen_fd);
	s->listen_fd = -1;
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	s->spare_fd = -1;
}

/* Hands fd, a listening socket, to the loop. On failure fd is closed, and
 * if the loop refused it the handle is closing (the loop must run once). */
static int serve(struct mg_uapi_server *s, int fd)
{
	int flags = fcntl(fd, F_GETFL), ret;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	s->listen_fd = fd;
	ret = uv_poll_init(s->loop, &s->listener, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = uv_poll_start(&s->listener, UV_READABLE, on_connection);
	if (ret < 0) {
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return ret;
	}
	s->spare_fd = open_spare();
	s->closing = false;
	return 0;
}

/* Listens at s->path (a stale socket there removed) and serves it; no file
 * is left behind on failure. */
static int open_and_serve(struct mg_uapi_server *s)
{
	int fd = open_socket(s->path), ret;

	if (fd < 0)
		return fd;
	remember_file(s);
	ret = serve(s, fd);
	if (ret < 0)
		unlink(s->path);
	return ret;
}

int mg_uapi_listen(const char *ifname, char *path, size_t cap)
{
	size_t len = strlen(ifname);
	int ret;

	if (!len || len >= IF_NAMESIZE || strchr(ifname, '/') || !strcmp(ifname, ".") ||
	    !strcmp(ifname, ".."))
		return -EINVAL;
	ret = snprintf(path, cap, "%s/%s.sock", MG_UAPI_SOCKET_DIR, ifname);
	if (ret < 0 || (size_t)ret >= cap)
		return -ENAMETOOLONG;
	ret = make_dir();
	if (ret < 0)
		return ret;
	return open_socket(path);
}

/* Under privilege separation the broker makes the socket in the root-owned
 * directory (broker.h) and removes it when we are gone. */
static int serve_brokered(struct mg_uapi_server *s, const char *ifname)
{
	struct mg_broker_req req = { .op = MG_BROKER_UAPI_LISTEN };
	struct mg_broker_rep rep;
	int fd, ret;

	snprintf(req.name, sizeof(req.name), "%s", ifname);
	ret = mg_broker_call(&req, &rep, &fd);
	if (ret < 0)
		return ret;
	if (fd < 0)
		return -EBADMSG;
	remember_file(s);
	return serve(s, fd);
}

int mg_uapi_server_start(struct mg_uapi_server *s, uv_loop_t *loop, const char *ifname,
			 struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx)
{
	int ret = init(s, loop, ifname, dev, hooks, ctx);

	if (ret < 0)
		return ret;
	if (mg_broker_active())
		return serve_brokered(s, ifname);
	ret = make_dir();
	if (ret < 0)
		return ret;
	return open_and_serve(s);
}

int mg_uapi_server_start_at(struct mg_uapi_server *s, uv_loop_t *loop, const char *path,
			    const struct mg_log *log, mg_uapi_server_handler handle, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->closing = true;
	s->listen_fd = -1;
	s->spare_fd = -1;
	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->loop = loop;
	s->log = log;
	s->handle = handle;
	s->ctx = ctx;
	return open_and_serve(s);
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
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
	for (struct mg_uapi_conn *c = s->conns; c; c = c->next)
		close_conn(c);
}
