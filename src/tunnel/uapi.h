/* The cross-platform userspace configuration protocol (wireguard.com/xplatform)
 * as wg(8) speaks it to wireguard-go: "get=1\n\n", or "set=1\n" followed by
 * key=value lines and an empty line. Replies are wireguard-go's byte for byte,
 * ending in "errno=N\n\n" with the same negative errno for the same mistake.
 *
 * No I/O here: uapi_server.c moves bytes, this module turns one request into
 * one reply. What the device alone cannot do (sockets) goes through hooks.
 *
 * Unlike wireguard-go, a set is atomic: the whole request is parsed and
 * checked before anything changes, so a request with a bad line anywhere, or
 * one the client never finished, leaves the device as it was. Applying can
 * then fail only in the hooks, which run first and are undone on failure, or
 * on allocation failure inside the device (see mg_uapi_handle). */
#ifndef MG_TUNNEL_UAPI_H
#define MG_TUNNEL_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include "tunnel/device.h"

/* wireguard-go reads set lines with a bufio.Scanner: at most 65535 bytes may
 * come before a line's '\n' (its '\r', if any, counts). */
#define MG_UAPI_MAX_LINE 65535
/* A bound of ours on one request, so a client cannot make us buffer without
 * end; far above `wg setconf` of 2^16 peers or 2^17 allowed IPs. */
#define MG_UAPI_MAX_REQUEST (32u << 20)

/* What the device alone cannot do; all four must be set. */
struct mg_uapi_hooks {
	/* Rebinds to port (0: one the kernel picks). 0 or -errno, and on
	 * failure the old sockets stay bound. */
	int (*set_listen_port)(void *ctx, uint16_t port);
	/* The port bound now, 0 when none. */
	uint16_t (*listen_port)(void *ctx);
	/* SO_MARK on every socket, now and after rebinds. 0 or -errno. */
	int (*set_fwmark)(void *ctx, uint32_t fwmark);
	uint32_t (*fwmark)(void *ctx);
};

/* A growing output buffer. Start it zeroed; the caller owns data. Replies
 * carry private keys, so growing and freeing wipe the old bytes. */
struct mg_uapi_buf {
	char *data;
	size_t len, cap;
};

/* 0 or -ENOMEM (the buffer unchanged). */
int mg_uapi_buf_append(struct mg_uapi_buf *b, const void *data, size_t len);
int mg_uapi_buf_printf(struct mg_uapi_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Wipes and frees; the buffer is empty and reusable afterwards. */
void mg_uapi_buf_free(struct mg_uapi_buf *b);

/* Writes key=value lines into out until the first failure, which it keeps
 * in err, so code that writes many lines checks once, at the end. A line is
 * formatted in a buffer on the stack that is wiped afterwards (it may hold a
 * key): at most 255 bytes, or -EINVAL. */
struct mg_uapi_writer {
	struct mg_uapi_buf *out;
	int err;
};

void mg_uapi_put(struct mg_uapi_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "name=<64 hex digits>\n", as the UAPI spells keys. */
void mg_uapi_put_key(struct mg_uapi_writer *w, const char *name, const uint8_t key[MG_KEY_SIZE]);

/* Framing for a byte stream: the length of the request at the start of buf,
 * or 0 while it is incomplete, -EPROTO if buf does not start with "get=1\n"
 * or "set=1\n", -EMSGSIZE if a line or the request is over the limits above.
 * *scan remembers how far an incomplete request was searched, so a request
 * arriving in many pieces costs linear time: set it to 0 for each new
 * request and pass it back unchanged with the same bytes plus more. */
int mg_uapi_frame(const char *buf, size_t len, size_t *scan);

/* Handles the request at the start of request[0, len) (bytes after its end
 * are not looked at) and appends its reply to out. Returns:
 *  > 0        the request's length; the reply (errno=0 or the error) is in out;
 *  -ENODATA   the request is incomplete: nothing changed, nothing appended;
 *  -EPROTO    not a request: nothing appended, close the connection
 *             (wireguard-go hangs up without a word);
 *  -EMSGSIZE  over the limits: "errno=-5" appended, send it and close;
 *  -ENOMEM    not even an error reply fits in memory: close.
 * A set that fails validation (-22, -71), or whose hooks fail (-98), changes
 * nothing. Only when the device runs out of memory while applying a valid
 * set ("errno=-12") may part of it have been applied: the device has no way
 * to reserve peers and allowed-ip nodes ahead. When status is not NULL
 * and a reply was appended, *status gets the errno it carries (0 or
 * negative), for callers that want it without reading the text back. */
int mg_uapi_handle(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		   const char *request, size_t len, struct mg_uapi_buf *out, int *status);

#endif
