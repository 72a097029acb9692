/* Every byte of a PROBE, a PROBE_ACK (IPv4 and IPv6) and the relay's
 * registration messages, changed in any of several ways, is refused by
 * the parser or the verifier; so is every truncation and any extra byte. */
#include "path_fixture.h"

static struct member a, b, c;

static bool probe_ok(const uint8_t *msg, size_t len, bool relay)
{
	struct mg_probe p;

	if (relay)
		return mg_relay_register_parse(&p, msg, len) == 0 &&
		       mg_relay_register_verify(&p, a.pk, b.pk, NOW_MS) == 0;
	return mg_probe_parse(&p, msg, len) == 0 && mg_probe_verify(&p, a.pk, b.pk, NOW_MS) == 0;
}

static bool ack_ok(const uint8_t *msg, size_t len, bool relay)
{
	struct mg_probe_ack pa;

	if (relay)
		return mg_relay_registered_parse(&pa, msg, len) == 0 &&
		       mg_relay_registered_verify(&pa, b.pk, a.pk) == 0;
	return mg_probe_ack_parse(&pa, msg, len) == 0 && mg_probe_ack_verify(&pa, b.pk, a.pk) == 0;
}

static void tamper(const uint8_t *msg, size_t len, bool ack, bool relay)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	uint8_t copy[MG_PROBE_LEN + 1];

	memcpy(copy, msg, len);
	CHECK(ack ? ack_ok(copy, len, relay) : probe_ok(copy, len, relay));
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			copy[i] ^= flips[f];
			CHECK(!(ack ? ack_ok(copy, len, relay) : probe_ok(copy, len, relay)));
			copy[i] ^= flips[f];
		}
	}
	for (size_t n = 0; n < len; n++)
		CHECK(!(ack ? ack_ok(copy, n, relay) : probe_ok(copy, n, relay)));
	copy[len] = 0;
	CHECK(!(ack ? ack_ok(copy, len + 1, relay) : probe_ok(copy, len + 1, relay)));
}

int main(void)
{
	struct mg_endpoint v4 = px_ep("203.0.113.9:40001"), v6 = px_ep("[2001:db8::9]:40001");
	uint8_t nonce[16], msg[MG_PROBE_LEN];
	int n;

	px_init(&a, &b, &c);
	mg_random_bytes(nonce, sizeof(nonce));
	for (int relay = 0; relay <= 1; relay++) {
		n = relay ? mg_relay_register_make(msg, a.sk, b.pk, nonce, NOW_MS)
			  : mg_probe_make(msg, a.sk, b.pk, nonce, NOW_MS);
		CHECK_EQ(n, MG_PROBE_LEN);
		tamper(msg, (size_t)n, false, relay);
		n = relay ? mg_relay_registered_make(msg, b.sk, a.pk, nonce, &v4)
			  : mg_probe_ack_make(msg, b.sk, a.pk, nonce, &v4);
		CHECK_EQ(n, MG_PROBE_ACK_V4_LEN);
		tamper(msg, (size_t)n, true, relay);
		n = relay ? mg_relay_registered_make(msg, b.sk, a.pk, nonce, &v6)
			  : mg_probe_ack_make(msg, b.sk, a.pk, nonce, &v6);
		CHECK_EQ(n, MG_PROBE_ACK_MAX);
		tamper(msg, (size_t)n, true, relay);
	}
	mg_test_pass("mesh_probe_tamper");
	return 0;
}
