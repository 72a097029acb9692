/* The cacophony vector Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (mcginty/snow
 * tests/vectors/cacophony.txt) run through noise.c itself, its fixed
 * ephemeral keys injected by the hook mg_noise_test_ephemeral (compiled only
 * into test builds, see CMakeLists.txt).
 *
 * WireGuard is this Noise pattern with IDENTIFIER as prologue, a TAI64N
 * timestamp as the first payload and nothing as the second; the vector has
 * "John Galt" and text. So three steps, each resting on the one before:
 *  1. a model of the handshake over our primitives (whitepaper 5.4, sharing
 *     no code with noise.c) reproduces the whole vector: both messages, the
 *     handshake hash, the transport messages (bare AEAD(T, n, payload, ""));
 *  2. noise.c, given the vector's keys, PSK and ephemerals, produces the
 *     model's output for WireGuard's prologue and payloads: both messages
 *     byte for byte, hash and chaining key after each of the four steps,
 *     and the transport keys;
 *  3. where neither prologue nor payloads enter, noise.c produces the
 *     vector's own bytes: both ephemeral public keys, the encrypted static
 *     key (not its tag, whose additional data is the hash), and the
 *     transport keys, which come from the chaining key alone: noise.c's
 *     keypairs seal the vector's transport payloads into its messages. */
#include <stddef.h>

#include "check.h"
#include "crypto/blake2s.h"
#include "crypto/primitives.h"
#include "peer/peer.h"
#include "tunnel/noise.h"

#define HASH_LEN 32
#define TAG_LEN	 MG_AEAD_TAG_LEN

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";

struct vector {
	uint8_t prologue[9];
	uint8_t psk[32];
	uint8_t init_static[32];
	uint8_t init_ephemeral[32];
	uint8_t resp_static[32];
	uint8_t resp_ephemeral[32];
};

/* One side's view: chaining key C, hash H, and what it learns of the peer. */
struct side {
	uint8_t ck[HASH_LEN];
	uint8_t h[HASH_LEN];
	uint8_t remote_static[32];
	uint8_t remote_ephemeral[32];
	uint8_t send[32];
	uint8_t recv[32];
};

static void unhex_exact(uint8_t *out, size_t len, const char *hex)
{
	CHECK_EQ(strlen(hex), 2 * len);
	CHECK_EQ(mg_test_unhex(out, len, hex), len);
}

