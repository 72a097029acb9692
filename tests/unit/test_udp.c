/* The UDP socket set, in a private network namespace: one port for both
 * families, batched receive with the right source endpoints (and the local
 * address each arrived at), SO_MARK and
 * socket buffers beyond net.core.rmem_max. */
#include "check.h"
#include "tunnel/netlink.h"
#include "tunnel/udp.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

static struct mg_udp a, b;
static struct mg_udp_batch *batch;

static uint16_t bound_port(int fd)
{
	struct mg_endpoint ep;
	socklen_t len = sizeof(ep);

	CHECK_EQ(getsockname(fd, &ep.sa, &len), 0);
	return ntohs(ep.sa.sa_family == AF_INET ? ep.in4.sin_port : ep.in6.sin6_port);
}

static int sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	CHECK_EQ(getsockopt(fd, SOL_SOCKET, opt, &v, &len), 0);
	return v;
}

static void test_open(void)
{
	struct mg_udp c;

	CHECK_EQ(mg_udp_open(&a, 0, 0x1234), 0);
	CHECK_EQ(mg_udp_open(&b, 0, 0), 0);
	CHECK(a.fd4 >= 0 && a.fd6 >= 0 && b.fd4 >= 0 && b.fd6 >= 0);
	CHECK(a.port != 0 && a.port != b.port);
	CHECK_EQ(bound_port(a.fd4), a.port);
	CHECK_EQ(bound_port(a.fd6), a.port);
	CHECK_EQ(bound_port(b.fd4), b.port);

	CHECK_EQ(mg_udp_open(&c, b.port, 0), -EADDRINUSE);
	CHECK_EQ(mg_udp_open(&c, 51820, 0), 0);
	CHECK_EQ(c.port, 51820);
	CHECK_EQ(bound_port(c.fd4), 51820);
	mg_udp_close(&c);
	CHECK(c.fd4 == -1 && c.fd6 == -1);
}

static void test_options(void)
{
	int one = 0;
	socklen_t len = sizeof(one);

	CHECK_EQ(getsockopt(a.fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, &len), 0);
	CHECK_EQ(one, 1);
	/* The kernel reports twice the size set; 7 MiB is past any default
	 * rmem_max, so only the FORCE variant can have set it. */
	CHECK(sockopt(a.fd4, SO_RCVBUF) >= 7 << 20);
	CHECK(sockopt(a.fd6, SO_SNDBUF) >= 7 << 20);

	CHECK_EQ(sockopt(a.fd4, SO_MARK), 0x1234);
	CHECK_EQ(sockopt(a.fd6, SO_MARK), 0x1234);
	CHECK_EQ(sockopt(b.fd4, SO_MARK), 0);
	CHECK_EQ(mg_udp_set_fwmark(&b, 77), 0);
	CHECK_EQ(sockopt(b.fd4, SO_MARK), 77);
	CHECK_EQ(sockopt(b.fd6, SO_MARK), 77);
	CHECK_EQ(b.fwmark, 77);
	CHECK_EQ(mg_udp_set_fwmark(&b, 0), 0);
	CHECK_EQ(sockopt(b.fd6, SO_MARK), 0);
}

/* Sent from and to host over lo: that address is both ends. */
static struct mg_endpoint loopback_from(const char *host, uint16_t port)
{
	struct mg_endpoint ep = ns_endpoint(host, port);

	if (ep.sa.sa_family == AF_INET)
		ep.local.in4 = ep.in4.sin_addr;
	else
		ep.local.in6 = ep.in6.sin6_addr;
	ep.local.ifindex = if_nametoindex("lo");
	return ep;
}

/* Sends count datagrams "<tag> <i>" from a to host on b's port, then reads
 * them from fd in batches and checks order, contents, source and the
 * address they arrived at. */
