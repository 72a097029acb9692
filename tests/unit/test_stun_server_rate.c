/* The STUN responder's two rates, on a fake clock. Per source (IPv4
 * address, IPv6 /64): a burst of MG_RATELIMITER_BURST, then
 * MG_RATELIMITER_PER_SECOND a second, other sources unaffected. Globally:
 * a flood from tens of thousands of source addresses, each within its own
 * budget, gets the global burst at once and then the global rate, however
 * many sources there are; the limits are set at init; requests refused for
 * another reason (a source over its budget, an unknown attribute) spend no
 * global credit. */
#include "check.h"
#include "crypto/primitives.h"
#include "nat/stun_server.h"
#include "util/time.h"

struct fake_clock {
	struct mg_clock clock;
	uint64_t now;
};

static uint64_t fake_now(const struct mg_clock *c)
{
	return ((const struct fake_clock *)c)->now;
}

static struct fake_clock clk = { .clock.monotonic_ns = fake_now, .now = 5 * MG_NSEC_PER_SEC };

static unsigned sent;

static int count(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)to, (void)buf;
	CHECK(len <= MG_STUN_SERVER_ANSWER_MAX);
	sent++;
	return 0;
}

static struct mg_endpoint endpoint(const char *str)
{
	struct mg_endpoint ep;
	CHECK(mg_endpoint_parse(&ep, str) == 0);
	return ep;
}

/* Source number i: 10.0.0.0/8 plus i, a port of its own. */
static struct mg_endpoint source(uint32_t i)
{
	struct mg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons((uint16_t)(1024 + i % 60000));
	ep.in4.sin_addr.s_addr = htonl(0x0A000000 + i);
	return ep;
}

static bool ask(struct mg_stun_server *s, const struct mg_endpoint *from)
{
	uint8_t req[MG_STUN_REQUEST_SIZE], txid[12];
	unsigned before = sent;

	mg_random_bytes(txid, sizeof(txid));
	CHECK(mg_stun_server_receive(s, from, req, mg_stun_build_request(req, txid)));
	return sent == before + 1;
}

static void per_source(void)
{
	struct mg_stun_server s;
	struct mg_endpoint victim = endpoint("198.51.100.9:51820");
	struct mg_endpoint victim_other_port = endpoint("198.51.100.9:1234");
	struct mg_endpoint v6a = endpoint("[2001:db8:7:7::1]:51820");
	struct mg_endpoint v6b = endpoint("[2001:db8:7:7::2]:51820"); /* same /64 */
	struct mg_endpoint other = endpoint("203.0.113.5:51820");
	unsigned answered = 0;

	mg_stun_server_init(&s, &clk.clock, count, NULL, NULL);
	/* A flood of 1000 in one instant: only the burst is answered. */
	for (int i = 0; i < 1000; i++)
		answered += ask(&s, i & 1 ? &victim : &victim_other_port);
	CHECK_EQ(answered, MG_RATELIMITER_BURST);
	CHECK_EQ(s.stats.source_limited, 1000 - MG_RATELIMITER_BURST);
	CHECK_EQ(s.stats.global_limited, 0);
	/* Another source is not held back by it. */
	CHECK(ask(&s, &other));
	/* Then one per 1/PER_SECOND s: a second of flooding at 1 kHz gets
	 * PER_SECOND answers. */
	answered = 0;
	for (int ms = 0; ms < 1000; ms++) {
		clk.now += MG_NSEC_PER_MSEC;
		answered += ask(&s, &victim);
	}
	CHECK_EQ(answered, MG_RATELIMITER_PER_SECOND);
	/* An IPv6 /64 is one source. */
	answered = 0;
	for (int i = 0; i < 100; i++)
		answered += ask(&s, i & 1 ? &v6a : &v6b);
	CHECK_EQ(answered, MG_RATELIMITER_BURST);
	CHECK_EQ(s.stats.global_limited, 0);
}

/* 50,000 sources at once, then 40,000 requests a second for 2 s from
 * sources that each ask once: the burst, then the rate, to the request. */
