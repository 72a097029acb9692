/* Linux back-end of udp.h. */
#include "tunnel/udp.h"
#include "tunnel/broker.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>

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
	if (fd >= 0 && mg_broker_active())
		return mg_broker_udp_mark(fd, fwmark);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

/* What needs no privilege; also on a socket the broker opened. */
static void set_options(int fd, int family)
{
	int one = 1;

	/* Optional: coalesced receive (UDP GRO, Linux 5.0+) and a count of
	 * what the kernel dropped. Kernels without them still work. */
	setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* Where each datagram arrived, so replies leave from there (see
	 * "Sticky source" in udp.h); without it the kernel picks as before. */
	if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

/* A configured, unbound socket of family, or -errno. The larger buffers
 * (SO_RCVBUFFORCE) and the mark need CAP_NET_ADMIN. */
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
	set_options(fd, family);
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
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

int mg_udp_socket_bound(int family, uint16_t *port, uint32_t fwmark)
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

/* Under privilege separation the broker opens the socket (broker.h). */
static int open_socket(int family, uint16_t *port, uint32_t fwmark)
{
	int fd;

	if (!mg_broker_active())
		return mg_udp_socket_bound(family, port, fwmark);
	fd = mg_broker_udp_socket(family, port, fwmark);
	if (fd >= 0)
		set_options(fd, family);
	return fd;
}

int mg_udp_extra_open(struct mg_udp *u, int family, int *fd)
{
	uint16_t port = 0;

	for (unsigned i = 0; i < MG_UDP_EXTRA_MAX; i++) {
		if (u->extra_open[i])
			continue;
		*fd = open_socket(family, &port, u->fwmark);
		if (*fd < 0)
			return *fd;
		u->extra_fd[i] = *fd;
		u->extra_open[i] = true;
		return (int)i + 1;
	}
	return -ENOSPC;
}

void mg_udp_extra_close(struct mg_udp *u, unsigned n)
{
	if (!n || n > MG_UDP_EXTRA_MAX || !u->extra_open[n - 1])
		return;
	close(u->extra_fd[n - 1]);
	u->extra_open[n - 1] = false;
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
	u->gso = true;
	return 0;
}

int mg_udp_open(struct mg_udp *u, uint16_t port, uint32_t fwmark)
{
	int ret;

	u->fd4 = u->fd6 = -1;
	memset(u->extra_open, 0, sizeof(u->extra_open));
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
	for (unsigned n = 1; n <= MG_UDP_EXTRA_MAX; n++)
		mg_udp_extra_close(u, n);
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

static int fd_for(const struct mg_udp *u, const struct mg_endpoint *to)
{
	unsigned n = to->local.sock;

	if (n && n <= MG_UDP_EXTRA_MAX && u->extra_open[n - 1])
		return u->extra_fd[n - 1];
	if (to->sa.sa_family == AF_INET)
		return u->fd4;
	if (to->sa.sa_family == AF_INET6)
		return u->fd6;
	return -1;
}

/* Appends a control message of len bytes to h, whose buffer has room. */
static void *put_cmsg(struct msghdr *h, int level, int type, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)h->msg_control + h->msg_controllen);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	h->msg_controllen += CMSG_SPACE(len);
	return CMSG_DATA(c);
}

/* The sticky source as the last control message of h; false if to has
 * none. */
static bool put_source(struct msghdr *h, const struct mg_endpoint *to)
{
	if (!mg_endpoint_has_local(to))
		return false;
	if (to->sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = to->local.in4 };
		memcpy(put_cmsg(h, IPPROTO_IP, IP_PKTINFO, sizeof(pi)), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = to->local.in6 };
		if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
			pi.ipi6_ifindex = to->local.ifindex;
		memcpy(put_cmsg(h, IPPROTO_IPV6, IPV6_PKTINFO, sizeof(pi)), &pi, sizeof(pi));
	}
	return true;
}

/* Removes what put_source added. */
static void drop_source(struct msghdr *h, const struct mg_endpoint *to)
{
	h->msg_controllen -= to->sa.sa_family == AF_INET ? CMSG_SPACE(sizeof(struct in_pktinfo))
							 : CMSG_SPACE(sizeof(struct in6_pktinfo));
}

/* The kernel's answers to a source address that is gone: IPv4's route
 * lookup says ENETUNREACH (EINVAL on some kernels), IPv6's pktinfo check
 * EINVAL; ENODEV when the interface is gone. A network that is really
 * unreachable costs one more refused call. */
static bool source_gone(int err)
{
	return err == ENETUNREACH || err == EINVAL || err == EADDRNOTAVAIL || err == ENODEV;
}

int mg_udp_send(struct mg_udp *u, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr h = {
		.msg_name = (void *)&to->sa,
		.msg_namelen = mg_endpoint_len(to),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
	};
	int fd = fd_for(u, to);

	if (fd < 0)
		return -EAFNOSUPPORT;
	put_source(&h, to);
	if (sendmsg(fd, &h, 0) >= 0)
		return 0;
	if (!h.msg_controllen || !source_gone(errno))
		return -errno;
	h.msg_controllen = 0;
	if (sendmsg(fd, &h, 0) < 0)
		return -errno;
	return 0;
}

/* The address a datagram arrived at: ipi_spec_dst is the one a reply
 * should come from (the destination, for unicast). */
static void read_local(struct mg_endpoint *from, const struct cmsghdr *c)
{
	if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
		struct in_pktinfo pi;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		from->local.in4 = pi.ipi_spec_dst;
		from->local.ifindex = (uint32_t)pi.ipi_ifindex;
	} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
		struct in6_pktinfo pi;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		from->local.in6 = pi.ipi6_addr;
		from->local.ifindex = pi.ipi6_ifindex;
	}
}

