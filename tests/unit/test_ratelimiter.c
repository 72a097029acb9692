/* The per-source token bucket for handshakes under load (ratelimiter.h):
 * MG_RATELIMITER_BURST at once, then one per 1/MG_RATELIMITER_PER_SECOND s;
 * an IPv4 address or an IPv6 /64 is one source, keyed exactly: unrelated
 * sources never share a bucket, even those whose hash picks the same slot;
 * a source that used up its budget stays limited however many other sources
 * arrive at the same instant; when the table is full, new sources share one
 * overflow bucket; idle entries are reused once they could have refilled. */
#include "check.h"
#include "crypto/primitives.h"
#include "util/ipaddr.h"
#include "tunnel/messages.h"
#include "tunnel/ratelimiter.h"

#define COST_NS (MG_NSEC_PER_SEC / MG_RATELIMITER_PER_SECOND)

static struct mg_ratelimiter r;

static struct mg_endpoint ep(const char *s)
{
	struct mg_endpoint e;

	CHECK(mg_endpoint_parse(&e, s) == 0);
	return e;
}

/* How many of n back-to-back packets from src at `now` are allowed. */
static unsigned allowed(const struct mg_endpoint *src, unsigned n, uint64_t now)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		k += mg_ratelimiter_allow(&r, src, now);
	return k;
}

static void burst_and_refill(const char *s)
{
	struct mg_endpoint a = ep(s);
	uint64_t t = 1000 * MG_NSEC_PER_SEC;

	CHECK_EQ(allowed(&a, 10, t), MG_RATELIMITER_BURST);
	CHECK_EQ(allowed(&a, 1, t + COST_NS - 1), 0);
	CHECK_EQ(allowed(&a, 2, t + COST_NS), 1);
	/* A second of silence refills the burst, and no more. */
	CHECK_EQ(allowed(&a, 10, t + 10 * MG_NSEC_PER_SEC), MG_RATELIMITER_BURST);
	/* Steady 20 per second get through, 40 per second half of them. */
	t += 20 * MG_NSEC_PER_SEC;
	CHECK_EQ(allowed(&a, 10, t), MG_RATELIMITER_BURST);
	unsigned got = 0;
	for (int i = 1; i <= 400; i++)
		got += allowed(&a, 1, t + (uint64_t)i * COST_NS / 2);
	CHECK_EQ(got, 200);
}

/* Ports do not matter; an IPv6 /64 is one source. */
static void what_a_source_is(void)
{
	uint64_t t = 2000 * MG_NSEC_PER_SEC;
	struct mg_endpoint a1 = ep("192.0.2.7:1000"), a2 = ep("192.0.2.7:2000");
	struct mg_endpoint b = ep("192.0.2.8:1000");
	struct mg_endpoint c1 = ep("[2001:db8:1:2::1]:1000"), c2 = ep("[2001:db8:1:2:ffff::9]:7");
	struct mg_endpoint d = ep("[2001:db8:1:3::1]:1000");

	CHECK_EQ(allowed(&a1, 3, t), 3);
	CHECK_EQ(allowed(&a2, 10, t), MG_RATELIMITER_BURST - 3);
	CHECK_EQ(allowed(&b, 10, t), MG_RATELIMITER_BURST);
	CHECK_EQ(allowed(&c1, 3, t), 3);
	CHECK_EQ(allowed(&c2, 10, t), MG_RATELIMITER_BURST - 3);
	CHECK_EQ(allowed(&d, 10, t), MG_RATELIMITER_BURST);
}

/* A drained source stays limited while 100000 other sources each send one
 * packet at the same instant (several of them hash to its slot, and they
 * fill the table). */
static void others_do_not_refill(void)
{
	uint64_t t = 3000 * MG_NSEC_PER_SEC;
	struct mg_endpoint a = ep("198.51.100.1:51820"), other;
	unsigned leaks = 0;

	CHECK_EQ(allowed(&a, 10, t), MG_RATELIMITER_BURST);
	memset(&other, 0, sizeof(other));
	other.in4.sin_family = AF_INET;
	other.in4.sin_port = htons(51820);
	for (uint32_t i = 0; i < 100000; i++) {
		other.in4.sin_addr.s_addr = htonl(0x0a000000 + i); /* 10.0.0.0/8 */
		(void)mg_ratelimiter_allow(&r, &other, t);
		leaks += mg_ratelimiter_allow(&r, &a, t);
	}
	if (leaks) {
		fprintf(stderr,
			"a source that used up its burst got %u more packets through at the same "
			"instant, each time another source took its slot of the table\n",
			leaks);
		exit(1);
	}
}