static void global_rate(void)
{
	struct mg_stun_server s;
	unsigned answered = 0;
	uint32_t next = 0;

	clk.now += 10 * MG_NSEC_PER_SEC;
	mg_stun_server_init(&s, &clk.clock, count, NULL, NULL);
	for (int i = 0; i < 50000; i++) {
		struct mg_endpoint from = source(next++);
		answered += ask(&s, &from);
	}
	CHECK_EQ(answered, MG_STUN_SERVER_BURST);
	/* The per-source table holds MG_RATELIMITER_SLOTS sources: those with
	 * an entry pass it and are refused by the global bucket, the rest
	 * share the overflow bucket and are refused per source. */
	CHECK_EQ(s.stats.answered + s.stats.source_limited + s.stats.global_limited, 50000);
	CHECK(s.stats.global_limited > MG_RATELIMITER_SLOTS * 3 / 4 - MG_STUN_SERVER_BURST);
	CHECK(s.stats.source_limited >= 50000 - MG_RATELIMITER_SLOTS - MG_RATELIMITER_BURST);
	answered = 0;
	for (int us = 0; us < 2000000; us += 25) {
		struct mg_endpoint from = source(next++);

		clk.now += 25000;
		answered += ask(&s, &from);
	}
	/* The rate exactly, but for a request refused per source at the very
	 * end, whose credit would go to the next one. */
	CHECK(answered <= 2 * MG_STUN_SERVER_RATE && answered >= 2 * MG_STUN_SERVER_RATE - 1);
	/* A quiet second refills the bucket to the burst, no more. */
	clk.now += 3 * MG_NSEC_PER_SEC;
	answered = 0;
	for (int i = 0; i < 5000; i++) {
		struct mg_endpoint from = source(next++);
		answered += ask(&s, &from);
	}
	CHECK_EQ(answered, MG_STUN_SERVER_BURST);
}

/* Limits set at init: 10 a second, a burst of 3. */
static void configured(void)
{
	static const struct mg_stun_server_limits limits = { .per_second = 10, .burst = 3 };
	struct mg_stun_server s;
	unsigned answered = 0;

	clk.now += 10 * MG_NSEC_PER_SEC;
	mg_stun_server_init(&s, &clk.clock, count, NULL, &limits);
	for (uint32_t i = 0; i < 100; i++) {
		struct mg_endpoint from = source(i);
		answered += ask(&s, &from);
	}
	CHECK_EQ(answered, 3);
	answered = 0;
	for (uint32_t ms = 0; ms < 1000; ms++) {
		struct mg_endpoint from = source(1000 + ms);

		clk.now += MG_NSEC_PER_MSEC;
		answered += ask(&s, &from);
	}
	CHECK_EQ(answered, 10);
}

/* A source over its budget and requests with unknown attributes do not
 * spend the global bucket: its credit is what the answers took. */
static void refused_spend_nothing(void)
{
	/* A Binding request with PRIORITY (0x0024), and no FINGERPRINT. */
	static const uint8_t unknown[28] = { 0x00, 0x01, 0x00,	      0x08, 0x21, 0x12,
					     0xa4, 0x42, [20] = 0x00, 0x24, 0x00, 0x04 };
	struct mg_endpoint loud = endpoint("198.51.100.77:3478");
	struct mg_stun_server s;
	unsigned answered = 0;

	clk.now += 10 * MG_NSEC_PER_SEC;
	mg_stun_server_init(&s, &clk.clock, count, NULL, NULL);
	for (int i = 0; i < 20000; i++)
		answered += ask(&s, &loud);
	CHECK_EQ(answered, MG_RATELIMITER_BURST);
	for (uint32_t i = 0; i < 20000; i++) {
		struct mg_endpoint from = source(i);
		CHECK(mg_stun_server_receive(&s, &from, unknown, sizeof(unknown)));
	}
	CHECK_EQ(s.stats.unknown_attr, 20000);
	CHECK_EQ(s.stats.source_limited, 20000 - MG_RATELIMITER_BURST);
	CHECK_EQ(s.stats.global_limited, 0);
	CHECK_EQ(s.tokens, s.tokens_max - MG_RATELIMITER_BURST * s.cost_ns);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	per_source();
	global_rate();
	configured();
	refused_spend_nothing();
	mg_test_pass("stun_server_rate");
	return 0;
}
