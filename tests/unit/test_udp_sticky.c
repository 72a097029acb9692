/* Sticky source (udp.h), in a private network namespace whose lo has extra
 * addresses: a datagram's endpoint records the address it arrived at, a
 * reply to that endpoint leaves from it (not from the address routing would
 * pick), a batch never merges datagrams of two sources into one GSO send,
 * and a source that no longer exists costs nothing but a retry: the
 * datagram still goes out, from the address routing picks, and GSO stays
 * on. */
#include "check.h"
#include "tunnel/netlink.h"
#include "tunnel/udp.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define ITEMS 8 /* datagrams per batch */
#define SIZE  200

static struct mg_udp a, b;
static struct mg_udp_batch *batch;
static unsigned lo;

/* ep with local address host ("1.2.3.4" or "[::1]", port ignored). */
static struct mg_endpoint with_local(struct mg_endpoint ep, const char *host)
{
	struct mg_endpoint l = ns_endpoint(host, 1);

	if (l.sa.sa_family == AF_INET)
		ep.local.in4 = l.in4.sin_addr;
	else
		ep.local.in6 = l.in6.sin6_addr;
	ep.local.ifindex = lo;
	return ep;
}

/* A new IPv6 address is tentative, and its local route missing, until the
 * kernel's DAD work has run, even on lo: wait until a datagram sent to the
 * address arrives. */
static void wait_usable(const struct mg_prefix *p)
{
	struct mg_endpoint ep = { 0 };
	socklen_t len = sizeof(ep);
	int fd = socket(p->family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	char c;

	CHECK(fd >= 0);
	ep.sa.sa_family = p->family;
	if (p->family == AF_INET)
		memcpy(&ep.in4.sin_addr, p->addr, 4);
	else
		memcpy(&ep.in6.sin6_addr, p->addr, 16);
	for (int i = 0; bind(fd, &ep.sa, mg_endpoint_len(&ep)) < 0; i++) {
		CHECK(errno == EADDRNOTAVAIL && i < 2000);
		usleep(1000);
	}
	CHECK_EQ(getsockname(fd, &ep.sa, &len), 0);
	for (int i = 0;; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		CHECK(i < 1000); /* up to 10 s for the address to be usable */
		sendto(fd, "x", 1, 0, &ep.sa, len);
		if (poll(&pfd, 1, 10) == 1 && recv(fd, &c, 1, 0) == 1)
			break;
	}
	close(fd);
}

static void address(const char *prefix, bool add)
{
	struct mg_netlink nl;
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, prefix, false), 0);
	CHECK_EQ(mg_netlink_open(&nl), 0);
	if (add)
		CHECK_EQ(mg_netlink_addr_add(&nl, lo, &p), 0);
	else
		CHECK_EQ(mg_netlink_addr_delete(&nl, lo, &p), 0);
	mg_netlink_close(&nl);
	if (add)
		wait_usable(&p);
}

/* Loopback delivery may finish after the send returns. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	CHECK_EQ(poll(&p, 1, 10000), 1); /* readiness, not speed */
}

/* Reads exactly one datagram from fd into slot 0. */
static void recv_one(int fd)
{
	wait_readable(fd);
	CHECK_EQ(mg_udp_recv_batch(fd, batch), 1);
}

/* The datagram in slot 0 came from host:port. */
static bool came_from(const char *host, uint16_t port)
{
	struct mg_endpoint ep = ns_endpoint(host, port);

	return mg_endpoint_equal_remote(&batch->from[0], &ep);
}

static int fd_of(const struct mg_udp *u, const struct mg_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET ? u->fd4 : u->fd6;
}

/* a contacts b at host from routed_src (itself a sticky source, so that a
 * local destination does not make the kernel pick host); b answers the
 * endpoint it saw, and a sees the answer come from host although routing
 * would pick routed_src. */
static void reply_from_contacted(const char *host, const char *routed_src)
{
	struct mg_endpoint to = with_local(ns_endpoint(host, b.port), routed_src);
	struct mg_endpoint seen, want = with_local(ns_endpoint(routed_src, a.port), host);

	CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)"ping", 4), 0);
	recv_one(fd_of(&b, &to));
	seen = batch->from[0];
	CHECK(mg_endpoint_has_local(&seen));
	CHECK(mg_endpoint_equal(&seen, &want));

	CHECK_EQ(mg_udp_send(&b, &seen, (const uint8_t *)"pong", 4), 0);
	recv_one(fd_of(&a, &to));
	CHECK(mg_endpoint_equal_remote(&batch->from[0], &to));

	/* Without it, routing picks routed_src: the test means something. */
	mg_endpoint_clear_local(&seen);
	CHECK_EQ(mg_udp_send(&b, &seen, (const uint8_t *)"pong", 4), 0);
	recv_one(fd_of(&a, &to));
	CHECK(came_from(routed_src, b.port));
}

/* The endpoint a learned is from an address that is then removed: the reply
 * still leaves, from the address routing picks. */
