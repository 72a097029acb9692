/* Refusals reach the joiner authenticated and with their reason: an unknown,
 * used-up or expired invite in the challenge (the lookup's -ENOENT, -EUSERS,
 * -EKEYEXPIRED, and the inviter's own check of uses and expiry), a taken
 * name or a failing inviter in the result, a wrong secret as "refused"
 * without admit running. A refusal signed by any key but the inviter's in
 * the token is rejected as forged and leaves the joiner waiting. */
#include "join_fixture.h"

/* The joiner's verdict on the challenge of an inviter that refuses. */
static void challenge_refusal(bool by_issuer, int lookup_err, uint16_t uses, uint64_t now, int want)
{
	uint8_t ch[MG_CTL_MAX_LEN];
	size_t n;
	struct jfx j;

	jfx_init(&j, by_issuer, "echo");
	j.lookup_err = lookup_err;
	j.invite.uses_left = uses;
	n = jfx_challenge(&j, ch);
	CHECK_EQ(ch[4], want);
	CHECK(mg_is_zero(ch + 21, 48));
	/* No session for a refusal. */
	CHECK_EQ(mg_join_server_sessions(&j.server, T0), 0);
	CHECK_EQ(jfx_to_client(&j, ch, n, now), -ECONNREFUSED);
	CHECK_EQ(j.client.state, MG_JOIN_CLIENT_FAILED);
	CHECK_EQ(j.client.status, want);
	CHECK(mg_is_zero(j.client.e_priv, 32) && mg_is_zero(j.client.token.secret, 32));
	CHECK_EQ(j.admits, 0);
	jfx_free(&j);
}

/* The inviter's own clock says the invite expired, whatever lookup says;
 * the joiner checks the refusal's chain as it stood at the expiry. */
