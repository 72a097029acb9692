/* Drives both sides of the join exchange (mesh/join.h) in two ways.
 *
 * Raw: the input as a datagram into a long-lived inviter (from one source)
 * and into a joiner that has sent its hello. The inviter's answer is never
 * longer than a hello it answers (no amplification) nor than
 * MG_CTL_MAX_LEN; the joiner, to whom no one here can sign, never accepts
 * the input and stays waiting.
 *
 * Near-valid: a real exchange between a fresh joiner and the inviter, with
 * the input after its first byte XORed onto one message (CHALLENGE, REQUEST
 * or RESULT, chosen by the first byte). With a mask of zeros the exchange
 * must succeed with admit run once; with any other mask the changed message
 * is refused (by the joiner: an error other than a refusal, its state kept;
 * by the inviter: admit not run) and the genuine one still goes through. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/join.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW UINT64_C(1800000000)

static struct world {
	bool ready;
	uint8_t inviter_sk[64], member_sk[64], wg_pub[32];
	struct mg_token token;
	struct mg_join_invite invite;
	struct mg_join_server server;
	int admits;
	uint64_t sources;
} w;

#define REQUIRE(cond)                                                           \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "fuzz_join:%d: %s\n", __LINE__, #cond); \
			abort();                                                \
		}                                                               \
	} while (0)

static int lookup(void *ctx, const uint8_t id[MG_TOKEN_INVITE_ID_LEN], struct mg_join_invite *out)
{
	static const int answer[4] = { 0, -ENOENT, -EUSERS, -EKEYEXPIRED };

	(void)ctx;
	/* Any id, so that raw hellos reach every path. */
	if (answer[id[0] % 4] == 0)
		*out = w.invite;
	return answer[id[0] % 4];
}

static int admit(void *ctx, const struct mg_join_request *req, uint8_t *payload, size_t cap,
		 size_t *len)
{
	(void)ctx;
	(void)req;
	w.admits++;
	memset(payload, 0xaa, cap < 40 ? cap : 40);
	*len = 40;
	return MG_JOIN_OK;
}

/* An issuer certified by an authority; the inviter holds the issuer's
 * certificate and signs with its member key; the token is the issuer's. */
static void make_issuer(uint8_t *cert, int *cert_len, uint8_t issuer_sk[64],
			const uint8_t mesh_id[16], const uint8_t auth_sk[64])
{
	struct mg_cert c;

	memset(&c, 0, sizeof(c));
	c.role = MG_CERT_ROLE_ISSUER;
	c.serial = 1;
	memcpy(c.mesh_id, mesh_id, 16);
	c.not_before = NOW - 3600;
	c.not_after = NOW + MG_CERT_LIFETIME;
	mg_random_bytes(c.wg_key, 32);
	mg_ed25519_generate(issuer_sk, c.key);
	strcpy(c.name, "alpha");
	REQUIRE(mg_cert_sign(&c, auth_sk) == 0);
	*cert_len = mg_cert_encode(cert, MG_CERT_MAX_LEN, &c);
	REQUIRE(*cert_len > 0);
}

static void setup(void)
{
	struct mg_join_policy policy = { lookup, admit, NULL };
	uint8_t auth_sk[64], issuer_sk[64], cert[MG_CERT_MAX_LEN], pk[32];
	char text[MG_TOKEN_TEXT_MAX + 1];
	struct mg_token t;
	size_t dropped;
	int cert_len;

	REQUIRE(mg_crypto_init() == 0);
	memset(&t, 0, sizeof(t));
	mg_random_bytes(t.mesh_id, 16);
	mg_ed25519_generate(auth_sk, t.authority);
	make_issuer(cert, &cert_len, issuer_sk, t.mesh_id, auth_sk);
	mg_random_bytes(t.invite_id, 16);
	t.invite_id[0] &= (uint8_t)~3; /* lookup admits it */
	t.expiry = NOW + 24 * 3600;
	t.uses = 1;
	mg_ed25519_generate(w.inviter_sk, t.inviter_key);
	mg_random_bytes(t.secret, 32);
	t.n_endpoints = 1;
	t.endpoints[0].family = 2; /* AF_INET */
	t.endpoints[0].port = 51820;
	REQUIRE(mg_token_seal(text, &t, issuer_sk, &dropped) == 0);
	REQUIRE(mg_token_decode(&w.token, text, strlen(text)) == 0);
	memcpy(w.invite.secret, t.secret, 32);
	w.invite.expiry = t.expiry;
	w.invite.uses_left = 1;
	REQUIRE(mg_join_server_init(&w.server, &policy, w.inviter_sk, cert, (size_t)cert_len) == 0);
	mg_random_bytes(w.wg_pub, 32);
	mg_ed25519_generate(w.member_sk, pk);
	w.ready = true;
}

