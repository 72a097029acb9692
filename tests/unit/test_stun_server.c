/* The STUN responder answers only well-formed Binding requests, and only
 * with a Binding success response holding XOR-MAPPED-ADDRESS (plus
 * FINGERPRINT exactly when the request had one): 32 bytes for IPv4, 44 for
 * IPv6, never more than the request plus 24. Everything else gets nothing
 * and is counted under its reason: indications, responses, other methods,
 * requests with unknown comprehension-required attributes (no 420),
 * malformed requests (no 400), forbidden sources, and every request while
 * the responder is off. Datagrams that are not STUN are not its business:
 * refused, counted nowhere. */
#include <errno.h>
#include <stddef.h>

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

/* Each test moves a second on, so per-source budgets are full again. */
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

	CHECK(len <= MG_STUN_SERVER_ANSWER_MAX);
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

static void fresh(struct mg_stun_server *s, struct sent *sent)
{
	clk.now += MG_NSEC_PER_SEC;
	memset(sent, 0, sizeof(*sent));
	mg_stun_server_init(s, &clk.clock, record, sent, NULL);
}

static uint64_t counted(const struct mg_stun_server *s)
{
	const uint64_t *c = (const uint64_t *)&s->stats;
	uint64_t sum = 0;

	for (size_t i = 0; i < sizeof(s->stats) / sizeof(*c); i++)
		sum += c[i];
	return sum;
}

static uint64_t counter(const struct mg_stun_server *s, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)&s->stats + offset, sizeof(v));
	return v;
}

/* A message of type with the raw (padded) attributes, then FINGERPRINT
 * when fingerprint. The header's length is right: mg_stun_is_stun passes. */
static size_t message(uint8_t out[256], uint16_t type, const char *attrs, size_t attrs_len,
		      bool fingerprint)
{
	size_t len = MG_STUN_HEADER_SIZE + attrs_len;
	size_t body = attrs_len + (fingerprint ? MG_STUN_FINGERPRINT_SIZE : 0);

	CHECK(len + MG_STUN_FINGERPRINT_SIZE <= 256 && attrs_len % 4 == 0);
	out[0] = (uint8_t)(type >> 8), out[1] = (uint8_t)type;
	out[2] = (uint8_t)(body >> 8), out[3] = (uint8_t)body;
	out[4] = 0x21, out[5] = 0x12, out[6] = 0xA4, out[7] = 0x42;
	mg_random_bytes(out + 8, MG_STUN_TXID_SIZE);
	memcpy(out + MG_STUN_HEADER_SIZE, attrs, attrs_len);
	if (fingerprint) {
		uint32_t crc = mg_stun_crc32(out, len) ^ MG_STUN_FINGERPRINT_XOR;
		static const uint8_t head[4] = { 0x80, 0x28, 0x00, 0x04 };

		memcpy(out + len, head, 4);
		out[len + 4] = (uint8_t)(crc >> 24), out[len + 5] = (uint8_t)(crc >> 16);
		out[len + 6] = (uint8_t)(crc >> 8), out[len + 7] = (uint8_t)crc;
		len += MG_STUN_FINGERPRINT_SIZE;
	}
	return len;
}

#define ATTRS(s) s, sizeof(s) - 1
#define STAT(f)	 offsetof(struct mg_stun_server_stats, f)

/* PRIORITY (0x0024), USE-CANDIDATE (0x0025): ICE's, comprehension-required
 * and unknown to us. ICE-CONTROLLING (0x802A): comprehension-optional. */
#define PRIORITY      "\x00\x24\x00\x04\x6e\x00\x01\xff"
#define USE_CANDIDATE "\x00\x25\x00\x00"
#define SOFTWARE      "\x80\x22\x00\x05meshg\0\0\0"
#define CONTROLLING   "\x80\x2a\x00\x08\1\2\3\4\5\6\7\x8"
#define USERNAME      "\x00\x06\x00\x04user"
#define INTEGRITY          \
	"\x00\x08\x00\x14" \
	"01234567890123456789"

