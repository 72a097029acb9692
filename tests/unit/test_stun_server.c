/* The STUN responder: it answers Binding requests with the source as
 * XOR-MAPPED-ADDRESS (IPv4 and IPv6), with 420 and the list for unknown
 * comprehension-required attributes; it never answers responses,
 * indications, malformed requests, port 0, unspecified, broadcast or
 * multicast sources; each source (IPv4 address, IPv6 /64) gets a burst of
 * MG_RATELIMITER_BURST and then MG_RATELIMITER_PER_SECOND a second, others
 * are unaffected; no answer is larger than MG_STUN_ERROR_MAX. */
#include <errno.h>

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

struct sent {
	unsigned count;
	struct mg_endpoint to;
	uint8_t buf[256];
	size_t len;
};

static int record(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct sent *s = ctx;

	CHECK(len <= MG_STUN_ERROR_MAX);
	s->count++;
	s->to = *to;
	memcpy(s->buf, buf, len);
	s->len = len;
	return 0;
}

static struct mg_endpoint endpoint(const char *str)
{
	struct mg_endpoint ep;
	CHECK(mg_endpoint_parse(&ep, str) == 0);
	return ep;
}

static size_t request(uint8_t out[MG_STUN_REQUEST_SIZE], uint8_t txid[12])
{
	mg_random_bytes(txid, 12);
	return mg_stun_build_request(out, txid);
}

static void answers(struct mg_stun_server *s, struct sent *sent, const char *from_str)
{
	struct mg_endpoint from = endpoint(from_str);
	uint8_t req[MG_STUN_REQUEST_SIZE], txid[12];
	struct mg_stun_message m;
	unsigned before = sent->count;

	CHECK(mg_stun_server_receive(s, &from, req, request(req, txid)));
	CHECK_EQ(sent->count, before + 1);
	CHECK(mg_endpoint_equal(&sent->to, &from));
	CHECK_EQ(mg_stun_parse(&m, sent->buf, sent->len), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_SUCCESS);
	CHECK_MEM(m.txid, txid, 12);
	CHECK_EQ(m.present, MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_FINGERPRINT);
	CHECK(mg_endpoint_equal(&m.mapped, &from));
}

static void answers_both_families(void)
{
	struct mg_stun_server s;
	struct sent sent = { 0 };

	mg_stun_server_init(&s, &clk.clock, record, &sent);
	answers(&s, &sent, "198.51.100.1:51820");
	answers(&s, &sent, "[2001:db8:5::77]:4500");
	CHECK_EQ(s.stats.answered, 2);
}

static void not_requests(void)
{
	static const uint8_t txid[12] = { 9, 9, 9 };
	struct mg_stun_server s;
	struct sent sent = { 0 };
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	uint8_t buf[MG_STUN_ERROR_MAX];
	size_t len;

	mg_stun_server_init(&s, &clk.clock, record, &sent);
	len = mg_stun_build_response(buf, txid, &from);
	CHECK(!mg_stun_server_receive(&s, &from, buf, len));
	len = mg_stun_build_error(buf, txid, 420, NULL, 0);
	CHECK(!mg_stun_server_receive(&s, &from, buf, len));
	mg_stun_build_request(buf, txid);
	buf[1] = 0x11; /* Binding indication */
	CHECK(!mg_stun_server_receive(&s, &from, buf, MG_STUN_REQUEST_SIZE));
	buf[1] = 0x02; /* a request of method 2, not Binding */
	CHECK(!mg_stun_server_receive(&s, &from, buf, MG_STUN_REQUEST_SIZE));
	CHECK(!mg_stun_server_receive(&s, &from, (const uint8_t *)"\x01\0\0\0", 4));
	CHECK_EQ(sent.count, 0);
	CHECK_EQ(s.stats.dropped, 0);
}