/* Reads the UDP GRO segment size, the drop counter and the local address
 * from msg's control messages. */
static void read_control(struct mg_udp_batch *b, int i)
{
	struct msghdr *m = &b->msg[i].msg_hdr;

	b->segment[i] = 0;
	memset(&b->from[i].local, 0, sizeof(b->from[i].local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		read_local(&b->from[i], c);
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			if (size > 0 && (size_t)size < b->len[i])
				b->segment[i] = (uint16_t)size;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&b->kernel_drops, CMSG_DATA(c), sizeof(b->kernel_drops));
		}
	}
}

int mg_udp_recv_batch(int fd, struct mg_udp_batch *b)
{
	int n;

	/* The kernel overwrites msg_namelen, msg_controllen and msg_flags, so
	 * the descriptors are rebuilt on every call; that costs far less than
	 * the syscall. */
	for (int i = 0; i < MG_UDP_BATCH; i++) {
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = sizeof(b->buf[i]);
		b->msg[i].msg_hdr = (struct msghdr){
			.msg_name = &b->from[i],
			.msg_namelen = sizeof(b->from[i]),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
			.msg_control = b->control[i].buf,
			.msg_controllen = sizeof(b->control[i].buf),
		};
	}
	n = recvmmsg(fd, b->msg, MG_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		b->len[i] = b->msg[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : b->msg[i].msg_len;
		read_control(b, i);
	}
	return n;
}

/* How many items from first on can go out as one GSO send: same endpoint,
 * equal sizes, only the last may be shorter, within the size of one UDP
 * datagram. */
static unsigned gso_run(const struct mg_udp *u, const struct mg_udp_tx_item *items, unsigned first,
			unsigned count)
{
	uint32_t size = items[first].len, total = size;
	unsigned n = 1;

	if (!u->gso)
		return 1;
	while (first + n < count && n < MG_UDP_GSO_MAX_SEGMENTS) {
		const struct mg_udp_tx_item *it = &items[first + n];
		if (it->len > size || total + it->len > 65000 ||
		    !mg_endpoint_equal(&it->to, &items[first].to))
			break;
		total += it->len;
		n++;
		if (it->len < size)
			break;
	}
	return n;
}

/* What flush_msgs needs to know of each prepared message. */
struct tx_meta {
	const struct mg_endpoint *to;
	unsigned segments;
	bool sourced; /* carries to's local address as pktinfo */
};

/* Message m: run datagrams from item i on, with their control messages. */
static void prepare_msg(struct mg_udp *u, unsigned m, const struct mg_udp_tx_item *items,
			unsigned i, unsigned run, struct tx_meta *meta)
{
	struct msghdr *h = &u->tx_msg[m].msg_hdr;

	for (unsigned k = 0; k < run; k++) {
		u->tx_iov[i + k].iov_base = (void *)items[i + k].buf;
		u->tx_iov[i + k].iov_len = items[i + k].len;
	}
	*h = (struct msghdr){
		.msg_name = (void *)&items[i].to.sa,
		.msg_namelen = mg_endpoint_len(&items[i].to),
		.msg_iov = &u->tx_iov[i],
		.msg_iovlen = run,
		.msg_control = u->tx_control[m].buf,
	};
	if (run > 1) {
		uint16_t size = (uint16_t)items[i].len;
		memcpy(put_cmsg(h, SOL_UDP, UDP_SEGMENT, sizeof(size)), &size, sizeof(size));
	}
	meta[m].to = &items[i].to;
	meta[m].segments = run;
	meta[m].sourced = put_source(h, &items[i].to);
}

/* Message k was refused for its source: sends it, and the messages after
 * it from the same source, without one. False if k had none to drop. */
static bool unsource(struct mg_udp *u, unsigned k, unsigned m, struct tx_meta *meta)
{
	const struct mg_endpoint *gone = meta[k].to;

	if (!meta[k].sourced)
		return false;
	for (unsigned j = k; j < m; j++) {
		if (meta[j].sourced && mg_endpoint_equal_local(meta[j].to, gone)) {
			drop_source(&u->tx_msg[j].msg_hdr, meta[j].to);
			meta[j].sourced = false;
		}
	}
	return true;
}

/* Sends the prepared messages 0..m-1 on fd; returns datagrams not sent. */
static unsigned flush_msgs(struct mg_udp *u, int fd, unsigned m, struct tx_meta *meta)
{
	unsigned done = 0, failed = 0;

	while (done < m) {
		int n = sendmmsg(fd, u->tx_msg + done, m - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		/* Tried again without its source (see udp.h). */
		if (n < 0 && source_gone(errno) && unsource(u, done, m, meta))
			continue;
		/* EIO/EINVAL: this kernel or route refuses GSO; send the rest
		 * one by one from now on. */
		if (n < 0 && (errno == EIO || errno == EINVAL) && meta[done].segments > 1)
			u->gso = false;
		failed += meta[done].segments;
		done++;
	}
	return failed;
}

unsigned mg_udp_send_batch(struct mg_udp *u, const struct mg_udp_tx_item *items, unsigned count)
{
	struct tx_meta meta[MG_UDP_TX_MAX];
	unsigned i = 0, m = 0, failed = 0;
	int fd = -1;

	while (i < count) {
		int item_fd = fd_for(u, &items[i].to);
		unsigned run;
		if (item_fd < 0) {
			failed++;
			i++;
			continue;
		}
		if (m && item_fd != fd) {
			failed += flush_msgs(u, fd, m, meta);
			m = 0;
		}
		fd = item_fd;
		run = gso_run(u, items, i, count);
		prepare_msg(u, m++, items, i, run, meta);
		i += run;
	}
	if (m)
		failed += flush_msgs(u, fd, m, meta);
	return failed;
}
