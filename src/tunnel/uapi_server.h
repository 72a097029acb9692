/* The UAPI socket, where wg(8) finds a userspace WireGuard daemon:
 * /var/run/wireguard/IFNAME.sock, a stream unix socket that only root may
 * use. Each connection may carry several requests; uapi.c answers them.
 *
 * Ownership: the caller embeds struct mg_uapi_server (fields are private)
 * and owns the loop, the device and the hooks, which must outlive it. After
 * mg_uapi_server_close(), run the loop until it returns (every handle and
 * connection closes) before freeing or reusing the struct. When start or
 * adopt fails no file or fd is left behind; only if the loop itself refused
 * the socket is a handle still closing, so run the loop once before reusing
 * the struct either way. */
#ifndef MG_TUNNEL_UAPI_SERVER_H
#define MG_TUNNEL_UAPI_SERVER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>
#include <uv.h>

#include "tunnel/uapi.h"

#define MG_UAPI_SOCKET_DIR "/var/run/wireguard"

struct mg_uapi_server;
struct mg_uapi_conn;

/* The socket file is gone or is no longer ours: someone deleted it, or put
 * another daemon's socket in its place. wireguard-go exits then. */
typedef void (*mg_uapi_server_gone_cb)(struct mg_uapi_server *s);

/* Another protocol on the same framing (a request ends with an empty line):
 * handles the request at req[0, len), appends the reply to out, and returns
 * as mg_uapi_handle does. */
typedef int (*mg_uapi_server_handler)(void *ctx, const char *req, size_t len,
				      struct mg_uapi_buf *out);

struct mg_uapi_server {
	uv_loop_t *loop;
	/* Sockets are polled and written with send(MSG_NOSIGNAL) by us, not
	 * through uv_stream_t, whose writes raise SIGPIPE when a client has
	 * gone: the library must not touch the host's signal handling. */
	uv_poll_t listener;
	int listen_fd;
	/* An fd held in reserve: out of descriptors, the listener frees it to
	 * accept and drop the waiting client, which a level-triggered poll
	 * would otherwise report again at once, forever (libuv's own trick). */
	int spare_fd;
	uv_fs_event_t watch;
	struct mg_device *dev;
	const struct mg_log *log;
	mg_uapi_server_handler handle; /* NULL: the UAPI (mg_uapi_handle on dev) */
	const struct mg_uapi_hooks *hooks;
	void *ctx;
	mg_uapi_server_gone_cb gone;
	struct mg_uapi_conn *conns; /* open connections, closed with the server */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t file_dev; /* the socket file we listen on, to tell it from */
	ino_t file_ino; /* a replacement at the same path */
	bool owns_file; /* unlink it on close */
	bool watching, closing;
};

/* What mg_uapi_server_start does before it serves, for the broker's
 * privileged side (broker.h): the listening socket of ifname, its path in
 * path[cap]. The fd or -errno. */
int mg_uapi_listen(const char *ifname, char *path, size_t cap);

/* Creates the directory (0755) and the socket (under umask 077) and serves
 * it. -EADDRINUSE if a live daemon answers there; a stale socket is removed
 * first. -EINVAL for an ifname that is empty, too long or has a '/'. */
int mg_uapi_server_start(struct mg_uapi_server *s, uv_loop_t *loop, const char *ifname,
			 struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx);
/* Serves fd, a unix stream socket already bound to IFNAME's path (as a
 * parent passes it in WG_UAPI_FD), and takes it over even on failure: it
 * is closed, and its file unlinked, on mg_uapi_server_close, as
 * wireguard-go does. */
int mg_uapi_server_adopt(struct mg_uapi_server *s, uv_loop_t *loop, int fd, const char *ifname,
			 struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx);
/* Serves handle on a socket at path (made under umask 077; a stale one is
 * removed, a live one is -EADDRINUSE): the mesh's control socket. */
int mg_uapi_server_start_at(struct mg_uapi_server *s, uv_loop_t *loop, const char *path,
			    const struct mg_log *log, mg_uapi_server_handler handle, void *ctx);
/* Calls cb once, from the loop, when the socket file is deleted or replaced.
 * -ENOENT if that has already happened (cb is not called). */
int mg_uapi_server_watch(struct mg_uapi_server *s, mg_uapi_server_gone_cb cb);
/* Stops listening, hangs up every connection (a half-received request is
 * dropped and changes nothing), and unlinks the socket file if it is still
 * ours. Safe to call twice. */
void mg_uapi_server_close(struct mg_uapi_server *s);

#endif