static struct mg_endpoint v4(uint32_t a)
{
	struct mg_endpoint e;

	memset(&e, 0, sizeof(e));
	e.in4.sin_family = AF_INET;
	e.in4.sin_port = htons(51820);
	e.in4.sin_addr.s_addr = htonl(a);
	return e;
}

static struct mg_endpoint v6(uint64_t prefix, uint64_t host)
{
	struct mg_endpoint e;

	memset(&e, 0, sizeof(e));
	e.in6.sin6_family = AF_INET6;
	e.in6.sin6_port = htons(51820);
	for (int i = 0; i < 8; i++) {
		e.in6.sin6_addr.s6_addr[i] = (uint8_t)(prefix >> (56 - 8 * i));
		e.in6.sin6_addr.s6_addr[8 + i] = (uint8_t)(host >> (56 - 8 * i));
	}
	return e;
}

/* 2000 IPv4 sources and 2000 IPv6 /64s, with their second addresses: each
 * gets exactly its own burst. A quarter of the table: about 500 pairs of them
 * start at the same slot, which a hashed table would have merged. */
static void unrelated_never_share(void)
{
	uint64_t t = 4000 * MG_NSEC_PER_SEC;

	mg_ratelimiter_init(&r);
	for (uint32_t i = 0; i < 2000; i++) {
		struct mg_endpoint a = v4(0xc6120000 + i * 7919);
		struct mg_endpoint b = v6(0x20010db800000000 + i, 1),
				   b2 = v6(0x20010db800000000 + i, i);

		CHECK_EQ(allowed(&a, 3, t), 3);
		CHECK_EQ(allowed(&b, 3, t), 3);
		CHECK_EQ(allowed(&b2, 10, t), MG_RATELIMITER_BURST - 3);
	}
	for (uint32_t i = 0; i < 2000; i++) {
		struct mg_endpoint a = v4(0xc6120000 + i * 7919);
		CHECK_EQ(allowed(&a, 10, t), MG_RATELIMITER_BURST - 3);
	}
}

static unsigned occupied(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < MG_RATELIMITER_SLOTS; i++)
		n += r.slots[i].family != 0;
	return n;
}

/* 30000 sources at one instant: those that found room got a full burst
 * each, all the others together at most one burst (the overflow bucket);
 * the table never grows. 250 ms later every entry may be reused. */
static void table_full(void)
{
	uint64_t t = 5000 * MG_NSEC_PER_SEC;
	unsigned got = 0, own;

	mg_ratelimiter_init(&r);
	for (uint32_t i = 0; i < 30000; i++) {
		struct mg_endpoint a = v4(0x0b000000 + i);
		got += allowed(&a, 10, t);
	}
	own = occupied();
	CHECK(own > MG_RATELIMITER_SLOTS * 9 / 10);
	CHECK(got >= own * MG_RATELIMITER_BURST);
	CHECK(got <= own * MG_RATELIMITER_BURST + MG_RATELIMITER_BURST);
	/* Full: more new sources get nothing (the overflow bucket is spent),
	 * and a source with an entry keeps its own budget. */
	struct mg_endpoint late = v6(0x20010db8ffff0000, 1);
	CHECK_EQ(allowed(&late, 10, t), 0);
	t += MG_NSEC_PER_SEC / MG_RATELIMITER_PER_SECOND * MG_RATELIMITER_BURST;
	CHECK_EQ(allowed(&late, 10, t), MG_RATELIMITER_BURST);
	CHECK(occupied() == own);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	mg_ratelimiter_init(&r);
	/* A fixed key: the same layout on every run. */
	for (size_t i = 0; i < sizeof(r.hash_key); i++)
		r.hash_key[i] = (uint8_t)(0x5a + 7 * i);
	burst_and_refill("192.0.2.1:51820");
	burst_and_refill("[2001:db8::1]:51820");
	what_a_source_is();
	others_do_not_refill();
	unrelated_never_share();
	table_full();
	mg_test_pass("ratelimiter");
	return 0;
}
