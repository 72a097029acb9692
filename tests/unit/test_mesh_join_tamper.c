/* Every changed byte is caught: a CHALLENGE (accepting or refusing) or a
 * RESULT (admitting, sealed refusal, signed refusal) with any one byte
 * flipped, one byte short or one byte long is rejected by the joiner as
 * malformed, forged or not its own, never taken as a refusal, and leaves it
 * waiting for the genuine message, which it then accepts. A REQUEST with any
 * byte flipped never reaches admit. */
#include "join_fixture.h"

/* The joiner rejects every variant of msg and stays in state. */
static void check_variants(struct jfx *j, const uint8_t *msg, size_t len, int state)
{
	uint8_t bad[MG_CTL_MAX_LEN + 1];
	int err;
	size_t forged = 0;

	memcpy(bad, msg, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			bad[i] ^= (uint8_t)(1 << bit);
			err = jfx_to_client(j, bad, len, T0);
			CHECK(err < 0 && err != -ECONNREFUSED);
			forged += err == -MG_MESH_ESIGNATURE;
			CHECK_EQ(j->client.state, state);
			bad[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Flips in the tag or signature always parse: the check really ran. */
	CHECK(forged >= 2 * MG_AEAD_TAG_LEN);
	CHECK(jfx_to_client(j, bad, len - 1, T0) < 0);
	bad[len] = 0;
	CHECK(jfx_to_client(j, bad, len + 1, T0) < 0);
	CHECK_EQ(j->client.state, state);
}

static void challenge(bool by_issuer, int lookup_err)
{
	uint8_t ch[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n;

	jfx_init(&j, by_issuer, "foxtrot");
	j.lookup_err = lookup_err;
	n = jfx_challenge(&j, ch);
	check_variants(&j, ch, n, MG_JOIN_CLIENT_HELLO);
	if (lookup_err)
		CHECK_EQ(jfx_to_client(&j, ch, n, T0), -ECONNREFUSED);
	else
		jfx_request(&j, ch, n, rq);
	jfx_free(&j);
}

/* A RESULT made with admit answering admit_status, or a signed refusal
 * when the inviter's secret is wrong. */
static void result(bool by_issuer, int admit_status, bool wrong_secret)
{
	uint8_t rs[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n;

	jfx_init(&j, by_issuer, "");
	j.admit_status = admit_status;
	if (wrong_secret)
		j.invite.secret[0] ^= 0x80;
	n = jfx_result(&j, rs);
	check_variants(&j, rs, n, MG_JOIN_CLIENT_REQUEST);
	CHECK_EQ(jfx_to_client(&j, rs, n, T0),
		 admit_status == MG_JOIN_OK && !wrong_secret ? MG_JOIN_DONE : -ECONNREFUSED);
	jfx_free(&j);
}

static void request(bool by_issuer)
{
	uint8_t ch[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN], out[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n;
	int err;

	jfx_init(&j, by_issuer, "golf");
	n = jfx_challenge(&j, ch);
	n = jfx_request(&j, ch, n, rq);
	for (size_t i = 0; i < n; i++) {
		rq[i] ^= 0x10;
		jfx_to_server(&j, rq, n, T0, out, &err);
		CHECK_EQ(j.admits, 0);
		rq[i] ^= 0x10;
	}
	jfx_to_server(&j, rq, n, T0, out, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(j.admits, 1);
	jfx_free(&j);
}

int main(void)
{
	for (int by_issuer = 0; by_issuer < 2; by_issuer++) {
		challenge(by_issuer, 0);
		challenge(by_issuer, -EUSERS);
		result(by_issuer, MG_JOIN_OK, false);
		result(by_issuer, MG_JOIN_NAME_TAKEN, false);
		result(by_issuer, MG_JOIN_OK, true);
		request(by_issuer);
	}
	mg_test_pass("mesh_join_tamper");
	return 0;
}
