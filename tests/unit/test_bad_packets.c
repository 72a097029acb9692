/* Malformed and hostile datagrams: real captured messages of every type,
 * truncated, oversized, retyped, with nonzero reserved bytes, randomised,
 * and with each of their bits flipped in turn; replays; decrypted payloads
 * that are no IP packet. Each is dropped and counted in exactly one field of
 * dev.stats, the one its defect calls for, sends nothing and delivers
 * nothing; the session works afterwards. Datagrams that are not WireGuard
 * (STUN) go to the handler of mg_device_set_other_handler and count as no
 * error. Run against the session's initiator and its responder. */
#include <stddef.h>

#include "wire_extra.h"

#define NSTATS	   (sizeof(struct mg_device_stats) / sizeof(uint64_t))
#define FIELD(f)   (offsetof(struct mg_device_stats, f) / sizeof(uint64_t))
#define NOT_WG	   FIELD(rx_not_wireguard)
#define INIT_MACS  116
#define RESP_MACS  60
#define INIT_MAC2  132
#define RESP_MAC2  76
#define DATA_BYTES 100

static struct wire w;
static int v, u; /* the victim and its peer on the wire */

static const char *const field_names[NSTATS] = {
	"rx_invalid",	     "rx_bad_mac1",	   "rx_handshake_failed", "rx_cookie_sent",
	"rx_ratelimited",    "rx_bad_cookie",	   "rx_unknown_index",	  "rx_expired_key",
	"rx_decrypt_failed", "rx_replayed",	   "rx_bad_ip",		  "rx_not_allowed",
	"rx_filtered",	     "rx_not_wireguard",   "tx_no_route",	  "tx_no_endpoint",
	"tx_bad_packet",     "tx_staged_overflow", "tx_encrypt_failed",	  "handshakes_completed",
};
_Static_assert(NSTATS == 20, "name every field of struct mg_device_stats");

static void snapshot(uint64_t out[NSTATS])
{
	memcpy(out, &w.nodes[v].dev.stats, sizeof(struct mg_device_stats));
}

/* Delivers buf to the victim from its peer's address and checks that
 * exactly `field` went up by one, nothing was delivered and nothing sent. */
static void expect_drop(const char *what, const uint8_t *buf, size_t len, size_t field)
{
	uint64_t before[NSTATS], after[NSTATS];
	unsigned delivered = w.nodes[v].delivered, sent = w.nodes[v].sent;

	/* 2 ms apart, and the fake clock does not move during handshake
	 * work: the victim never counts as under load (device.h) and never
	 * asks for cookies. */
	wire_clock_forward(&w, 2);
	snapshot(before);
	wire_receive(&w, v, &w.nodes[u].addr, buf, len);
	snapshot(after);
	for (size_t f = 0; f < NSTATS; f++) {
		uint64_t want = before[f] + (f == field);
		if (after[f] != want) {
			fprintf(stderr, "%s (%zu bytes): %s went %llu -> %llu, expected %s\n", what,
				len, field_names[f], (unsigned long long)before[f],
				(unsigned long long)after[f], field_names[field]);
			exit(1);
		}
	}
	CHECK_EQ(w.nodes[v].delivered, delivered);
	CHECK_EQ(w.nodes[v].sent, sent);
}

/* Where a message with its first byte changed to t lands. */
static size_t retyped(uint8_t t)
{
	return t >= 1 && t <= 4 ? FIELD(rx_invalid) : NOT_WG;
}

/* Flips every bit of bytes [from, to) of msg, one at a time; `body` is the
 * field a flip in bytes 4 and up must land in. */
static void flip_bits(const char *what, const struct datagram *msg, size_t from, size_t to,
		      size_t body)
{
	uint8_t buf[2048];
	char name[64];

	for (size_t byte = from; byte < to; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(buf, msg->buf, msg->len);
			buf[byte] ^= (uint8_t)(1u << bit);
			size_t field = byte == 0 ? retyped(buf[0]) : byte < 4 ? NOT_WG : body;
			snprintf(name, sizeof(name), "%s, bit %d of byte %zu flipped", what, bit,
				 byte);
			expect_drop(name, buf, msg->len, field);
		}
	}
}