static void exchange(const char *host, int fd, int count)
{
	struct mg_endpoint to = ns_endpoint(host, b.port), from = loopback_from(host, a.port);
	char msg[64];
	int got = 0;

	for (int i = 0; i < count; i++) {
		int n = snprintf(msg, sizeof(msg), "%s %d", host, i);
		CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)msg, (size_t)n), 0);
	}
	while (got < count) {
		int n = mg_udp_recv_batch(fd, batch);
		CHECK(n > 0 && n <= MG_UDP_BATCH);
		for (int i = 0; i < n; i++, got++) {
			int len = snprintf(msg, sizeof(msg), "%s %d", host, got);
			CHECK_EQ(batch->len[i], len);
			CHECK_MEM(batch->buf[i], msg, (size_t)len);
			CHECK(mg_endpoint_equal(&batch->from[i], &from));
		}
	}
	CHECK_EQ(got, count);
	CHECK_EQ(mg_udp_recv_batch(fd, batch), -EAGAIN);
}

static void test_exchange(void)
{
	CHECK_EQ(mg_udp_recv_batch(b.fd4, batch), -EAGAIN);
	CHECK_EQ(mg_udp_recv_batch(b.fd6, batch), -EAGAIN);

	exchange("127.0.0.1", b.fd4, 10);
	CHECK_EQ(mg_udp_recv_batch(b.fd6, batch), -EAGAIN);
	exchange("[::1]", b.fd6, 3);
	CHECK_EQ(mg_udp_recv_batch(b.fd4, batch), -EAGAIN);

	/* More than one batch: the first read is full, the rest follows. */
	exchange("127.0.0.1", b.fd4, MG_UDP_BATCH + 36);

	struct mg_endpoint none = { 0 };
	CHECK_EQ(mg_udp_send(&a, &none, (const uint8_t *)"x", 1), -EAFNOSUPPORT);
	CHECK_EQ(mg_udp_recv_batch(-1, batch), -EBADF);
}

/* An extra socket: its own port; a datagram to an endpoint naming it leaves
 * from it (single and batched), one naming a closed or unknown socket from
 * the set's own; closing the set closes it. */
static void test_extra(void)
{
	struct mg_endpoint to;
	struct mg_udp_tx_item item;
	int fd, fd2, n, n2;

	CHECK_EQ(mg_endpoint_parse(&to, "127.0.0.1:1"), 0);
	to.in4.sin_port = htons(b.port);
	n = mg_udp_extra_open(&a, AF_INET, &fd);
	n2 = mg_udp_extra_open(&a, AF_INET, &fd2);
	CHECK(n >= 1 && n2 >= 1 && n != n2);
	CHECK(bound_port(fd) != a.port && bound_port(fd) != bound_port(fd2));

	to.local.sock = (uint16_t)n;
	CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)"x", 1), 0);
	item = (struct mg_udp_tx_item){ .to = to, .buf = (const uint8_t *)"yy", .len = 2 };
	CHECK_EQ(mg_udp_send_batch(&a, &item, 1), 0);
	CHECK_EQ(mg_udp_recv_batch(b.fd4, batch), 2);
	CHECK_EQ(ntohs(batch->from[0].in4.sin_port), bound_port(fd));
	CHECK_EQ(ntohs(batch->from[1].in4.sin_port), bound_port(fd));
	CHECK_EQ(batch->from[0].local.sock, 0); /* the engine names its sockets */

	mg_udp_extra_close(&a, (unsigned)n);
	mg_udp_extra_close(&a, (unsigned)n); /* twice: nothing */
	CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)"x", 1), 0);
	to.local.sock = MG_UDP_EXTRA_MAX + 1;
	CHECK_EQ(mg_udp_send(&a, &to, (const uint8_t *)"x", 1), 0);
	CHECK_EQ(mg_udp_recv_batch(b.fd4, batch), 2);
	CHECK_EQ(ntohs(batch->from[0].in4.sin_port), a.port);
	CHECK_EQ(ntohs(batch->from[1].in4.sin_port), a.port);
	/* The number is free again. */
	CHECK_EQ(mg_udp_extra_open(&a, AF_INET, &fd), n);
}

int main(void)
{
	enter_netns();
	batch = malloc(sizeof(*batch));
	CHECK(batch != NULL);
	test_open();
	test_options();
	test_exchange();
	test_extra();
	mg_udp_close(&a);
	mg_udp_close(&b);
	free(batch);
	mg_test_pass("udp");
	return 0;
}
