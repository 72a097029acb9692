/* The handshake's initial chaining key and hash: HASH(CONSTRUCTION) and
 * HASH(that || IDENTIFIER), recomputed from the strings in messages.h and
 * compared with the values in wireguard.md (the ones noise.c carries). Then a
 * real initiation and response from the wire are opened independently, from
 * those constants and the labels, step by step as wireguard.md describes: if
 * noise.c carried other constants or mixed anything differently, they would
 * not open, and the transport keys would not match. */
#include "crypto/blake2s.h"
#include "wire_extra.h"

static const char ci_hex[] = "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36";
static const char hi_hex[] = "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3";

static void hash2(uint8_t out[32], const void *a, size_t alen, const void *b, size_t blen)
{
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, 32, NULL, 0);
	mg_blake2s_update(&s, a, alen);
	mg_blake2s_update(&s, b, blen);
	mg_blake2s_final(&s, out);
}

static void initial_state(uint8_t ck[32], uint8_t h[32])
{
	uint8_t want[32];

	mg_blake2s(ck, 32, (const uint8_t *)MG_NOISE_CONSTRUCTION, strlen(MG_NOISE_CONSTRUCTION),
		   NULL, 0);
	CHECK_EQ(mg_test_unhex(want, 32, ci_hex), 32);
	CHECK_MEM(ck, want, 32);
	hash2(h, ck, 32, MG_NOISE_IDENTIFIER, strlen(MG_NOISE_IDENTIFIER));
	CHECK_EQ(mg_test_unhex(want, 32, hi_hex), 32);
	CHECK_MEM(h, want, 32);
}

static void check_mac1(const uint8_t *msg, size_t len, const uint8_t receiver_public[32])
{
	uint8_t key[32], mac[16], zero[16] = { 0 };

	hash2(key, MG_LABEL_MAC1, strlen(MG_LABEL_MAC1), receiver_public, 32);
	mg_blake2s(mac, 16, msg, len - 32, key, 32);
	CHECK_MEM(msg + len - 32, mac, 16);
	CHECK_MEM(msg + len - 16, zero, 16); /* no cookie: mac2 is zero */
}

/* C = KDF1(C, dh) or (C, k) = KDF2(C, DH(priv, pub)). */
static void mix_dh(uint8_t ck[32], uint8_t *k, const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[32];

	CHECK(mg_x25519(dh, priv, pub));
	mg_kdf(ck, k, NULL, ck, 32, dh, 32);
}

int main(void)
{
	static struct wire w;
	struct mg_msg_initiation init;
	struct mg_msg_response resp;
	struct datagram d;
	uint8_t ck[32], h[32], k[32], tau[32], out[32], ts[12], want_ts[12], psk[32] = { 0 };
	uint8_t ei_priv[32], t1[32], t2[32];

	initial_state(ck, h);

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	const struct mg_static_identity *si = &w.nodes[0].dev.identity;
	const struct mg_static_identity *sr = &w.nodes[1].dev.identity;
	struct mg_peer *pi = wire_peer(&w, 0, 1), *pr = wire_peer(&w, 1, 0);

	/* Initiation: C = Ci, H = HASH(Hi || Sr_pub), then e, es, s, ss, ts. */
	wire_send_ip(&w, 0, 1, 84);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.len, sizeof(init));
	memcpy(&init, d.buf, sizeof(init));
	CHECK_EQ(d.buf[0], 1);
	check_mac1(d.buf, d.len, sr->public_key);
	hash2(h, h, 32, sr->public_key, 32);
	mg_kdf(ck, NULL, NULL, ck, 32, init.unencrypted_ephemeral, 32);
	hash2(h, h, 32, init.unencrypted_ephemeral, 32);
	mix_dh(ck, k, sr->private_key, init.unencrypted_ephemeral);
	CHECK(mg_aead_open(out, init.encrypted_static, 48, h, 32, 0, k));
	CHECK_MEM(out, si->public_key, 32);
	hash2(h, h, 32, init.encrypted_static, 48);
	mix_dh(ck, k, sr->private_key, si->public_key);
	CHECK(mg_aead_open(ts, init.encrypted_timestamp, 28, h, 32, 0, k));
	mg_tai64n(want_ts, &w.clock.wall);
	CHECK_MEM(ts, want_ts, 12);
	hash2(h, h, 32, init.encrypted_timestamp, 28);
	memcpy(ei_priv, pi->handshake.ephemeral_private, 32);

	/* Response: e, ee, se, psk, empty payload. */
	wire_inject(&w, &d);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.len, sizeof(resp));
	memcpy(&resp, d.buf, sizeof(resp));
	CHECK_EQ(d.buf[0], 2);
	CHECK_EQ(resp.receiver_index, init.sender_index);
	check_mac1(d.buf, d.len, si->public_key);
	mg_kdf(ck, NULL, NULL, ck, 32, resp.unencrypted_ephemeral, 32);
	hash2(h, h, 32, resp.unencrypted_ephemeral, 32);
	mix_dh(ck, NULL, ei_priv, resp.unencrypted_ephemeral);
	mix_dh(ck, NULL, si->private_key, resp.unencrypted_ephemeral);
	mg_kdf(ck, tau, k, ck, 32, psk, 32);
	hash2(h, h, 32, tau, 32);
	CHECK(mg_aead_open(out, resp.encrypted_nothing, 16, h, 32, 0, k));

	/* Transport keys: (T1, T2) = KDF2(C, ""); the initiator sends with T1. */
	mg_kdf(t1, t2, NULL, ck, 32, NULL, 0);
	CHECK(pr->keypairs.next != NULL);
	CHECK_MEM(pr->keypairs.next->receive_key, t1, 32);
	CHECK_MEM(pr->keypairs.next->send_key, t2, 32);
	wire_inject(&w, &d);
	CHECK(pi->keypairs.current != NULL);
	CHECK_MEM(pi->keypairs.current->send_key, t1, 32);
	CHECK_MEM(pi->keypairs.current->receive_key, t2, 32);
	wire_pump(&w);
	CHECK_EQ(w.nodes[1].delivered, 1);

	wire_free(&w);
	mg_test_pass("noise_constants");
	return 0;
}