/* Wrong sizes, types, reserved bytes and random contents of a message. */
static void mangle(const char *what, const struct datagram *msg, size_t random_field)
{
	uint8_t buf[2048];
	char name[64];

	memcpy(buf, msg->buf, msg->len);
	buf[msg->len] = 0;
	snprintf(name, sizeof(name), "%s, one byte short", what);
	expect_drop(name, buf, msg->len - 1,
		    msg->buf[0] == 4 ? FIELD(rx_decrypt_failed) : FIELD(rx_invalid));
	snprintf(name, sizeof(name), "%s, one byte long", what);
	expect_drop(name, buf, msg->len + 1,
		    msg->buf[0] == 4 ? FIELD(rx_decrypt_failed) : FIELD(rx_invalid));
	snprintf(name, sizeof(name), "%s, cut to the header", what);
	expect_drop(name, buf, 4, FIELD(rx_invalid));
	static const uint8_t types[] = { 0, 5, 6, 0x41, 0x81, 0xff };
	for (size_t k = 0; k < sizeof(types); k++) {
		memcpy(buf, msg->buf, msg->len);
		buf[0] = types[k];
		snprintf(name, sizeof(name), "%s, type %u", what, types[k]);
		expect_drop(name, buf, msg->len, NOT_WG);
	}
	for (int k = 1; k < 4; k++) {
		memcpy(buf, msg->buf, msg->len);
		buf[k] = 0x01;
		snprintf(name, sizeof(name), "%s, reserved byte %d set", what, k);
		expect_drop(name, buf, msg->len, NOT_WG);
	}
	for (int k = 0; k < 32; k++) {
		mg_random_bytes(buf + 4, msg->len - 4);
		memcpy(buf, msg->buf, 4);
		snprintf(name, sizeof(name), "%s, random contents", what);
		expect_drop(name, buf, msg->len, random_field);
	}
}

/* Seals payload as a data message from u under u's current keypair and
 * hands it to the victim. */
static void seal_from_peer(const uint8_t *payload, size_t len, struct datagram *out)
{
	struct mg_keypair *kp = wire_peer(&w, u, v)->keypairs.current;
	uint64_t nonce = kp->send_counter++;
	uint32_t type = htole32(MG_MSG_DATA), idx = htole32(kp->remote_index);
	uint64_t ctr = htole64(nonce);

	CHECK(len + MG_DATA_MIN_SIZE <= sizeof(out->buf));
	memcpy(out->buf, &type, 4);
	memcpy(out->buf + 4, &idx, 4);
	memcpy(out->buf + 8, &ctr, 8);
	CHECK(mg_aead_seal(out->buf + 16, payload, len, NULL, 0, nonce, kp->send_key));
	out->len = len + MG_DATA_MIN_SIZE;
	out->to = v;
	out->from = w.nodes[u].addr;
}

static void data_messages(void)
{
	struct datagram d;

	wire_send_ip(&w, u, v, DATA_BYTES);
	CHECK(wire_pop(&w, &d));
	flip_bits("data", &d, 0, 8, FIELD(rx_unknown_index));
	flip_bits("data", &d, 8, d.len, FIELD(rx_decrypt_failed));
	mangle("data", &d, FIELD(rx_unknown_index));
	/* Random contents under a real index fail to decrypt. */
	uint8_t buf[2048];
	for (int k = 0; k < 16; k++) {
		memcpy(buf, d.buf, 8);
		mg_random_bytes(buf + 8, d.len - 8);
		expect_drop("data, random under a real index", buf, d.len,
			    FIELD(rx_decrypt_failed));
	}
	uint8_t short_data[MG_DATA_MIN_SIZE - 1];
	memcpy(short_data, d.buf, sizeof(short_data));
	expect_drop("data, 31 bytes", short_data, sizeof(short_data), FIELD(rx_invalid));

	unsigned delivered = w.nodes[v].delivered;
	wire_inject(&w, &d);
	CHECK_EQ(w.nodes[v].delivered, delivered + 1);
	expect_drop("data, replayed", d.buf, d.len, FIELD(rx_replayed));
	wire_pump(&w);
}

/* Decrypted payloads that are no sound IP packet. */
static void bad_inner_packets(void)
{
	uint8_t p[80];
	struct datagram d;

	struct {
		const char *what;
		size_t len;
		uint8_t b0, len_hi, len_lo; /* byte 0, and bytes 2-3 (v4) or 4-5 (v6) */
	} rows[] = {
		{ "IPv4 header cut short", 19, 0x45, 0, 19 },
		{ "IPv4 total length 19", 40, 0x45, 0, 19 },
		{ "IPv4 total length past the end", 40, 0x45, 0, 41 },
		{ "version 5", 40, 0x55, 0, 40 },
		{ "version 0", 40, 0x05, 0, 40 },
		{ "IPv6 header cut short", 39, 0x60, 0, 0 },
		{ "IPv6 payload past the end", 60, 0x60, 0, 21 },
		{ "one byte", 1, 0x45, 0, 0 },
	};
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		memset(p, 0, sizeof(p));
		p[0] = rows[k].b0;
		int at = (rows[k].b0 >> 4) == 6 ? 4 : 2;
		p[at] = rows[k].len_hi;
		p[at + 1] = rows[k].len_lo;
		wire_tunnel_ip(u, p + 12); /* a v4 source the peer may use */
		seal_from_peer(p, rows[k].len, &d);
		expect_drop(rows[k].what, d.buf, d.len, FIELD(rx_bad_ip));
	}
	/* An IPv4 packet with trailing padding is fine: it is cut to size. */
	memset(p, 0, sizeof(p));
	p[0] = 0x45, p[3] = 40;
	wire_tunnel_ip(u, p + 12);
	wire_tunnel_ip(v, p + 16);
	seal_from_peer(p, 48, &d);
	unsigned delivered = w.nodes[v].delivered;
	wire_inject(&w, &d);
	CHECK_EQ(w.nodes[v].delivered, delivered + 1);
	CHECK_EQ(w.nodes[v].last_delivered_len, 40);
	wire_pump(&w);
}

