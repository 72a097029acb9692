/* STUN and WireGuard share the UDP port and are told apart without error in
 * either direction:
 *  - no datagram that begins like a WireGuard message (type 1-4, three zero
 *    bytes) is STUN, even with the magic cookie in bytes 4-7, except one of
 *    exactly 20 bytes, a size no WireGuard message has;
 *  - every STUN message of every assigned method (0x001-0x07F) and class,
 *    at lengths that equal WireGuard's sizes, goes from a real device to the
 *    handler for other datagrams, untouched and counted as no error;
 *  - WireGuard itself still works on that device afterwards. */
#include "nat/stun.h"
#include "wire_extra.h"

struct seen {
	unsigned calls;
	size_t len;
	uint8_t buf[256];
};

static void record(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	struct seen *s = ctx;

	(void)from;
	s->calls++;
	s->len = len;
	memcpy(s->buf, buf, len < sizeof(s->buf) ? len : sizeof(s->buf));
}

static void wireguard_is_never_stun(void)
{
	static uint8_t buf[2048];

	_Static_assert(MG_STUN_HEADER_SIZE < MG_DATA_MIN_SIZE, "20 bytes is no data message");
	_Static_assert(sizeof(struct mg_msg_cookie_reply) != MG_STUN_HEADER_SIZE, "cookie reply");
	for (uint8_t type = MG_MSG_INITIATION; type <= MG_MSG_DATA; type++) {
		for (size_t len = 8; len <= sizeof(buf); len++) {
			mg_random_bytes(buf, len);
			buf[0] = type, buf[1] = buf[2] = buf[3] = 0;
			buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
			if (mg_stun_is_stun(buf, len) != (len == MG_STUN_HEADER_SIZE)) {
				fprintf(stderr, "type %u, %zu bytes: misclassified\n", type, len);
				exit(1);
			}
		}
	}
}

/* A STUN header of the given type and body length, random transaction id,
 * random attribute bytes (the device looks at none of them). */
static size_t stun_message(uint8_t *buf, uint16_t type, size_t body)
{
	mg_random_bytes(buf, MG_STUN_HEADER_SIZE + body);
	buf[0] = (uint8_t)(type >> 8), buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(body >> 8), buf[3] = (uint8_t)body;
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	return MG_STUN_HEADER_SIZE + body;
}

/* Type bits: M0-M3 in bits 0-3, C0 bit 4, M4-M6 bits 5-7, C1 bit 8,
 * M7-M11 bits 9-13 (RFC 8489 section 5). */
static uint16_t stun_type(unsigned method, unsigned cls)
{
	return (uint16_t)((method & 0xF) | (cls & 1) << 4 | (method & 0x70) << 1 | (cls & 2) << 7 |
			  (method & 0xF80) << 2);
}

static void stun_goes_to_the_handler(void)
{
	static const size_t bodies[] = {
		0,
		MG_STUN_FINGERPRINT_SIZE,
		MG_DATA_MIN_SIZE - MG_STUN_HEADER_SIZE,
		sizeof(struct mg_msg_cookie_reply) - MG_STUN_HEADER_SIZE,
		sizeof(struct mg_msg_response) - MG_STUN_HEADER_SIZE,
		sizeof(struct mg_msg_initiation) - MG_STUN_HEADER_SIZE,
		1400,
	};
	struct mg_endpoint server = wire_endpoint4(0xcb007114, 3478); /* 203.0.113.20 */
	struct wire w;
	struct seen seen = { 0 };
	uint8_t buf[1500];
	unsigned expected = 0;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	mg_device_set_other_handler(&w.nodes[0].dev, record, &seen);
	for (unsigned method = 1; method < 0x80; method++) {
		for (unsigned cls = 0; cls < 4; cls++) {
			for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
				size_t len = stun_message(buf, stun_type(method, cls), bodies[b]);
				CHECK(mg_stun_is_stun(buf, len));
				wire_receive(&w, 0, &server, buf, len);
				CHECK_EQ(seen.calls, ++expected);
				CHECK_EQ(seen.len, len);
				CHECK_MEM(seen.buf, buf, len < 256 ? len : 256);
			}
		}
	}
	CHECK_EQ(stats_rx_dropped(&w.nodes[0].dev.stats), 0);
	CHECK_EQ(w.nodes[0].sent, 0);

	/* The tunnel works on that device. */
	wire_send_ip(&w, 1, 0, 100);
	wire_pump(&w);
	wire_send_ip(&w, 1, 0, 100);
	wire_pump(&w);
	CHECK(w.nodes[0].delivered >= 1);
	CHECK_EQ(seen.calls, expected);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	CHECK(mg_crypto_init() == 0);
	wireguard_is_never_stun();
	stun_goes_to_the_handler();
	mg_test_pass("stun_demux");
	return 0;
}