static void load_vector(struct vector *v)
{
	unhex_exact(v->prologue, 9, "4a6f686e2047616c74");
	unhex_exact(v->psk, 32, "54686973206973206d7920417573747269616e20706572737065637469766521");
	unhex_exact(v->init_static, 32,
		    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1");
	unhex_exact(v->init_ephemeral, 32,
		    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
	unhex_exact(v->resp_static, 32,
		    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
	unhex_exact(v->resp_ephemeral, 32,
		    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
}

static void mix_hash(uint8_t h[HASH_LEN], const uint8_t *in, size_t len)
{
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, HASH_LEN, NULL, 0);
	mg_blake2s_update(&s, h, HASH_LEN);
	mg_blake2s_update(&s, in, len);
	mg_blake2s_final(&s, h);
}

static void mix_dh(struct side *s, const uint8_t priv[32], const uint8_t pub[32], uint8_t *key)
{
	uint8_t dh[32];

	CHECK(mg_x25519(dh, priv, pub));
	mg_kdf(s->ck, key, NULL, s->ck, HASH_LEN, dh, sizeof(dh));
	mg_wipe(dh, sizeof(dh));
}

static void seal_hash(struct side *s, uint8_t *dst, const uint8_t *src, size_t len,
		      const uint8_t key[32])
{
	CHECK(mg_aead_seal(dst, src, len, s->h, HASH_LEN, 0, key));
	mix_hash(s->h, dst, len + TAG_LEN);
}

static void open_hash(struct side *s, uint8_t *dst, const uint8_t *src, size_t len,
		      const uint8_t key[32])
{
	CHECK(mg_aead_open(dst, src, len + TAG_LEN, s->h, HASH_LEN, 0, key));
	mix_hash(s->h, src, len + TAG_LEN);
}

/* Ci = HASH(CONSTRUCTION), Hi = HASH(Ci || prologue), H = HASH(Hi || Sr_pub). */
static void init_side(struct side *s, const uint8_t *prologue, size_t len,
		      const uint8_t resp_pub[32])
{
	memset(s, 0, sizeof(*s));
	mg_blake2s(s->ck, HASH_LEN, (const uint8_t *)construction, strlen(construction), NULL, 0);
	memcpy(s->h, s->ck, HASH_LEN);
	mix_hash(s->h, prologue, len);
	mix_hash(s->h, resp_pub, 32);
}

static void take_ephemeral(struct side *s, const uint8_t pub[32])
{
	mg_kdf(s->ck, NULL, NULL, s->ck, HASH_LEN, pub, 32);
	mix_hash(s->h, pub, 32);
}

/* msg1 = E_pub || AEAD(Si_pub) || AEAD(payload). */
static void initiator_write(struct side *s, const struct vector *v, uint8_t *msg,
			    const uint8_t *payload, size_t len)
{
	uint8_t key[32], static_pub[32];

	mg_x25519_public(msg, v->init_ephemeral);
	take_ephemeral(s, msg);
	mix_dh(s, v->init_ephemeral, s->remote_static, key);
	mg_x25519_public(static_pub, v->init_static);
	seal_hash(s, msg + 32, static_pub, 32, key);
	mix_dh(s, v->init_static, s->remote_static, key);
	seal_hash(s, msg + 32 + 32 + TAG_LEN, payload, len, key);
}

static void responder_read(struct side *s, const struct vector *v, const uint8_t *msg,
			   uint8_t *payload, size_t len)
{
	uint8_t key[32];

	memcpy(s->remote_ephemeral, msg, 32);
	take_ephemeral(s, msg);
	mix_dh(s, v->resp_static, s->remote_ephemeral, key);
	open_hash(s, s->remote_static, msg + 32, 32, key);
	mix_dh(s, v->resp_static, s->remote_static, key);
	open_hash(s, payload, msg + 32 + 32 + TAG_LEN, len, key);
}

/* (C, tau, k) = KDF3(C, Q); H = HASH(H || tau). */
static void mix_psk(struct side *s, const struct vector *v, uint8_t key[32])
{
	uint8_t tau[32];

	mg_kdf(s->ck, tau, key, s->ck, HASH_LEN, v->psk, sizeof(v->psk));
	mix_hash(s->h, tau, sizeof(tau));
	mg_wipe(tau, sizeof(tau));
}

/* msg2 = Er_pub || AEAD(payload). */
static void responder_write(struct side *s, const struct vector *v, uint8_t *msg,
			    const uint8_t *payload, size_t len)
{
	uint8_t key[32];

	mg_x25519_public(msg, v->resp_ephemeral);
	take_ephemeral(s, msg);
	mix_dh(s, v->resp_ephemeral, s->remote_ephemeral, NULL);
	mix_dh(s, v->resp_ephemeral, s->remote_static, NULL);
	mix_psk(s, v, key);
	seal_hash(s, msg + 32, payload, len, key);
	mg_kdf(s->recv, s->send, NULL, s->ck, HASH_LEN, NULL, 0);
}

static void initiator_read(struct side *s, const struct vector *v, const uint8_t *msg,
			   uint8_t *payload, size_t len)
{
	uint8_t key[32];

	memcpy(s->remote_ephemeral, msg, 32);
	take_ephemeral(s, msg);
	mix_dh(s, v->init_ephemeral, s->remote_ephemeral, NULL);
	mix_dh(s, v->init_static, s->remote_ephemeral, NULL);
	mix_psk(s, v, key);
	open_hash(s, payload, msg + 32, len, key);
	mg_kdf(s->send, s->recv, NULL, s->ck, HASH_LEN, NULL, 0);
}

/* Transport messages alternate initiator, responder, with counters 0, 0,
 * 1, 1. Messages 5 and 6 come from the same cacophony entry. */
static const struct {
	const char *payload_hex;
	const char *msg_hex;
} transport[] = {
	{ "462e20412e20486179656b", "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7" },
	{ "4361726c204d656e676572", "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef" },
	{ "4a65616e2d426170746973746520536179",
	  "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d" },
	{ "457567656e2042f6686d20766f6e2042617765726b",
	  "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292" },
};

/* The transport keys of both sides against the vector's transport messages:
 * each side seals what the vector says it sent, the other opens it. */
static void check_transport(const uint8_t *init_send, const uint8_t *init_recv,
			    const uint8_t *resp_send, const uint8_t *resp_recv)
{
	size_t i;

	for (i = 0; i < sizeof(transport) / sizeof(transport[0]); i++) {
		const uint8_t *send = i % 2 ? resp_send : init_send;
		const uint8_t *recv = i % 2 ? init_recv : resp_recv;
		uint8_t payload[64], want[64 + TAG_LEN], got[64 + TAG_LEN], back[64];
		size_t len = mg_test_unhex(payload, sizeof(payload), transport[i].payload_hex);
		uint64_t counter = i / 2;

		unhex_exact(want, len + TAG_LEN, transport[i].msg_hex);
		CHECK(mg_aead_seal(got, payload, len, NULL, 0, counter, send));
		CHECK_MEM(got, want, len + TAG_LEN);
		CHECK(mg_aead_open(back, got, len + TAG_LEN, NULL, 0, counter, recv));
		CHECK_MEM(back, payload, len);
	}
	mg_aead_forget(init_send);
	mg_aead_forget(init_recv);
	mg_aead_forget(resp_send);
	mg_aead_forget(resp_recv);
}

/* ---- step 2 and 3: noise.c ---- */

/* The ephemerals the hook hands out, in the order noise.c asks. */
static const uint8_t *ephemerals[2];
static unsigned ephemerals_used;

static void fixed_ephemeral(uint8_t private_key[MG_KEY_SIZE], uint8_t public_key[MG_KEY_SIZE])
{
	CHECK(ephemerals_used < 2);
	memcpy(private_key, ephemerals[ephemerals_used++], MG_KEY_SIZE);
	mg_x25519_public(public_key, private_key);
}

/* One side as the device holds it: identity, the other side as its only
 * peer, and the index table. */
struct node {
	struct mg_static_identity id;
	struct mg_peer_table peers;
	struct mg_index_table indices;
	struct mg_peer *peer;
	struct mg_handshake *hs;
};

static void node_init(struct node *n, const uint8_t private_key[32], const uint8_t remote[32],
		      const uint8_t psk[32])
{
	memset(n, 0, sizeof(*n));
	memcpy(n->id.private_key, private_key, 32);
	mg_x25519_public(n->id.public_key, private_key);
	n->id.has_identity = true;
	CHECK_EQ(mg_peer_table_init(&n->peers), 0);
	mg_index_table_init(&n->indices);
	CHECK_EQ(mg_peer_table_add(&n->peers, remote, &n->peer), 0);
	n->hs = &n->peer->handshake;
	mg_noise_handshake_init(n->hs, n->peer, &n->id, remote, psk);
}

static void node_free(struct node *n)
{
	mg_noise_keypairs_clear(&n->peer->keypairs, &n->indices);
	mg_peer_table_free(&n->peers);
}

static void check_state(const struct mg_handshake *hs, const struct side *model)
{
	CHECK_MEM(hs->hash, model->h, HASH_LEN);
	CHECK_MEM(hs->chaining_key, model->ck, HASH_LEN);
}

/* Initiator a, responder b; the model's sides mi, mr run alongside with
 * WireGuard's prologue and payloads. want1, want2: the vector's messages. */
static void noise_c(const struct vector *v, const uint8_t *want1, const uint8_t *want2,
		    const struct side *vector_init)
{
	const struct timespec wall = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
	uint8_t resp_pub[32], init_pub[32], ts[MG_TIMESTAMP_SIZE], got[MG_TIMESTAMP_SIZE];
	uint8_t m1[32 + 48 + MG_TIMESTAMP_SIZE + TAG_LEN], m2[32 + TAG_LEN], none[1] = { 0 };
	struct mg_msg_initiation init;
	struct mg_msg_response resp;
	struct mg_keypair *ka, *kb;
	struct side mi, mr;
	struct node a, b;

	_Static_assert(sizeof(m1) == offsetof(struct mg_msg_initiation, macs) - 8, "m1");
	_Static_assert(sizeof(m2) == offsetof(struct mg_msg_response, macs) - 12, "m2");
	mg_x25519_public(resp_pub, v->resp_static);
	mg_x25519_public(init_pub, v->init_static);
	node_init(&a, v->init_static, resp_pub, v->psk);
	node_init(&b, v->resp_static, init_pub, v->psk);
	init_side(&mi, (const uint8_t *)MG_NOISE_IDENTIFIER, strlen(MG_NOISE_IDENTIFIER), resp_pub);
	init_side(&mr, (const uint8_t *)MG_NOISE_IDENTIFIER, strlen(MG_NOISE_IDENTIFIER), resp_pub);
	memcpy(mi.remote_static, resp_pub, 32);
	ephemerals[0] = v->init_ephemeral;
	ephemerals[1] = v->resp_ephemeral;
	mg_noise_test_ephemeral = fixed_ephemeral;

	mg_tai64n(ts, &wall);
	CHECK(mg_noise_create_initiation(&init, a.hs, &a.id, &a.indices, &wall));
	initiator_write(&mi, v, m1, ts, sizeof(ts));
	CHECK_MEM(init.unencrypted_ephemeral, m1, sizeof(m1));
	check_state(a.hs, &mi);
	CHECK_MEM(init.unencrypted_ephemeral, want1, 32);
	CHECK_MEM(init.encrypted_static, want1 + 32, 32);

	CHECK(mg_noise_consume_initiation(&init, &b.id, &b.peers, 1) == b.peer);
	responder_read(&mr, v, m1, got, sizeof(got));
	check_state(b.hs, &mr);

	CHECK(mg_noise_create_response(&resp, b.hs, &b.indices));
	responder_write(&mr, v, m2, none, 0);
	CHECK_MEM(resp.unencrypted_ephemeral, m2, sizeof(m2));
	check_state(b.hs, &mr);
	CHECK_MEM(resp.unencrypted_ephemeral, want2, 32);

	CHECK(mg_noise_consume_response(&resp, &a.id, &a.indices) == a.peer);
	initiator_read(&mi, v, m2, none, 0);
	check_state(a.hs, &mi);
	CHECK_EQ(ephemerals_used, 2);
	mg_noise_test_ephemeral = NULL;

	ka = mg_noise_begin_session(a.hs, &a.peer->keypairs, &a.indices, 1);
	kb = mg_noise_begin_session(b.hs, &b.peer->keypairs, &b.indices, 1);
	CHECK(ka && ka->i_am_the_initiator && kb && !kb->i_am_the_initiator);
	CHECK_MEM(ka->send_key, mi.send, 32);
	CHECK_MEM(ka->receive_key, mi.recv, 32);
	CHECK_MEM(kb->send_key, mr.send, 32);
	CHECK_MEM(kb->receive_key, mr.recv, 32);
	/* Step 3's premise: the transport keys ignore prologue and payloads. */
	CHECK_MEM(mi.send, vector_init->send, 32);
	check_transport(ka->send_key, ka->receive_key, kb->send_key, kb->receive_key);
	node_free(&a);
	node_free(&b);
}

int main(void)
{
	static const char msg1_hex[] =
		"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
		"001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf"
		"1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985"
		"464cf17e51ee93109008399a21f7e13f";
	static const char msg2_hex[] =
		"95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
		"cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a";
	static const char payload1_hex[] = "4c756477696720766f6e204d69736573";
	static const char payload2_hex[] = "4d757272617920526f746862617264";
	static const char hash_hex[] =
		"f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5";
	uint8_t p1[16], p2[15], want1[112], want2[63], hash[32], msg1[112], msg2[63], got[16];
	uint8_t resp_pub[32];
	struct side init, resp;
	struct vector v;

	CHECK_EQ(mg_crypto_init(), 0);
	load_vector(&v);
	unhex_exact(p1, sizeof(p1), payload1_hex);
	unhex_exact(p2, sizeof(p2), payload2_hex);
	unhex_exact(want1, sizeof(want1), msg1_hex);
	unhex_exact(want2, sizeof(want2), msg2_hex);
	unhex_exact(hash, sizeof(hash), hash_hex);

	/* Step 1: the model against the whole vector. */
	mg_x25519_public(resp_pub, v.resp_static);
	init_side(&init, v.prologue, sizeof(v.prologue), resp_pub);
	init_side(&resp, v.prologue, sizeof(v.prologue), resp_pub);
	memcpy(init.remote_static, resp_pub, 32);

	initiator_write(&init, &v, msg1, p1, sizeof(p1));
	CHECK_MEM(msg1, want1, sizeof(msg1));
	responder_read(&resp, &v, msg1, got, sizeof(p1));
	CHECK_MEM(got, p1, sizeof(p1));

	responder_write(&resp, &v, msg2, p2, sizeof(p2));
	CHECK_MEM(msg2, want2, sizeof(msg2));
	initiator_read(&init, &v, msg2, got, sizeof(p2));
	CHECK_MEM(got, p2, sizeof(p2));

	CHECK_MEM(init.h, hash, 32);
	CHECK_MEM(resp.h, hash, 32);
	CHECK_MEM(init.send, resp.recv, 32);
	CHECK_MEM(init.recv, resp.send, 32);
	check_transport(init.send, init.recv, resp.send, resp.recv);

	noise_c(&v, want1, want2, &init);

	mg_test_pass("test_crypto_noise_vector");
	return 0;
}