static const struct row {
	const char *what;
	uint16_t type;
	const char *attrs;
	size_t attrs_len;
	bool fingerprint;
	bool taken;    /* mg_stun_server_receive returns true */
	size_t reason; /* the one counter it lands in */
} rows[] = {
	/* Answered. */
	{ "a bare 20-byte Binding request", 0x0001, ATTRS(""), false, true, STAT(answered) },
	{ "a Binding request with FINGERPRINT", 0x0001, ATTRS(""), true, true, STAT(answered) },
	{ "with SOFTWARE and ICE-CONTROLLING (optional)", 0x0001, ATTRS(SOFTWARE CONTROLLING), true,
	  true, STAT(answered) },
	{ "with USERNAME and MESSAGE-INTEGRITY (not checked)", 0x0001, ATTRS(USERNAME INTEGRITY),
	  false, true, STAT(answered) },
	/* Not requests, or not Binding: never answered. */
	{ "a Binding indication", 0x0011, ATTRS(""), true, false, STAT(not_request) },
	{ "a Binding success response", 0x0101, ATTRS("\x00\x20\x00\x08\x00\x01\x21\x12\1\2\3\4"),
	  true, false, STAT(not_request) },
	{ "a Binding error response", 0x0111, ATTRS("\x00\x09\x00\x04\0\0\x04\x14"), true, false,
	  STAT(not_request) },
	{ "a request of method 2 (Shared Secret)", 0x0002, ATTRS(""), false, false,
	  STAT(not_request) },
	{ "a TURN Allocate request", 0x0003, ATTRS(""), true, false, STAT(not_request) },
	{ "a TURN Allocate request with PRIORITY", 0x0003, ATTRS(PRIORITY), true, false,
	  STAT(not_request) },
	/* Unknown comprehension-required attributes: no 420, nothing. */
	{ "with PRIORITY", 0x0001, ATTRS(PRIORITY), true, true, STAT(unknown_attr) },
	{ "with PRIORITY, no FINGERPRINT", 0x0001, ATTRS(PRIORITY), false, true,
	  STAT(unknown_attr) },
	{ "with USE-CANDIDATE after SOFTWARE", 0x0001, ATTRS(SOFTWARE USE_CANDIDATE), true, true,
	  STAT(unknown_attr) },
	{ "with eight unknown ones", 0x0001,
	  ATTRS("\x00\x30\x00\x00\x00\x31\x00\x00\x00\x32\x00\x00\x00\x33\x00\x00"
		"\x00\x34\x00\x00\x00\x35\x00\x00\x00\x36\x00\x00\x00\x37\x00\x00"),
	  false, true, STAT(unknown_attr) },
	/* Malformed: no 400, nothing. */
	{ "an attribute longer than the message", 0x0001, ATTRS("\x80\x22\x00\x08wxyz"), false,
	  true, STAT(malformed) },
	{ "an attribute header with no room for its value", 0x0001, ATTRS("\x80\x22\x00\x04"),
	  false, true, STAT(malformed) },
	{ "a wrong FINGERPRINT", 0x0001, ATTRS("\x80\x28\x00\x04\0\0\0\0"), false, true,
	  STAT(malformed) },
	{ "FINGERPRINT not last", 0x0001, ATTRS("\x80\x28\x00\x04\0\0\0\0" SOFTWARE), false, true,
	  STAT(malformed) },
	{ "a FINGERPRINT of 8 bytes", 0x0001, ATTRS("\x80\x28\x00\x08\0\0\0\0\0\0\0\0"), false,
	  true, STAT(malformed) },
	{ "an XOR-MAPPED-ADDRESS of family 3", 0x0001,
	  ATTRS("\x00\x20\x00\x08\x00\x03\x21\x12\1\2\3\4"), true, true, STAT(malformed) },
	{ "an ERROR-CODE of class 9", 0x0001, ATTRS("\x00\x09\x00\x04\0\0\x09\x00"), true, true,
	  STAT(malformed) },
};

/* The answer to a request of req_len bytes from `from`: a Binding success
 * response with the txid, from as XOR-MAPPED-ADDRESS and nothing else but a
 * FINGERPRINT when the request had one; 32 or 44 bytes, 8 more with it. */
static void check_answer(const struct sent *sent, const struct mg_endpoint *from,
			 const uint8_t *req, size_t req_len, bool fingerprint)
{
	size_t size = from->sa.sa_family == AF_INET ? 32 : 44;
	struct mg_stun_message m;

	CHECK(mg_endpoint_equal(&sent->to, from));
	CHECK_EQ(sent->len, size + (fingerprint ? MG_STUN_FINGERPRINT_SIZE : 0));
	CHECK(sent->len <= req_len + 24);
	CHECK_EQ(mg_stun_parse(&m, sent->buf, sent->len), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_SUCCESS);
	CHECK_MEM(m.txid, req + 8, MG_STUN_TXID_SIZE);
	CHECK_EQ(m.present, MG_STUN_HAS_XOR_MAPPED | (fingerprint ? MG_STUN_HAS_FINGERPRINT : 0));
	CHECK_EQ(m.unknown_count, 0);
	CHECK(mg_endpoint_equal(&m.mapped, from));
}

