/* Bounded HTTP for UPnP (see upnp_http.h for why miniupnpc's reader is not
 * used). The parser is I/O-free and re-run on everything received so far,
 * so it must not change buf until the answer is complete. */
#include "nat/upnp_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "nat/ssdp.h"

uint64_t mg_upnp_http_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int mg_upnp_http_url_parse(struct mg_upnp_http_url *out, const char *url)
{
	struct in_addr host;
	unsigned long port = 80;

	memset(out, 0, sizeof(*out));
	if (mg_ssdp_url_host(&host, url) < 0)
		return -EINVAL;
	const char *p = url + strlen("http://") + strspn(url + strlen("http://"), "0123456789.");
	if (*p == ':') /* digits and range checked by mg_ssdp_url_host */
		port = strtoul(p + 1, (char **)&p, 10);
	if (!*p)
		p = "/";
	/* The path goes into our request line: printable, no spaces. */
	size_t len = strlen(p);
	if (len >= sizeof(out->path))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return -EINVAL;
	memcpy(out->path, p, len + 1);
	out->addr.sin_family = AF_INET;
	out->addr.sin_addr = host;
	out->addr.sin_port = htons((uint16_t)port);
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &host, a, sizeof(a));
	snprintf(out->host, sizeof(out->host), "%s:%lu", a, port);
	return 0;
}

/* ---- parsing ---- */