static void initiations(void)
{
	struct datagram init;

	wire_advance(&w, 6000, 100); /* past REKEY_TIMEOUT since u's last */
	mg_device_send_initiation(wire_peer(&w, u, v), false);
	CHECK(wire_pop_last(&w, &init));
	CHECK_EQ(init.len, 148);
	flip_bits("initiation", &init, 0, INIT_MAC2, FIELD(rx_bad_mac1));
	mangle("initiation", &init, FIELD(rx_bad_mac1));
	uint64_t done = w.nodes[v].dev.stats.handshakes_completed;
	wire_inject(&w, &init);
	wire_pump(&w);
	CHECK_EQ(w.nodes[v].dev.stats.handshakes_completed, done + 1);
	/* Consumed: mac2 is not checked when not under load, but the
	 * timestamp is a replay now. */
	flip_bits("initiation mac2", &init, INIT_MAC2, init.len, FIELD(rx_handshake_failed));
	expect_drop("initiation, replayed", init.buf, init.len, FIELD(rx_handshake_failed));
}

static void responses(void)
{
	struct datagram init, resp;

	wire_advance(&w, 6000, 100);
	mg_device_send_initiation(wire_peer(&w, v, u), false);
	CHECK(wire_pop_last(&w, &init));
	wire_inject(&w, &init);
	CHECK(wire_pop_last(&w, &resp));
	CHECK_EQ(resp.len, 92);
	flip_bits("response", &resp, 0, RESP_MAC2, FIELD(rx_bad_mac1));
	mangle("response", &resp, FIELD(rx_bad_mac1));
	uint64_t done = w.nodes[v].dev.stats.handshakes_completed;
	wire_inject(&w, &resp);
	wire_pump(&w);
	CHECK_EQ(w.nodes[v].dev.stats.handshakes_completed, done + 1);
	flip_bits("response mac2", &resp, RESP_MAC2, resp.len, FIELD(rx_handshake_failed));
	expect_drop("response, replayed", resp.buf, resp.len, FIELD(rx_handshake_failed));
}

static void cookie_replies(void)
{
	struct datagram init, cookie;
	struct mg_peer *pv = wire_peer(&w, v, u);

	wire_advance(&w, 6000, 100);
	w.nodes[u].dev.force_under_load = true;
	mg_device_send_initiation(pv, false);
	CHECK(wire_pop_last(&w, &init));
	wire_inject(&w, &init);
	CHECK(wire_pop_last(&w, &cookie));
	CHECK_EQ(cookie.len, 64);
	w.nodes[u].dev.force_under_load = false;
	flip_bits("cookie reply", &cookie, 0, cookie.len, FIELD(rx_bad_cookie));
	mangle("cookie reply", &cookie, FIELD(rx_bad_cookie));
	CHECK(!pv->cookie.cookie_valid);
	wire_inject(&w, &cookie);
	CHECK(pv->cookie.cookie_valid);
	expect_drop("cookie reply, replayed", cookie.buf, cookie.len, FIELD(rx_bad_cookie));
}

/* Random datagrams: each is accounted for exactly once, by one counter or
 * by the other handler, and none does anything else. */
static unsigned other_calls;

static void count_other(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	(void)ctx, (void)from, (void)buf, (void)len;
	other_calls++;
}

