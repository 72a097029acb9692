/* The configuration protocol's framing and dispatch: the output buffer, the
 * framing of a byte stream into requests, and each request handed to
 * uapi_get.c or uapi_set.c, with the "errno=N" reply written here. */
#include "tunnel/uapi.h"
#include "tunnel/uapi_get.h"
#include "tunnel/uapi_set.h"
#include "crypto/primitives.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_LEN 6 /* "get=1\n", "set=1\n" */

_Static_assert(MG_UAPI_MAX_REQUEST <= INT_MAX, "request lengths are returned as int");

/* ---- output buffer ---- */

/* Grows by copying rather than realloc so that no stale copy of a private
 * key is left behind in freed memory. */
static int reserve(struct mg_uapi_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *data;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	while (cap - b->len < extra)
		cap *= 2;
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	if (b->len)
		memcpy(data, b->data, b->len);
	if (b->data) {
		mg_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

int mg_uapi_buf_append(struct mg_uapi_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int mg_uapi_buf_printf(struct mg_uapi_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (reserve(b, (size_t)n + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void mg_uapi_buf_free(struct mg_uapi_buf *b)
{
	if (b->data) {
		mg_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

void mg_uapi_put(struct mg_uapi_writer *w, const char *fmt, ...)
{
	va_list ap;
	char line[256];
	int n;

	if (w->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		w->err = -EINVAL;
	else
		w->err = mg_uapi_buf_append(w->out, line, (size_t)n);
	mg_wipe(line, sizeof(line)); /* it may have held a private key */
}

void mg_uapi_put_key(struct mg_uapi_writer *w, const char *name, const uint8_t key[MG_KEY_SIZE])
{
	char hex[MG_KEY_HEX_LEN + 1];

	mg_key_to_hex(hex, key);
	mg_uapi_put(w, "%s=%s\n", name, hex);
	mg_wipe(hex, sizeof(hex));
}

/* ---- framing ---- */

/* Lines after "set=1\n" up to an empty one; wireguard-go's scanner drops one
 * '\r' before each '\n', so "\r\n" alone also ends the request. */
static int frame_set(const char *buf, size_t len, size_t *scan)
{
	size_t pos = *scan > OP_LEN ? *scan : OP_LEN;

	while (pos < len) {
		size_t window = len - pos < MG_UAPI_MAX_LINE + 1 ? len - pos : MG_UAPI_MAX_LINE + 1;
		const char *nl = memchr(buf + pos, '\n', window);
		size_t n;

		if (!nl) {
			if (window > MG_UAPI_MAX_LINE)
				return -EMSGSIZE;
			break;
		}
		n = (size_t)(nl - (buf + pos));
		pos += n + 1;
		if (pos > MG_UAPI_MAX_REQUEST)
			return -EMSGSIZE;
		if (n == 0 || (n == 1 && buf[pos - 2] == '\r'))
			return (int)pos;
	}
	*scan = pos;
	return len >= MG_UAPI_MAX_REQUEST ? -EMSGSIZE : 0;
}

int mg_uapi_frame(const char *buf, size_t len, size_t *scan)
{
	size_t head = len < OP_LEN ? len : OP_LEN;

	if (memcmp(buf, "get=1\n", head) && memcmp(buf, "set=1\n", head))
		return -EPROTO;
	if (len < OP_LEN)
		return 0;
	/* wireguard-go reads exactly one byte after "get=1\n", and answers
	 * EINVAL unless it is the '\n'. */
	if (buf[0] == 'g')
		return len > OP_LEN ? OP_LEN + 1 : 0;
	return frame_set(buf, len, scan);
}

/* ---- requests ---- */

static int reply(struct mg_uapi_buf *out, int err, int *status)
{
	if (status)
		*status = err;
	return mg_uapi_buf_printf(out, "errno=%d\n\n", err);
}

static int handle_get(const struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		      const char *request, struct mg_uapi_buf *out, int *status)
{
	if (request[OP_LEN] != '\n')
		return reply(out, -EINVAL, status);
	if (mg_uapi_get(dev, hooks, ctx, out) == 0) {
		if (status)
			*status = 0;
		return 0;
	}
	return reply(out, -ENOMEM, status);
}

static int handle_set(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		      const char *request, size_t len, struct mg_uapi_buf *out, int *status)
{
	return reply(out, mg_uapi_set(dev, hooks, ctx, request + OP_LEN, len - OP_LEN), status);
}

int mg_uapi_handle(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		   const char *request, size_t len, struct mg_uapi_buf *out, int *status)
{
	size_t scan = 0;
	int n = mg_uapi_frame(request, len, &scan), ret;

	if (n == 0)
		return -ENODATA;
	if (n == -EMSGSIZE) /* wireguard-go: "failed to read input", EIO */
		return reply(out, -EIO, status) < 0 ? -ENOMEM : -EMSGSIZE;
	if (n < 0)
		return n;
	if (request[0] == 'g')
		ret = handle_get(dev, hooks, ctx, request, out, status);
	else
		ret = handle_set(dev, hooks, ctx, request, (size_t)n, out, status);
	return ret < 0 ? -ENOMEM : n;
}