static void malformed_and_forbidden(void)
{
	static const char *const forbidden[] = {
		"198.51.100.1:0", "0.0.0.0:3478",   "255.255.255.255:3478",
		"224.0.0.1:3478", "239.1.2.3:3478", "[ff02::1]:3478",
		"[::]:3478",
	};
	struct mg_stun_server s;
	struct sent sent = { 0 };
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	uint8_t req[MG_STUN_REQUEST_SIZE], txid[12];

	mg_stun_server_init(&s, &clk.clock, record, &sent);
	request(req, txid);
	req[MG_STUN_REQUEST_SIZE - 1] ^= 1;
	CHECK(mg_stun_server_receive(&s, &from, req, sizeof(req)));
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		struct mg_endpoint bad = endpoint(forbidden[i]);
		CHECK(mg_stun_server_receive(&s, &bad, req, request(req, txid)));
	}
	CHECK_EQ(sent.count, 0);
	CHECK_EQ(s.stats.dropped, 8);
}

static void unknown_attribute(void)
{
	struct mg_stun_server s;
	struct sent sent = { 0 };
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	struct mg_stun_message m;
	/* A request with one comprehension-required attribute (0x0024,
	 * PRIORITY) and FINGERPRINT. */
	uint8_t req[36] = {
		0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42, 1,    2,    3, 4, 5, 6,
		7,    8,    9,	  10,	11,   12,   0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4
	};
	uint32_t crc = mg_stun_crc32(req, 28) ^ MG_STUN_FINGERPRINT_XOR;

	req[28] = 0x80, req[29] = 0x28, req[31] = 4;
	req[32] = (uint8_t)(crc >> 24), req[33] = (uint8_t)(crc >> 16);
	req[34] = (uint8_t)(crc >> 8), req[35] = (uint8_t)crc;
	mg_stun_server_init(&s, &clk.clock, record, &sent);
	CHECK(mg_stun_server_receive(&s, &from, req, sizeof(req)));
	CHECK_EQ(sent.count, 1);
	CHECK_EQ(s.stats.errors, 1);
	CHECK_EQ(mg_stun_parse(&m, sent.buf, sent.len), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_ERROR);
	CHECK_EQ(m.error_code, 420);
	CHECK_MEM(m.txid, req + 8, 12);
	static const uint8_t list[6] = { 0x00, 0x0a, 0x00, 0x02, 0x00, 0x24 };
	CHECK_MEM(sent.buf + 20 + 28, list, sizeof(list));
}

static void rate_limited(void)
{
	struct mg_stun_server s;
	struct sent sent = { 0 };
	struct mg_endpoint victim = endpoint("198.51.100.9:51820");
	struct mg_endpoint victim_other_port = endpoint("198.51.100.9:1234");
	struct mg_endpoint v6a = endpoint("[2001:db8:7:7::1]:51820");
	struct mg_endpoint v6b = endpoint("[2001:db8:7:7::2]:51820"); /* same /64 */
	uint8_t req[MG_STUN_REQUEST_SIZE], txid[12];
	unsigned answered = 0;

	mg_stun_server_init(&s, &clk.clock, record, &sent);
	/* A flood of 1000 in one instant: only the burst is answered. */
	for (int i = 0; i < 1000; i++) {
		const struct mg_endpoint *from = i & 1 ? &victim : &victim_other_port;
		mg_stun_server_receive(&s, from, req, request(req, txid));
	}
	CHECK_EQ(sent.count, MG_RATELIMITER_BURST);
	CHECK_EQ(s.stats.ratelimited, 1000 - MG_RATELIMITER_BURST);
	/* Another source is not held back by it. */
	answers(&s, &sent, "203.0.113.5:51820");
	/* Then one per 1/PER_SECOND s: a second of flooding at 1 kHz gets
	 * PER_SECOND answers. */
	answered = sent.count;
	for (int ms = 0; ms < 1000; ms++) {
		clk.now += MG_NSEC_PER_MSEC;
		mg_stun_server_receive(&s, &victim, req, request(req, txid));
	}
	CHECK_EQ(sent.count - answered, MG_RATELIMITER_PER_SECOND);
	/* An IPv6 /64 is one source. */
	answered = sent.count;
	for (int i = 0; i < 100; i++)
		mg_stun_server_receive(&s, i & 1 ? &v6a : &v6b, req, request(req, txid));
	CHECK_EQ(sent.count - answered, MG_RATELIMITER_BURST);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	answers_both_families();
	not_requests();
	malformed_and_forbidden();
	unknown_attribute();
	rate_limited();
	mg_test_pass("stun_server");
	return 0;
}