static void random_datagrams(void)
{
	static const size_t sizes[] = { 0, 1, 3, 4, 31, 32, 33, 48, 64, 92, 148, 149, 1500 };
	uint8_t buf[1500];
	unsigned n = 2000, sent = w.nodes[v].sent, delivered = w.nodes[v].delivered;
	uint64_t dropped = stats_rx_dropped(&w.nodes[v].dev.stats);

	other_calls = 0;
	mg_device_set_other_handler(&w.nodes[v].dev, count_other, NULL);
	for (unsigned k = 0; k < n; k++) {
		size_t len = sizes[mg_random_uniform(sizeof(sizes) / sizeof(sizes[0]))];
		mg_random_bytes(buf, sizeof(buf));
		buf[0] = (uint8_t)mg_random_uniform(7);
		if (mg_random_uniform(4))
			buf[1] = buf[2] = buf[3] = 0;
		wire_receive(&w, v, &w.nodes[u].addr, buf, len);
	}
	CHECK_EQ(stats_rx_dropped(&w.nodes[v].dev.stats) - dropped + other_calls, n);
	CHECK_EQ(w.nodes[v].sent, sent);
	CHECK_EQ(w.nodes[v].delivered, delivered);
	mg_device_set_other_handler(&w.nodes[v].dev, NULL, NULL);
}

static void session_still_works(void)
{
	wire_advance(&w, 20000, 100); /* let any handshake in flight finish */
	unsigned dv = w.nodes[v].delivered, du = w.nodes[u].delivered;
	wire_send_ip(&w, u, v, 200);
	wire_pump(&w);
	wire_send_ip(&w, v, u, 300);
	wire_pump(&w);
	CHECK_EQ(w.nodes[v].delivered, dv + 1);
	CHECK_EQ(w.nodes[v].last_delivered_len, 200);
	CHECK_EQ(w.nodes[u].delivered, du + 1);
	CHECK_EQ(w.nodes[u].last_delivered_len, 300);
}

static void against(int victim, int initiator)
{
	v = victim;
	u = 1 - victim;
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, initiator, 1 - initiator);
	wire_pump(&w);

	data_messages();
	bad_inner_packets();
	initiations();
	responses();
	cookie_replies();
	random_datagrams();
	session_still_works();
	wire_free(&w);
}

/* STUN shares the port: a binding request (type 0x0001, magic cookie
 * 0x2112A442 at bytes 4-7) and a success response (0x0101, whose first byte
 * is a WireGuard type but whose reserved byte is not zero). */
struct seen {
	unsigned calls;
	struct mg_endpoint from;
	size_t len;
	uint8_t buf[256];
};

static void record_other(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	struct seen *s = ctx;

	s->calls++;
	s->from = *from;
	s->len = len;
	memcpy(s->buf, buf, len < sizeof(s->buf) ? len : sizeof(s->buf));
}

static void stun(void)
{
	static const uint8_t request[20] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
		3,    4,    5,	  6,	7,    8,    9,	  10,	11, 12
	};
	static const uint8_t response[32] = { 0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42,
					      1,    2,	  3,	4,    5,    6,	  7,	8,
					      9,    10,	  11,	12,   0x00, 0x20, 0x00, 0x08,
					      0x00, 0x01, 0xe1, 0xba, 0xe1, 0x12, 0xa6, 0x43 };
	struct mg_endpoint server = wire_endpoint4(0xc6336401, 3478); /* 198.51.100.1 */
	struct seen seen;

	v = 0, u = 1;
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, 1, 0);
	struct mg_device *dev = &w.nodes[0].dev;
	unsigned sent = w.nodes[0].sent;

	/* No handler: counted as such, and nothing else. */
	expect_drop("STUN request, no handler", request, sizeof(request), NOT_WG);

	memset(&seen, 0, sizeof(seen));
	mg_device_set_other_handler(dev, record_other, &seen);
	uint64_t dropped = stats_rx_dropped(&dev->stats);
	wire_receive(&w, 0, &server, request, sizeof(request));
	CHECK_EQ(seen.calls, 1);
	CHECK_EQ(seen.len, sizeof(request));
	CHECK_MEM(seen.buf, request, sizeof(request));
	CHECK(mg_endpoint_equal(&seen.from, &server));
	wire_receive(&w, 0, &server, response, sizeof(response));
	CHECK_EQ(seen.calls, 2);
	CHECK_EQ(seen.len, sizeof(response));
	CHECK_MEM(seen.buf, response, sizeof(response));
	CHECK_EQ(stats_rx_dropped(&dev->stats), dropped);
	CHECK_EQ(w.nodes[0].sent, sent);

	/* WireGuard traffic still goes where it belongs. */
	unsigned delivered = w.nodes[0].delivered;
	wire_send_ip(&w, 1, 0, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[0].delivered, delivered + 1);
	CHECK_EQ(seen.calls, 2);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int victim = 0; victim < 2; victim++)
		for (int initiator = 0; initiator < 2; initiator++)
			against(victim, initiator);
	stun();
	mg_test_pass("bad_packets");
	return 0;
}
