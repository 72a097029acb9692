/* The STUN client against a responder (the real mg_stun_server) behind a
 * fake network that loses what it is told to and answers 5 ms after a
 * request, all on a fake clock: the test jumps to the next answer or client
 * deadline and runs it (mg_stun_client_tick), so every time is exact and no
 * check depends on how busy the machine is. Answered at once; answered
 * after lost requests (retransmission times RTO, 2 RTO, ...); never
 * answered (timeout, exact number of sends); error and address-less
 * responses; foreign and forged datagrams ignored; concurrent transactions
 * matched by id; cancel; close; a failing send. */
#include <errno.h>

#include "check.h"
#include "crypto/primitives.h"
#include "nat/stun_client.h"
#include "nat/stun_server.h"
#include "util/time.h"

#define MAX_SENDS	16
#define T0		(1000 * MG_NSEC_PER_SEC)
#define ANSWER_DELAY_NS (5 * MG_NSEC_PER_MSEC)

struct fake_clock {
	struct mg_clock clock;
	uint64_t now;
};

static uint64_t fake_now(const struct mg_clock *c)
{
	return ((const struct fake_clock *)c)->now;
}

struct net {
	uv_loop_t loop; /* for the client's handle; never run but to close it */
	struct fake_clock clk;
	struct mg_stun_client client;
	struct mg_stun_server server;
	struct mg_endpoint us;
	/* What the client sent, and when (ms since the test began). */
	unsigned sends;
	uint64_t sent_ms[MAX_SENDS];
	unsigned drop_first; /* requests lost before one gets through */
	int send_error;	     /* the send callback's result */
	/* The answer in flight to the client, and when it arrives. */
	bool pending;
	uint64_t arrives;
	struct mg_endpoint answer_from;
	uint8_t answer[MG_STUN_ERROR_MAX];
	size_t answer_len;
};

static uint64_t now_ms(const struct net *n)
{
	return (n->clk.now - T0) / MG_NSEC_PER_MSEC;
}

/* The responder's send: the answer reaches the client ANSWER_DELAY_NS
 * later. */
static int server_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct net *n = ctx;

	CHECK(mg_endpoint_equal(to, &n->us));
	CHECK(len <= sizeof(n->answer));
	memcpy(n->answer, buf, len);
	n->answer_len = len;
	n->pending = true;
	return 0;
}

static void deliver(struct net *n)
{
	n->pending = false;
	CHECK(mg_stun_client_receive(&n->client, &n->answer_from, n->answer, n->answer_len));
}

/* The event loop on the fake clock: moves it to whichever comes first, the
 * answer in flight or the client's next deadline, and runs that; returns
 * when neither is left. */
static void run(struct net *n)
{
	for (int steps = 0; steps < 1000; steps++) {
		uint64_t due = mg_stun_client_tick(&n->client);

		if (n->pending && (!due || n->arrives <= due)) {
			n->clk.now = n->arrives;
			deliver(n);
		} else if (due) {
			CHECK(due > n->clk.now);
			n->clk.now = due;
		} else {
			return;
		}
	}
	CHECK(!"the client never went idle");
}

static int client_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct net *n = ctx;

	CHECK(n->sends < MAX_SENDS);
	n->sent_ms[n->sends++] = now_ms(n);
	if (n->send_error)
		return n->send_error;
	if (n->sends <= n->drop_first)
		return 0;
	n->answer_from = *to;
	CHECK(mg_stun_server_receive(&n->server, &n->us, buf, len));
	if (n->pending)
		n->arrives = n->clk.now + ANSWER_DELAY_NS;
	return 0;
}

static struct mg_endpoint endpoint(const char *s)
{
	struct mg_endpoint ep;
	CHECK(mg_endpoint_parse(&ep, s) == 0);
	return ep;
}

static void net_init(struct net *n, const struct mg_stun_schedule *s)
{
	memset(n, 0, sizeof(*n));
	n->clk.clock.monotonic_ns = fake_now;
	n->clk.now = T0;
	CHECK(uv_loop_init(&n->loop) == 0);
	n->us = endpoint("10.0.0.2:51820");
	CHECK(mg_stun_client_init(&n->client, &n->loop, &n->clk.clock, client_send, n, s) == 0);
	mg_stun_server_init(&n->server, &n->clk.clock, server_send, n, NULL);
}

static void net_close(struct net *n)
{
	mg_stun_client_close(&n->client, NULL);
	CHECK(uv_run(&n->loop, UV_RUN_DEFAULT) == 0);
	CHECK(uv_loop_close(&n->loop) == 0);
}