static void raw(const uint8_t *data, size_t size)
{
	uint8_t out[MG_CTL_MAX_LEN];
	struct mg_join_client c;
	size_t n = 1;
	int err;

	err = mg_join_server_input(&w.server, (const uint8_t *)"raw", 3, data, size, NOW, out, &n);
	REQUIRE(err < 0 ? n == 0 : n <= MG_CTL_MAX_LEN);
	if (size > 2 && data[2] == MG_CTL_JOIN_HELLO)
		REQUIRE(n <= size);

	REQUIRE(mg_join_client_init(&c, &w.token, w.wg_pub, w.member_sk, "") == 0);
	mg_join_client_hello(&c, out);
	err = mg_join_client_input(&c, data, size, NOW, out, &n);
	REQUIRE(err < 0 && err != -ECONNREFUSED && n == 0);
	REQUIRE(c.state == MG_JOIN_CLIENT_HELLO);
	mg_join_client_wipe(&c);
}

/* XORs mask onto msg; true when that changed a byte. */
static bool apply(uint8_t *msg, size_t len, const uint8_t *mask, size_t masklen)
{
	bool changed = false;

	for (size_t i = 0; i < len && i < masklen; i++) {
		msg[i] ^= mask[i];
		changed |= mask[i] != 0;
	}
	return changed;
}

/* The inviter's answer from this run's source. */
static size_t to_server(const uint8_t *from, const uint8_t *buf, size_t len, uint8_t *out)
{
	size_t n;

	if (mg_join_server_input(&w.server, from, 8, buf, len, NOW, out, &n) < 0)
		REQUIRE(n == 0);
	return n;
}

/* The joiner must refuse buf (changed) or accept it (genuine). */
static int to_client(struct mg_join_client *c, const uint8_t *buf, size_t len, bool changed,
		     uint8_t *out, size_t *n)
{
	int state = c->state, err = mg_join_client_input(c, buf, len, NOW, out, n);

	if (changed) {
		REQUIRE(err < 0 && err != -ECONNREFUSED && (int)c->state == state);
		return err;
	}
	REQUIRE(err >= 0);
	return err;
}

static void near_valid(const uint8_t *data, size_t size)
{
	uint8_t hello[MG_CTL_MAX_LEN], ch[MG_CTL_MAX_LEN], bad[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN],
		rs[MG_CTL_MAX_LEN], out[MG_CTL_MAX_LEN];
	size_t chlen, rqlen, rslen, n;
	struct mg_join_client c;
	int which = size ? data[0] % 3 : 0, admits = w.admits;
	const uint8_t *mask = size ? data + 1 : NULL;
	size_t masklen = size ? size - 1 : 0;
	uint8_t from[8];
	bool changed;

	memcpy(from, &w.sources, 8);
	w.sources++;
	REQUIRE(mg_join_client_init(&c, &w.token, w.wg_pub, w.member_sk, "kilo") == 0);
	mg_join_client_hello(&c, hello);
	chlen = to_server(from, hello, MG_JOIN_HELLO_LEN, ch);
	REQUIRE(chlen > 0);
	memcpy(bad, ch, chlen);
	changed = which == 0 && apply(bad, chlen, mask, masklen);
	if (to_client(&c, bad, chlen, changed, rq, &rqlen) < 0)
		REQUIRE(to_client(&c, ch, chlen, false, rq, &rqlen) == 0);

	memcpy(bad, rq, rqlen);
	changed = which == 1 && apply(bad, rqlen, mask, masklen);
	rslen = to_server(from, bad, rqlen, rs);
	if (changed) {
		REQUIRE(w.admits == admits);
		rslen = to_server(from, rq, rqlen, rs);
	}
	REQUIRE(w.admits == admits + 1 && rslen > 0);

	memcpy(bad, rs, rslen);
	changed = which == 2 && apply(bad, rslen, mask, masklen);
	if (to_client(&c, bad, rslen, changed, out, &n) < 0)
		REQUIRE(to_client(&c, rs, rslen, false, out, &n) == MG_JOIN_DONE);
	REQUIRE(c.state == MG_JOIN_CLIENT_DONE && c.payload_len == 40);
	mg_join_client_wipe(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!w.ready)
		setup();
	raw(data, size);
	near_valid(data, size);
	return 0;
}