static void only_binding_requests(void)
{
	static const char *const sources[] = { "198.51.100.1:51820", "[2001:db8:5::77]:4500" };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		for (size_t k = 0; k < 2; k++) {
			struct mg_endpoint from = endpoint(sources[k]);
			struct mg_stun_server s;
			struct sent sent;
			uint8_t req[256];
			size_t len;

			fresh(&s, &sent);
			len = message(req, r->type, r->attrs, r->attrs_len, r->fingerprint);
			CHECK(mg_stun_is_stun(req, len));
			if (mg_stun_server_receive(&s, &from, req, len) != r->taken ||
			    counter(&s, r->reason) != 1 || counted(&s) != 1) {
				fprintf(stderr, "%s from %s: not taken/counted as expected\n",
					r->what, sources[k]);
				CHECK(0);
			}
			if (r->reason != STAT(answered)) {
				CHECK_EQ(sent.count, 0);
				continue;
			}
			CHECK_EQ(sent.count, 1);
			check_answer(&sent, &from, req, len, r->fingerprint);
		}
	}
}

/* Datagrams that are not STUN are not the responder's: false, no counter. */
static void not_stun(void)
{
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	struct mg_stun_server s;
	struct sent sent;
	uint8_t req[256];
	size_t len;

	fresh(&s, &sent);
	len = message(req, 0x0001, ATTRS(""), true);
	req[4] ^= 1; /* the cookie */
	CHECK(!mg_stun_server_receive(&s, &from, req, len));
	req[4] ^= 1;
	CHECK(!mg_stun_server_receive(&s, &from, req, len - 4)); /* length mismatch */
	req[0] = 0x40;
	CHECK(!mg_stun_server_receive(&s, &from, req, len)); /* top bits */
	CHECK(!mg_stun_server_receive(&s, &from, (const uint8_t *)"\x01\0\0\0", 4));
	CHECK_EQ(sent.count, 0);
	CHECK_EQ(counted(&s), 0);
}

static void forbidden_sources(void)
{
	static const char *const forbidden[] = {
		"198.51.100.1:0", "0.0.0.0:3478",    "255.255.255.255:3478",
		"224.0.0.1:3478", "239.1.2.3:3478",  "[ff02::1]:3478",
		"[::]:3478",	  "[2001:db8::1]:0",
	};
	struct mg_stun_server s;
	struct sent sent;
	uint8_t req[256];
	size_t len = message(req, 0x0001, ATTRS(""), true);

	fresh(&s, &sent);
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		struct mg_endpoint bad = endpoint(forbidden[i]);
		CHECK(mg_stun_server_receive(&s, &bad, req, len));
	}
	CHECK_EQ(sent.count, 0);
	CHECK_EQ(s.stats.forbidden, sizeof(forbidden) / sizeof(forbidden[0]));
	CHECK_EQ(counted(&s), s.stats.forbidden);
}

/* Off: nothing at all is answered, every Binding request is counted; on
 * again, answers resume. */
static void turned_off(void)
{
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	struct mg_stun_server s;
	struct sent sent;
	uint8_t req[256];
	size_t len;

	fresh(&s, &sent);
	mg_stun_server_enable(&s, false);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = message(req, rows[i].type, rows[i].attrs, rows[i].attrs_len,
			      rows[i].fingerprint);
		CHECK_EQ(mg_stun_server_receive(&s, &from, req, len), rows[i].taken);
	}
	CHECK_EQ(sent.count, 0);
	CHECK_EQ(s.stats.answered, 0);
	CHECK(s.stats.off > 0);
	CHECK_EQ(s.stats.off + s.stats.not_request, sizeof(rows) / sizeof(rows[0]));
	mg_stun_server_enable(&s, true);
	len = message(req, 0x0001, ATTRS(""), false);
	CHECK(mg_stun_server_receive(&s, &from, req, len));
	CHECK_EQ(sent.count, 1);
	check_answer(&sent, &from, req, len, false);
}

/* The sender's callback failing is counted, and nothing else happens. */
static int refuse_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)to, (void)buf, (void)len;
	return -ENOBUFS;
}

static void send_failure(void)
{
	struct mg_endpoint from = endpoint("198.51.100.1:51820");
	struct mg_stun_server s;
	uint8_t req[256];
	size_t len = message(req, 0x0001, ATTRS(""), false);

	mg_stun_server_init(&s, &clk.clock, refuse_send, NULL, NULL);
	CHECK(mg_stun_server_receive(&s, &from, req, len));
	CHECK_EQ(s.stats.send_failed, 1);
	CHECK_EQ(counted(&s), 1);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	only_binding_requests();
	not_stun();
	forbidden_sources();
	turned_off();
	send_failure();
	mg_test_pass("stun_server");
	return 0;
}