struct outcome {
	unsigned calls;
	struct mg_stun_result r;
	uint64_t at_ms;
	struct net *net;
};

static void done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct outcome *o = t->data;

	o->calls++;
	o->r = *r;
	o->at_ms = now_ms(o->net);
}

static void start(struct net *n, struct mg_stun_transaction *t, struct outcome *o,
		  const char *server)
{
	struct mg_endpoint ep = endpoint(server);

	memset(o, 0, sizeof(*o));
	o->net = n;
	t->data = o;
	CHECK(mg_stun_client_start(&n->client, t, &ep, done) == 0);
}

static const struct mg_stun_schedule fast = { .rto_ms = 40, .max_sends = 4, .timeout_ms = 600 };

static void answered_at_once(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;
	char s[MG_ENDPOINT_STRLEN];

	net_init(&n, &fast);
	start(&n, &t, &o, "203.0.113.10:3478");
	run(&n);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, 0);
	CHECK_EQ(o.r.sends, 1);
	CHECK_EQ(n.sends, 1);
	mg_endpoint_format(s, sizeof(s), &o.r.mapped);
	CHECK(!strcmp(s, "10.0.0.2:51820"));
	mg_endpoint_format(s, sizeof(s), &o.r.server);
	CHECK(!strcmp(s, "203.0.113.10:3478"));
	CHECK_EQ(o.r.rtt_ns, ANSWER_DELAY_NS);
	CHECK_EQ(o.at_ms, 5);
	CHECK_EQ(n.server.stats.answered, 1);
	net_close(&n);
}

/* Sends at 0, RTO, 3 RTO: the third is answered. */
static void answered_after_losses(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;

	net_init(&n, &fast);
	n.drop_first = 2;
	start(&n, &t, &o, "203.0.113.10:3478");
	run(&n);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, 0);
	CHECK_EQ(o.r.sends, 3);
	CHECK_EQ(n.sent_ms[0], 0);
	CHECK_EQ(n.sent_ms[1], 40);
	CHECK_EQ(n.sent_ms[2], 120);
	/* RTT from the last send, not the first. */
	CHECK_EQ(o.r.rtt_ns, ANSWER_DELAY_NS);
	CHECK_EQ(o.at_ms, 125);
	net_close(&n);
}

/* max_sends requests, then silence until timeout_ms. */
static void never_answered(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;

	net_init(&n, &fast);
	n.drop_first = 100;
	start(&n, &t, &o, "203.0.113.10:3478");
	run(&n);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, -ETIMEDOUT);
	CHECK_EQ(o.r.sends, 4);
	CHECK_EQ(n.sends, 4);
	CHECK_EQ(n.sent_ms[1], 40);
	CHECK_EQ(n.sent_ms[2], 120);
	CHECK_EQ(n.sent_ms[3], 280); /* 40 + 80 + 160 */
	CHECK_EQ(o.at_ms, 600);
	net_close(&n);
}

static void error_and_addressless_answers(void)
{
	static const uint16_t unknown[1] = { 0x7777 };
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;
	uint8_t buf[MG_STUN_ERROR_MAX];
	struct mg_endpoint from = endpoint("203.0.113.10:3478");

	net_init(&n, &fast);
	n.drop_first = 100;
	start(&n, &t, &o, "203.0.113.10:3478");
	size_t len = mg_stun_build_error(buf, t.request + 8, 420, unknown, 1);
	CHECK(mg_stun_client_receive(&n.client, &from, buf, len));
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, -EPROTO);
	CHECK_EQ(o.r.error_code, 420);

	start(&n, &t, &o, "203.0.113.10:3478");
	/* A success response with no attribute but FINGERPRINT: turn our own
	 * request into one. */
	memcpy(buf, t.request, MG_STUN_REQUEST_SIZE);
	buf[0] = 0x01;
	uint32_t crc = mg_stun_crc32(buf, 20) ^ MG_STUN_FINGERPRINT_XOR;
	buf[24] = (uint8_t)(crc >> 24), buf[25] = (uint8_t)(crc >> 16);
	buf[26] = (uint8_t)(crc >> 8), buf[27] = (uint8_t)crc;
	CHECK(mg_stun_client_receive(&n.client, &from, buf, MG_STUN_REQUEST_SIZE));
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, -EBADMSG);
	run(&n);
	net_close(&n);
}

/* Answers to no transaction of ours, requests, corrupted answers: all
 * refused, and the transaction still completes on the real answer. */
