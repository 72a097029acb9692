/* STUN on the WireGuard port, in a private network namespace: with
 * mg_stun_port attached to an engine's device and socket, a Binding request
 * arriving on the port is answered from the port (IPv4 and IPv6), a
 * transaction of the port's client completes on the answer the device hands
 * over, other datagrams still reach the handler registered before, and
 * detach puts that handler back and closes the client. */
#include "check.h"
#include "crypto/primitives.h"
#include "nat/stun_port.h"
#include "tunnel/netlink.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

static struct mg_engine e;
static struct mg_stun_port port;
static struct mg_udp other; /* a host elsewhere */
static uv_loop_t loop;

struct seen {
	unsigned calls;
	size_t len;
};

static void record(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	struct seen *s = ctx;

	(void)from, (void)buf;
	s->calls++;
	s->len = len;
}

static size_t recv_one(int fd, uint8_t *buf, size_t cap, struct mg_endpoint *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t len = sizeof(*from);
	ssize_t n;

	memset(from, 0, sizeof(*from)); /* recvfrom fills the remote part only */
	CHECK(poll(&p, 1, 2000) == 1);
	n = recvfrom(fd, buf, cap, 0, &from->sa, &len);
	CHECK(n >= 0);
	return (size_t)n;
}

static struct mg_endpoint loopback(int family, uint16_t port_nr)
{
	struct mg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	if (family == AF_INET) {
		ep.in4.sin_family = AF_INET;
		ep.in4.sin_port = htons(port_nr);
		ep.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_port = htons(port_nr);
		ep.in6.sin6_addr = in6addr_loopback;
	}
	return ep;
}

/* What arrived on the WireGuard port goes to the device, as the engine
 * would hand it over. */
static void engine_reads(int family)
{
	uint8_t buf[MG_STUN_MAX_SIZE];
	struct mg_endpoint from;
	size_t n = recv_one(family == AF_INET ? e.udp.fd4 : e.udp.fd6, buf, sizeof(buf), &from);

	mg_device_receive(&e.dev, &from, buf, n);
}

static void responder(int family)
{
	struct mg_endpoint to = loopback(family, e.udp.port), from;
	uint8_t req[MG_STUN_REQUEST_SIZE], txid[12], buf[MG_STUN_MAX_SIZE];
	struct mg_stun_message m;
	int fd = family == AF_INET ? other.fd4 : other.fd6;
	size_t n;

	mg_random_bytes(txid, sizeof(txid));
	CHECK_EQ(mg_udp_send(&other, &to, req, mg_stun_build_request(req, txid)), 0);
	engine_reads(family);
	n = recv_one(fd, buf, sizeof(buf), &from);
	CHECK(mg_endpoint_equal(&from, &to)); /* answered from the port itself */
	CHECK_EQ(mg_stun_parse(&m, buf, n), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_SUCCESS);
	CHECK_MEM(m.txid, txid, 12);
	from = loopback(family, other.port);
	CHECK(mg_endpoint_equal(&m.mapped, &from));
}

struct outcome {
	unsigned calls;
	struct mg_stun_result r;
};

static void done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct outcome *o = t->data;

	o->calls++;
	o->r = *r;
}

static void client(void)
{
	struct mg_endpoint server = loopback(AF_INET, other.port), from;
	struct mg_endpoint seen_as = loopback(AF_INET, 40000);
	struct mg_stun_transaction t = { 0 };
	struct outcome o = { 0 };
	struct mg_stun_message m;
	uint8_t buf[MG_STUN_MAX_SIZE];
	size_t n;

	seen_as.in4.sin_addr.s_addr = htonl(0xCB007101); /* 203.0.113.1 */
	t.data = &o;
	CHECK_EQ(mg_stun_client_start(&port.client, &t, &server, done), 0);
	n = recv_one(other.fd4, buf, sizeof(buf), &from);
	server = loopback(AF_INET, e.udp.port);
	CHECK(mg_endpoint_equal(&from, &server)); /* sent from the port */
	CHECK_EQ(mg_stun_parse(&m, buf, n), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_REQUEST);
	n = mg_stun_build_response(buf, m.txid, &seen_as, true);
	CHECK_EQ(mg_udp_send(&other, &from, buf, n), 0);
	engine_reads(AF_INET);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, 0);
	CHECK(mg_endpoint_equal(&o.r.mapped, &seen_as));
	/* The responder did not see the answer as a request. */
	CHECK_EQ(port.server.stats.not_request, 0);
}

static void others_pass_through(struct seen *seen)
{
	struct mg_endpoint to = loopback(AF_INET, e.udp.port);
	static const uint8_t hello[] = "not STUN, not WireGuard";

	CHECK_EQ(mg_udp_send(&other, &to, hello, sizeof(hello)), 0);
	engine_reads(AF_INET);
	CHECK_EQ(seen->calls, 1);
	CHECK_EQ(seen->len, sizeof(hello));
	CHECK_EQ(port.not_stun, 0);
}

int main(void)
{
	static const struct mg_device_ops no_ops; /* the device sends nothing here */
	static const struct mg_stun_schedule fast = { 50, 3, 500 };
	struct seen seen = { 0 };

	enter_netns();
	CHECK(mg_crypto_init() == 0);
	CHECK_EQ(uv_loop_init(&loop), 0);
	e.loop = &loop;
	CHECK_EQ(mg_device_init(&e.dev, &mg_clock_system, &no_ops, NULL), 0);
	CHECK_EQ(mg_udp_open(&e.udp, 0, 0), 0);
	CHECK_EQ(mg_udp_open(&other, 0, 0), 0);
	mg_device_set_other_handler(&e.dev, record, &seen);

	mg_stun_port_detach(&port); /* before attach: nothing to do */
	CHECK_EQ(mg_stun_port_attach(&port, &e, &fast), 0);
	responder(AF_INET);
	responder(AF_INET6);
	CHECK_EQ(port.server.stats.answered, 2);
	client();
	others_pass_through(&seen);

	mg_stun_port_detach(&port);
	mg_stun_port_detach(&port);
	CHECK(e.dev.other_handler == record && e.dev.other_ctx == &seen);
	CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(uv_loop_close(&loop), 0);
	mg_udp_close(&other);
	mg_udp_close(&e.udp);
	mg_device_free(&e.dev);
	mg_test_pass("stun_port");
	return 0;
}
