/* The WireGuard UDP socket set: one IPv4 and one IPv6-only socket on the same
 * port, so an IPv4 peer is always reached from the IPv4 socket and sources
 * read from either are never v4-mapped. */
#ifndef MG_TUNNEL_UDP_H
#define MG_TUNNEL_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "util/ipaddr.h"

/* Bytes per receive slot: the largest UDP payload (65535 - 8 over IPv6),
 * rounded up to a power of two so every slot is as aligned as the first. */
#define MG_UDP_MAX_DGRAM 65536
/* Datagrams read per mg_udp_recv_batch call. */
#define MG_UDP_BATCH 64

/* Both sockets are non-blocking and close-on-exec; a family the host lacks
 * has fd -1. The set owns its fds until mg_udp_close. */
/* Datagrams one mg_udp_send_batch call takes. */
#define MG_UDP_TX_MAX 256
/* Segments in one GSO send: the kernel's UDP_MAX_SEGMENTS. */
#define MG_UDP_GSO_MAX_SEGMENTS 64

struct mg_udp_tx_item {
	struct mg_endpoint to;
	const uint8_t *buf;
	uint32_t len;
};

/* Extra sockets (at most MG_UDP_EXTRA_MAX at once): each on a port of its
 * own that the kernel picks, for a path through a NAT that maps every local
 * port (and destination) to its own public port (mesh/path.h's birthday
 * rounds). A datagram to an endpoint whose local.sock is n leaves from
 * extra socket n (numbered from 1; 0 is the set's own socket), or from the
 * set's own when n is not open; what an extra socket reads has its number
 * in local.sock (the engine sets it). */
#define MG_UDP_EXTRA_MAX 256

struct mg_udp {
	int fd4;
	int fd6;
	int extra_fd[MG_UDP_EXTRA_MAX];	   /* extra socket n at [n - 1] */
	bool extra_open[MG_UDP_EXTRA_MAX]; /* zeroed: none (so a zeroed set is valid) */
	uint16_t port;			   /* host order: the port both sockets are bound to */
	uint32_t fwmark;		   /* SO_MARK on both sockets; 0: none */
	bool gso;			   /* UDP_SEGMENT works; cleared on the first refusal */
	/* Private: sendmmsg's descriptors for mg_udp_send_batch, with room
	 * for a UDP_SEGMENT and an IP_PKTINFO or IPV6_PKTINFO message each. */
	struct mmsghdr tx_msg[MG_UDP_TX_MAX];
	struct iovec tx_iov[MG_UDP_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} tx_control[MG_UDP_TX_MAX];
};

/* Opens both sockets on port (0: one the kernel picks, the same for both).
 * A family the host does not support is left out; fails when neither works.
 * A nonzero fwmark needs CAP_NET_ADMIN (-EPERM without). */
int mg_udp_open(struct mg_udp *u, uint16_t port, uint32_t fwmark);
void mg_udp_close(struct mg_udp *u);
/* One socket of family bound to the wildcard address on *port (0: the
 * kernel picks; *port gets it), configured as the set's: what the broker's
 * privileged side opens (broker.h). Its fd, or -errno. */
int mg_udp_socket_bound(int family, uint16_t *port, uint32_t fwmark);

/* Opens an extra socket of family (AF_INET or AF_INET6) on a port the
 * kernel picks, with the set's fwmark: its number (1..MG_UDP_EXTRA_MAX),
 * -ENOSPC when all are open, or -errno. *fd gets its fd (still the set's). */
int mg_udp_extra_open(struct mg_udp *u, int family, int *fd);
/* Closes extra socket n (nothing if not open). */
void mg_udp_extra_close(struct mg_udp *u, unsigned n);

/* Marks both sockets' packets with fwmark from now on (0 clears the mark). */
int mg_udp_set_fwmark(struct mg_udp *u, uint32_t fwmark);

/* Sticky source: a datagram to an endpoint with a local address leaves from
 * that address (IP_PKTINFO / IPV6_PKTINFO; the interface is forced only for
 * a link-local IPv6 source, which needs it: elsewhere routing picks it, so a
 * route back by another interface still works, as in the kernel module).
 * When that address no longer exists, the kernel refuses the send
 * (ENETUNREACH for IPv4, EINVAL for IPv6); it is then sent again without a
 * source, and so are the rest of the batch's datagrams from that address.
 * The endpoint itself stays as it is (the queue holds copies): the peer's
 * cached source is replaced by the next authenticated packet from the peer,
 * which arrives at an address we still have, or cleared by the handshake
 * timers; until then each send to it costs one refused call more per
 * batch. */

/* Sends one datagram from the socket of to's family. 0 or -errno: -EAGAIN
 * when the send buffer is full (the caller drops, as a router would),
 * -EAFNOSUPPORT when the set has no socket of that family. */
int mg_udp_send(struct mg_udp *u, const struct mg_endpoint *to, const uint8_t *buf, size_t len);

/* Caller-owned receive buffers: 4 MiB, so allocate it once (not on the
 * stack) and reuse it for every call. After mg_udp_recv_batch returns n,
 * slots 0..n-1 hold datagram buf[i] of len[i] bytes from from[i], whose
 * local address is where it arrived (unset if the kernel did not say). A len of 0
 * marks a datagram that was empty or too large for a slot: skip it. */
struct mg_udp_batch {
	struct mg_endpoint from[MG_UDP_BATCH];
	size_t len[MG_UDP_BATCH];
	/* UDP GRO: buf[i] holds datagrams of segment[i] bytes back to back
	 * (the last may be shorter); 0 when buf[i] is a single datagram. */
	uint16_t segment[MG_UDP_BATCH];
	/* Datagrams the kernel dropped on this socket for want of buffer
	 * space, as last reported (SO_RXQ_OVFL). */
	uint32_t kernel_drops;
	uint8_t buf[MG_UDP_BATCH][MG_UDP_MAX_DGRAM];
	/* Private: recvmmsg's descriptors into the arrays above. */
	struct mmsghdr msg[MG_UDP_BATCH];
	struct iovec iov[MG_UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t)) +
			 CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control[MG_UDP_BATCH];
};

/* Reads up to MG_UDP_BATCH datagrams from fd (u->fd4 or u->fd6) without
 * blocking: their count, -EAGAIN when none is waiting, or -errno. */
int mg_udp_recv_batch(int fd, struct mg_udp_batch *b);

/* Sends items in order, one sendmmsg per run of one family, merging runs of
 * equal-sized datagrams to one endpoint (remote and local address) into a
 * single UDP GSO send where the kernel allows. Returns how many datagrams could not be sent (the caller
 * counts them as drops, as a router would). */
unsigned mg_udp_send_batch(struct mg_udp *u, const struct mg_udp_tx_item *items, unsigned count);

#endif