/* Offset of the first byte after the blank line ending the headers, or 0. */
static size_t headers_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* "HTTP/1.x NNN ..." */
static int status_line(const char *buf, size_t len)
{
	static const char proto[] = "HTTP/1.";
	const size_t code = sizeof(proto) + 1;

	if (len < code + 4 || memcmp(buf, proto, sizeof(proto) - 1) || buf[code - 1] != ' ')
		return -EBADMSG;
	for (size_t i = code; i < code + 3; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return -EBADMSG;
	if (buf[code + 3] != ' ' && buf[code + 3] != '\r' && buf[code + 3] != '\n')
		return -EBADMSG;
	return (buf[code] - '0') * 100 + (buf[code + 1] - '0') * 10 + (buf[code + 2] - '0');
}

struct framing {
	bool chunked;
	bool has_length;
	size_t length;
};

/* One header line [p, end); a Content-Length larger than cap is -EMSGSIZE. */
static int header(struct framing *f, const char *p, const char *end, size_t cap)
{
	static const char cl[] = "content-length:", te[] = "transfer-encoding:";
	size_t n = (size_t)(end - p);

	if (n >= sizeof(te) - 1 && !strncasecmp(p, te, sizeof(te) - 1)) {
		for (const char *q = p + sizeof(te) - 1; q + 7 <= end; q++)
			if (!strncasecmp(q, "chunked", 7))
				f->chunked = true;
		return 0;
	}
	if (n < sizeof(cl) - 1 || strncasecmp(p, cl, sizeof(cl) - 1))
		return 0;
	p += sizeof(cl) - 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t v = 0, digits = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		v = v * 10 + (size_t)(*p - '0');
		if (v >= cap)
			return -EMSGSIZE;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (!digits || p != end || (f->has_length && f->length != v))
		return -EBADMSG;
	f->has_length = true;
	f->length = v;
	return 0;
}

static int framing(struct framing *f, const char *buf, size_t hdr, size_t cap)
{
	const char *p = memchr(buf, '\n', hdr), *end = buf + hdr;

	memset(f, 0, sizeof(*f));
	while (p && ++p < end) {
		size_t left = end > p ? (size_t)(end - p) : 0;
		const char *eol = left ? memchr(p, '\n', left) : NULL;
		int err = header(f, p, eol, cap);
		if (err < 0)
			return err;
		p = eol;
	}
	return 0;
}

/* Walks the chunks of [p, end): the decoded length, -EAGAIN when the last
 * chunk has not arrived, -EBADMSG when malformed. With out, also copies the
 * data to out (which may be p: it never runs ahead of the input). */
static ssize_t chunks(char *out, const char *p, const char *end)
{
	size_t total = 0;

	for (;;) {
		size_t size = 0, digits = 0;
		for (; p < end && isxdigit((unsigned char)*p); p++, digits++) {
			if (digits == 7) /* a chunk never fits in MG_UPNP_HTTP_MAX */
				return -EBADMSG;
			size = size * 16 + (size_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
		}
		size_t left = end > p ? (size_t)(end - p) : 0;
		const char *eol = left ? memchr(p, '\n', left) : NULL;
		if (!eol)
			return p + 16 < end ? -EBADMSG : -EAGAIN; /* extensions are short */
		if (!digits)
			return -EBADMSG;
		p = eol + 1;
		if (size == 0)
			return (ssize_t)total;
		if ((size_t)(end - p) < size + 1)
			return -EAGAIN;
		if (out)
			memmove(out + total, p, size);
		total += size;
		p += size;
		if (*p == '\r')
			p++;
		if (p >= end)
			return -EAGAIN;
		if (*p++ != '\n')
			return -EBADMSG;
	}
}

static int body(struct mg_upnp_http_reply *out, char *buf, size_t len, size_t cap, bool eof,
		size_t hdr, const struct framing *f)
{
	char *b = buf + hdr;
	size_t have = len - hdr;

	if (f->chunked) {
		ssize_t n = chunks(NULL, b, buf + len);
		if (n == -EAGAIN)
			return eof ? -EBADMSG : len + 1 >= cap ? -EMSGSIZE : -EAGAIN;
		if (n < 0)
			return (int)n;
		out->body_len = (size_t)chunks(b, b, buf + len);
	} else if (f->has_length) {
		if (hdr + f->length >= cap)
			return -EMSGSIZE;
		if (have < f->length)
			return eof ? -EBADMSG : -EAGAIN;
		out->body_len = f->length;
	} else {
		if (!eof)
			return len + 1 >= cap ? -EMSGSIZE : -EAGAIN;
		out->body_len = have;
	}
	b[out->body_len] = '\0';
	out->body = b;
	return 0;
}

int mg_upnp_http_parse(struct mg_upnp_http_reply *out, char *buf, size_t len, size_t cap, bool eof)
{
	struct framing f;

	memset(out, 0, sizeof(*out));
	if (cap == 0 || len >= cap)
		return -EMSGSIZE;
	size_t hdr = headers_end(buf, len);
	if (!hdr) {
		return eof ? -EBADMSG : len + 1 >= cap ? -EMSGSIZE : -EAGAIN;
	}
	int status = status_line(buf, hdr);
	if (status < 0)
		return status;
	int err = framing(&f, buf, hdr, cap);
	if (err < 0)
		return err;
	err = body(out, buf, len, cap, eof, hdr, &f);
	if (err < 0)
		return err;
	out->status = status;
	return 0;
}

/* ---- the exchange ---- */

/* Waits for events on fd until the deadline. */
static int wait_for(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = mg_upnp_http_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		uint64_t ms = (deadline_ns - now + 999999) / 1000000;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static int connect_to(int fd, const struct sockaddr_in *to, uint64_t deadline_ns)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	int w = wait_for(fd, POLLOUT, deadline_ns);
	if (w < 0)
		return w;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static int send_all(int fd, const char *p, size_t len, uint64_t deadline_ns)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int w = wait_for(fd, POLLOUT, deadline_ns);
		if (w < 0)
			return w;
	}
	return 0;
}

static int receive(struct mg_upnp_http_reply *out, int fd, char *buf, size_t cap,
		   uint64_t deadline_ns)
{
	size_t len = 0;

	for (;;) {
		int w = wait_for(fd, POLLIN, deadline_ns);
		if (w < 0)
			return w;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		len += (size_t)n;
		int err = mg_upnp_http_parse(out, buf, len, cap, n == 0);
		if (err != -EAGAIN)
			return err;
	}
}

int mg_upnp_http_exchange(struct mg_upnp_http_reply *out, char *buf, size_t cap,
			  const struct mg_upnp_http_url *url, const char *req, size_t req_len,
			  uint64_t deadline_ns, struct in_addr *local)
{
	struct sockaddr_in me;
	socklen_t melen = sizeof(me);

	memset(out, 0, sizeof(*out));
	if (cap < 2)
		return -EMSGSIZE;
	if (cap > MG_UPNP_HTTP_MAX)
		cap = MG_UPNP_HTTP_MAX;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err = connect_to(fd, &url->addr, deadline_ns);
	if (!err && local) {
		if (getsockname(fd, (struct sockaddr *)&me, &melen) < 0)
			err = -errno;
		else
			*local = me.sin_addr;
	}
	if (!err)
		err = send_all(fd, req, req_len, deadline_ns);
	if (!err)
		err = receive(out, fd, buf, cap, deadline_ns);
	close(fd);
	return err;
}