static void removed_source(const char *prefix, const char *host, const char *routed_src)
{
	struct mg_endpoint to = with_local(ns_endpoint(host, b.port), routed_src), seen, want;

	address(prefix, true);
	CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)"ping", 4), 0);
	recv_one(fd_of(&b, &to));
	seen = batch->from[0];
	want = with_local(ns_endpoint(routed_src, a.port), host);
	CHECK(mg_endpoint_equal(&seen, &want));
	address(prefix, false);
	CHECK_EQ(mg_udp_send(&b, &seen, (const uint8_t *)"pong", 4), 0);
	recv_one(fd_of(&a, &to));
	CHECK(came_from(routed_src, b.port));
}

/* Datagram i of a batch is filled with byte i; reads all ITEMS of them
 * (splitting GRO batches) and returns how many came from where want(i)
 * says. */
static unsigned count_from(int fd, const struct mg_endpoint *(*want)(unsigned), unsigned size)
{
	unsigned right = 0, total = 0;

	while (total < ITEMS) {
		int n;
		wait_readable(fd);
		n = mg_udp_recv_batch(fd, batch);
		CHECK(n > 0);
		for (int i = 0; i < n; i++) {
			size_t seg = batch->segment[i] ? batch->segment[i] : batch->len[i];
			CHECK_EQ(seg, size);
			for (size_t off = 0; off < batch->len[i]; off += seg, total++)
				right += mg_endpoint_equal_remote(&batch->from[i],
								  want(batch->buf[i][off]));
		}
	}
	CHECK_EQ(total, ITEMS);
	CHECK_EQ(mg_udp_recv_batch(fd, batch), -EAGAIN);
	return right;
}

static struct mg_endpoint src2, src3;

static const struct mg_endpoint *alternating(unsigned i)
{
	return i % 2 ? &src3 : &src2;
}

/* Equal sizes to one remote address would be one GSO send, but two sources
 * alternate: each datagram must leave from its own. */
static void batch_keeps_sources(void)
{
	static uint8_t bufs[ITEMS][SIZE];
	struct mg_udp_tx_item items[ITEMS];
	struct mg_endpoint to = ns_endpoint("127.0.0.1", a.port);

	src2 = ns_endpoint("127.0.0.2", b.port);
	src3 = ns_endpoint("127.0.0.3", b.port);
	for (unsigned i = 0; i < ITEMS; i++) {
		memset(bufs[i], (int)i, SIZE);
		items[i] = (struct mg_udp_tx_item){
			.to = with_local(to, i % 2 ? "127.0.0.3" : "127.0.0.2"),
			.buf = bufs[i],
			.len = SIZE,
		};
	}
	CHECK_EQ(mg_udp_send_batch(&b, items, ITEMS), 0);
	CHECK_EQ(count_from(a.fd4, alternating, SIZE), ITEMS);
}

static const struct mg_endpoint *routed(unsigned i)
{
	(void)i;
	return &src2;
}

/* A stale source in a GSO run and a good one after it: all arrive, the
 * stale ones from the routed address, and GSO is still on. */
static void batch_stale_source(void)
{
	static uint8_t bufs[ITEMS][SIZE];
	struct mg_udp_tx_item items[ITEMS];
	struct mg_endpoint to = ns_endpoint("127.0.0.1", a.port);
	struct mg_endpoint stale = with_local(to, "192.0.2.99");

	src2 = ns_endpoint("127.0.0.1", b.port);
	for (unsigned i = 0; i < ITEMS; i++) {
		memset(bufs[i], (int)i, SIZE);
		items[i] = (struct mg_udp_tx_item){
			.to = i < ITEMS - 1 ? stale : with_local(to, "127.0.0.1"),
			.buf = bufs[i],
			.len = SIZE,
		};
	}
	CHECK(b.gso);
	CHECK_EQ(mg_udp_send_batch(&b, items, ITEMS), 0);
	CHECK_EQ(count_from(a.fd4, routed, SIZE), ITEMS);
	CHECK(b.gso);
}

int main(void)
{
	enter_netns();
	lo = if_nametoindex("lo");
	batch = malloc(sizeof(*batch));
	CHECK(batch != NULL);
	address("2001:db8::2/128", true);
	CHECK_EQ(mg_udp_open(&a, 0, 0), 0);
	CHECK_EQ(mg_udp_open(&b, 0, 0), 0);

	reply_from_contacted("127.0.0.2", "127.0.0.1");
	reply_from_contacted("[2001:db8::2]", "[::1]");
	removed_source("192.0.2.1/32", "192.0.2.1", "127.0.0.1");
	removed_source("2001:db8::1/128", "[2001:db8::1]", "[::1]");
	batch_keeps_sources();
	batch_stale_source();

	mg_udp_close(&a);
	mg_udp_close(&b);
	free(batch);
	mg_test_pass("udp_sticky");
	return 0;
}