static void expired_by_clock(bool by_issuer)
{
	uint8_t hello[MG_CTL_MAX_LEN], ch[MG_CTL_MAX_LEN];
	uint64_t late = T0 + 48 * 3600;
	struct jfx j;
	size_t n;
	int err;

	jfx_init(&j, by_issuer, "");
	mg_join_client_hello(&j.client, hello);
	n = jfx_to_server(&j, hello, MG_JOIN_HELLO_LEN, late, ch, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(ch[4], MG_JOIN_EXPIRED);
	CHECK_EQ(jfx_to_client(&j, ch, n, late), -ECONNREFUSED);
	CHECK_EQ(j.client.status, MG_JOIN_EXPIRED);
	jfx_free(&j);
}

static void result_refusal(int admit_status)
{
	uint8_t rs[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n;

	jfx_init(&j, true, "alpha");
	j.admit_status = admit_status;
	n = jfx_result(&j, rs);
	CHECK_EQ(j.admits, 1);
	CHECK_EQ(rs[84], admit_status);
	CHECK_EQ(n, 85 + 16);
	CHECK_EQ(jfx_to_client(&j, rs, n, T0), -ECONNREFUSED);
	CHECK_EQ(j.client.status, admit_status);
	CHECK_EQ(j.client.payload_len, 0);
	jfx_free(&j);
}

/* Admit answering nonsense is sent as an internal error. */
static void admit_nonsense(void)
{
	uint8_t rs[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n;

	jfx_init(&j, false, "");
	j.admit_status = 77;
	n = jfx_result(&j, rs);
	CHECK_EQ(rs[84], MG_JOIN_INTERNAL);
	CHECK_EQ(jfx_to_client(&j, rs, n, T0), -ECONNREFUSED);
	CHECK_EQ(j.client.status, MG_JOIN_INTERNAL);
	jfx_free(&j);
}

static void wrong_secret(bool by_issuer)
{
	uint8_t rs[MG_CTL_MAX_LEN], rs2[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN];
	struct jfx j;
	size_t n, rqlen;
	int err;

	jfx_init(&j, by_issuer, "");
	j.invite.secret[31] ^= 1; /* the inviter's record disagrees */
	n = jfx_result(&j, rs);
	CHECK_EQ(j.admits, 0);
	CHECK_EQ(n, MG_JOIN_REFUSED_LEN);
	CHECK_EQ(rs[84], MG_JOIN_REFUSED);
	/* The session stays pending: a retransmission is refused again. */
	rqlen = mg_join_client_request(&j.client, rq);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + 1, rs2, &err), n);
	CHECK_MEM(rs, rs2, n);
	CHECK_EQ(j.admits, 0);
	CHECK_EQ(jfx_to_client(&j, rs, n, T0), -ECONNREFUSED);
	CHECK_EQ(j.client.status, MG_JOIN_REFUSED);
	jfx_free(&j);
}

/* An inviter with another member key: its refusals (and its challenges)
 * are forgeries to the joiner, who keeps waiting for the real one. */
static void forged(bool by_issuer)
{
	struct mg_join_policy policy = { jfx_lookup, jfx_admit, NULL };
	uint8_t sk[64], pk[32], hello[MG_CTL_MAX_LEN], ch[MG_CTL_MAX_LEN];
	struct mg_join_server mallory;
	struct jfx j;
	size_t n;

	jfx_init(&j, by_issuer, "");
	policy.ctx = &j;
	mg_ed25519_generate(sk, pk);
	CHECK_EQ(mg_join_server_init(&mallory, &policy, sk, j.server.cert, j.server.cert_len), 0);
	mg_join_client_hello(&j.client, hello);
	for (int err = 0; err > -3; err--) {
		j.lookup_err = err == 0 ? 0 : err == -1 ? -ENOENT : -EUSERS;
		CHECK_EQ(mg_join_server_input(&mallory, (const uint8_t *)"x", 1, hello,
					      MG_JOIN_HELLO_LEN, T0, ch, &n),
			 0);
		CHECK_EQ(jfx_to_client(&j, ch, n, T0), -MG_MESH_ESIGNATURE);
		CHECK_EQ(j.client.state, MG_JOIN_CLIENT_HELLO);
	}
	/* The genuine refusal still gets through. */
	j.lookup_err = -ENOENT;
	n = jfx_challenge(&j, ch);
	CHECK_EQ(jfx_to_client(&j, ch, n, T0), -ECONNREFUSED);
	CHECK_EQ(j.client.status, MG_JOIN_UNKNOWN);
	mg_join_server_free(&mallory);
	mg_wipe(sk, sizeof(sk));
	jfx_free(&j);
}

/* A lookup failing otherwise: the hello is dropped unanswered. */
static void lookup_failure(void)
{
	uint8_t hello[MG_CTL_MAX_LEN], out[MG_CTL_MAX_LEN];
	struct jfx j;
	int err;

	jfx_init(&j, false, "");
	j.lookup_err = -EIO;
	mg_join_client_hello(&j.client, hello);
	CHECK_EQ(jfx_to_server(&j, hello, MG_JOIN_HELLO_LEN, T0, out, &err), 0);
	CHECK_EQ(err, -EIO);
	jfx_free(&j);
}

int main(void)
{
	for (int by_issuer = 0; by_issuer < 2; by_issuer++) {
		challenge_refusal(by_issuer, -ENOENT, 1, T0, MG_JOIN_UNKNOWN);
		challenge_refusal(by_issuer, -EUSERS, 1, T0, MG_JOIN_USED_UP);
		challenge_refusal(by_issuer, 0, 0, T0, MG_JOIN_USED_UP);
		challenge_refusal(by_issuer, -EKEYEXPIRED, 1, T0, MG_JOIN_EXPIRED);
		/* Refused after the token's expiry: still verified. */
		challenge_refusal(by_issuer, -EKEYEXPIRED, 1, T0 + 30 * 24 * 3600, MG_JOIN_EXPIRED);
		expired_by_clock(by_issuer);
		wrong_secret(by_issuer);
		forged(by_issuer);
	}
	result_refusal(MG_JOIN_NAME_TAKEN);
	result_refusal(MG_JOIN_USED_UP);
	result_refusal(MG_JOIN_EXPIRED);
	result_refusal(MG_JOIN_INTERNAL);
	admit_nonsense();
	lookup_failure();
	mg_test_pass("mesh_join_refusals");
	return 0;
}
