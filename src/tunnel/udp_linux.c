/* Linux back-end of udp.h. */
#include "tunnel/udp.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

/* Per-socket buffers, as wireguard-go sizes them: a burst of full-size
 * packets between two event-loop turns must fit. net.core.rmem_max cannot be
 * raised inside a network namespace, so root uses the FORCE variants, which
 * ignore it; others get what the sysctl allows. */
#define SOCKET_BUFFER (7 << 20)
/* With port 0, how often to look for a port free in both families. */
#define BIND_ATTEMPTS 16

static void set_buffer(int fd, int force_opt, int opt)
{
	int size = SOCKET_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int set_mark(int fd, uint32_t fwmark)
{
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

/* A configured, unbound socket of family, or -errno. */
static int make_socket(int family, uint32_t fwmark)
{
	int one = 1, fd, ret;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	if (fwmark && set_mark(fd, fwmark) < 0)
		goto fail;
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

/* Binds fd to the wildcard address on *port; when *port is 0 it receives
 * the port the kernel chose. */
static int bind_port(int fd, int family, uint16_t *port)
{
	struct mg_endpoint ep = { 0 };
	socklen_t len = sizeof(ep);

	ep.sa.sa_family = (sa_family_t)family;
	if (family == AF_INET)
		ep.in4.sin_port = htons(*port);
	else
		ep.in6.sin6_port = htons(*port);
	if (bind(fd, &ep.sa, mg_endpoint_len(&ep)) < 0 || getsockname(fd, &ep.sa, &len) < 0)
		return -errno;
	*port = ntohs(family == AF_INET ? ep.in4.sin_port : ep.in6.sin6_port);
	return 0;
}

static int open_socket(int family, uint16_t *port, uint32_t fwmark)
{
	int fd = make_socket(family, fwmark);
	int ret;

	if (fd < 0)
		return fd;
	ret = bind_port(fd, family, port);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Errors meaning the host has no such family (no IPv6 in the kernel, or
 * disabled), after which the other family carries on alone. */
static bool unavailable(int err)
{
	return err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT || err == -EADDRNOTAVAIL;
}

/* One attempt: IPv6 first, then IPv4 on the port IPv6 got. With port 0 the
 * IPv4 bind can hit -EADDRINUSE; the caller then tries again. */
static int try_open(struct mg_udp *u, uint16_t port, uint32_t fwmark)
{
	int fd6, fd4;

	fd6 = open_socket(AF_INET6, &port, fwmark);
	if (fd6 < 0 && !unavailable(fd6))
		return fd6;
	fd4 = open_socket(AF_INET, &port, fwmark);
	if (fd4 < 0 && (fd6 < 0 || !unavailable(fd4))) {
		if (fd6 >= 0)
			close(fd6);
		return fd4;
	}
	u->fd6 = fd6 < 0 ? -1 : fd6;
	u->fd4 = fd4 < 0 ? -1 : fd4;
	u->port = port;
	u->fwmark = fwmark;
	return 0;
}

int mg_udp_open(struct mg_udp *u, uint16_t port, uint32_t fwmark)
{
	int ret;

	u->fd4 = u->fd6 = -1;
	for (int attempt = 1;; attempt++) {
		ret = try_open(u, port, fwmark);
		if (ret != -EADDRINUSE || port != 0 || attempt == BIND_ATTEMPTS)
			return ret;
	}
}

void mg_udp_close(struct mg_udp *u)
{
	if (u->fd4 >= 0)
		close(u->fd4);
	if (u->fd6 >= 0)
		close(u->fd6);
	u->fd4 = u->fd6 = -1;
}

int mg_udp_set_fwmark(struct mg_udp *u, uint32_t fwmark)
{
	int ret = set_mark(u->fd6, fwmark);

	if (ret < 0)
		return ret;
	ret = set_mark(u->fd4, fwmark);
	if (ret < 0) {
		/* Keep both sockets on one mark, so routing stays consistent. */
		set_mark(u->fd6, u->fwmark);
		return ret;
	}
	u->fwmark = fwmark;
	return 0;
}

int mg_udp_send(struct mg_udp *u, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	int fd;

	switch (to->sa.sa_family) {
	case AF_INET:
		fd = u->fd4;
		break;
	case AF_INET6:
		fd = u->fd6;
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, buf, len, 0, &to->sa, mg_endpoint_len(to)) < 0)
		return -errno;
	return 0;
}

int mg_udp_recv_batch(int fd, struct mg_udp_batch *b)
{
	int n;

	/* The kernel overwrites msg_namelen and msg_flags, so the descriptors
	 * are rebuilt on every call; that costs far less than the syscall. */
	for (int i = 0; i < MG_UDP_BATCH; i++) {
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = sizeof(b->buf[i]);
		b->msg[i].msg_hdr = (struct msghdr){
			.msg_name = &b->from[i],
			.msg_namelen = sizeof(b->from[i]),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
	}
	n = recvmmsg(fd, b->msg, MG_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		b->len[i] = b->msg[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : b->msg[i].msg_len;
	return n;
}