static void foreign_datagrams_ignored(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;
	uint8_t buf[MG_STUN_RESPONSE_MAX], other[12];
	struct mg_endpoint from = endpoint("203.0.113.10:3478");
	size_t len;

	net_init(&n, &fast);
	n.drop_first = 1;
	start(&n, &t, &o, "203.0.113.10:3478");
	mg_random_bytes(other, sizeof(other));
	len = mg_stun_build_response(buf, other, &from, true);
	CHECK(!mg_stun_client_receive(&n.client, &from, buf, len));
	len = mg_stun_build_response(buf, t.request + 8, &from, true);
	buf[len - 1] ^= 1; /* FINGERPRINT */
	CHECK(!mg_stun_client_receive(&n.client, &from, buf, len));
	CHECK(!mg_stun_client_receive(&n.client, &from, t.request, MG_STUN_REQUEST_SIZE));
	CHECK(!mg_stun_client_receive(&n.client, &from, buf, 3));
	CHECK_EQ(o.calls, 0);
	run(&n);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, 0);
	CHECK_EQ(o.r.sends, 2);
	CHECK_EQ(o.at_ms, 45);
	net_close(&n);
}

/* Three at once, each answered by its own id; one cancelled: no call. */
static void concurrent_and_cancel(void)
{
	struct net n;
	struct mg_stun_transaction t[3];
	struct outcome o[3];
	uint8_t buf[MG_STUN_RESPONSE_MAX];
	struct mg_endpoint mapped = endpoint("198.51.100.7:40000");

	net_init(&n, &fast);
	n.drop_first = 100;
	start(&n, &t[0], &o[0], "203.0.113.10:3478");
	start(&n, &t[1], &o[1], "203.0.113.20:3478");
	start(&n, &t[2], &o[2], "[2001:db8::1]:3478");
	mg_stun_client_cancel(&t[1]);
	mg_stun_client_cancel(&t[1]); /* twice is harmless */
	size_t len = mg_stun_build_response(buf, t[2].request + 8, &mapped, true);
	CHECK(mg_stun_client_receive(&n.client, &t[2].server, buf, len));
	CHECK(!mg_stun_client_receive(&n.client, &t[2].server, buf, len)); /* done already */
	len = mg_stun_build_response(buf, t[1].request + 8, &mapped, true);
	CHECK(!mg_stun_client_receive(&n.client, &t[1].server, buf, len)); /* cancelled */
	CHECK_EQ(o[2].calls, 1);
	CHECK(mg_endpoint_equal(&o[2].r.mapped, &mapped));
	CHECK_EQ(o[0].calls, 0);
	run(&n);
	CHECK_EQ(o[0].calls, 1);
	CHECK_EQ(o[0].r.status, -ETIMEDOUT);
	CHECK_EQ(o[0].at_ms, 600);
	CHECK_EQ(o[1].calls, 0);
	net_close(&n);
}

static void closed_client_cancels(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o;
	struct mg_endpoint ep = endpoint("203.0.113.10:3478");

	net_init(&n, &fast);
	n.drop_first = 100;
	start(&n, &t, &o, "203.0.113.10:3478");
	net_close(&n);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(o.r.status, -ECANCELED);
	CHECK_EQ(mg_stun_client_start(&n.client, &t, &ep, done), -ECANCELED);
}

/* The first send's error is returned and the callback never runs. */
static void failing_send(void)
{
	struct net n;
	struct mg_stun_transaction t;
	struct outcome o = { 0 };
	struct mg_endpoint ep = endpoint("203.0.113.10:3478");
	struct mg_stun_schedule bad = fast;

	net_init(&n, &fast);
	n.send_error = -ENETUNREACH;
	o.net = &n;
	t.data = &o;
	CHECK_EQ(mg_stun_client_start(&n.client, &t, &ep, done), -ENETUNREACH);
	run(&n);
	CHECK_EQ(o.calls, 0);
	net_close(&n);

	bad.max_sends = 0;
	CHECK(uv_loop_init(&n.loop) == 0);
	CHECK_EQ(mg_stun_client_init(&n.client, &n.loop, &n.clk.clock, client_send, &n, &bad),
		 -EINVAL);
	CHECK(uv_loop_close(&n.loop) == 0);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	answered_at_once();
	answered_after_losses();
	never_answered();
	error_and_addressless_answers();
	foreign_datagrams_ignored();
	concurrent_and_cancel();
	closed_client_cancels();
	failing_send();
	mg_test_pass("stun_client");
	return 0;
}
