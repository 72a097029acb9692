/* A whole join exchange in memory, for a token signed by the authority and
 * one signed by an issuer: the joiner ends with the inviter's payload, the
 * inviter's admit sees the joiner's new keys and name, each message has the
 * layout of join.h, retransmissions get the same bytes back (the same
 * challenge for a hello; the same result for a request, admit running
 * once), and the joiner's secrets are wiped at the end. With a directory
 * argument, writes the fuzz seeds of fuzz/corpus/join. */
#include "join_fixture.h"

static void write_seeds(const char *dir, const uint8_t *hello, const uint8_t *ch, size_t chlen,
			const uint8_t *rq, size_t rqlen, const uint8_t *rs, size_t rslen)
{
	if (!dir)
		return;
	fx_write_seed(dir, "hello", hello, MG_JOIN_HELLO_LEN);
	fx_write_seed(dir, "challenge", ch, chlen);
	fx_write_seed(dir, "request", rq, rqlen);
	fx_write_seed(dir, "result", rs, rslen);
}

/* The clear fields where join.h puts them. */
static void check_layout(const struct jfx *j, const uint8_t *hello, const uint8_t *ch, size_t chlen,
			 const uint8_t *rq, size_t rqlen, const uint8_t *rs, size_t rslen,
			 const char *name)
{
	size_t c = j->server.cert_len;

	CHECK_MEM(hello, "\x6d\x01\x01\x00", 4);
	CHECK_MEM(hello + 4, j->token.invite_id, 16);
	CHECK(mg_is_zero(hello + 68, MG_JOIN_HELLO_LEN - 68));
	CHECK_MEM(ch, "\x6d\x01\x02\x00", 4);
	CHECK_EQ(ch[4], MG_JOIN_OK);
	CHECK_MEM(ch + 5, j->token.invite_id, 16);
	CHECK_EQ(ch[69] << 8 | ch[70], c);
	CHECK_MEM(ch + 71, j->server.cert, c);
	CHECK_EQ(chlen, 135 + c);
	CHECK(chlen <= MG_JOIN_HELLO_LEN);
	CHECK_MEM(rq, "\x6d\x01\x03\x00", 4);
	CHECK_MEM(rq + 4, j->token.invite_id, 16);
	CHECK_MEM(rq + 20, hello + 20, 32);
	CHECK_MEM(rq + 52, ch + 21, 32);
	CHECK_EQ(rqlen, 261 + strlen(name));
	CHECK_MEM(rs, "\x6d\x01\x04\x00", 4);
	CHECK_MEM(rs + 4, rq + 4, 80);
	CHECK_EQ(rs[84], MG_JOIN_OK);
	CHECK_EQ(rslen, 85 + j->client.payload_len + 16);
}

static void run(bool by_issuer, const char *name, const char *seeds)
{
	uint8_t hello[MG_CTL_MAX_LEN], hello2[MG_CTL_MAX_LEN], ch[MG_CTL_MAX_LEN],
		ch2[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN], rq2[MG_CTL_MAX_LEN], rs[MG_CTL_MAX_LEN],
		rs2[MG_CTL_MAX_LEN], want[MG_CTL_MAX_LEN];
	size_t chlen, rqlen, rslen;
	struct jfx j;
	int err;

	jfx_init(&j, by_issuer, name);
	CHECK_EQ(mg_join_client_request(&j.client, rq), 0);
	CHECK_EQ(mg_join_client_hello(&j.client, hello), MG_JOIN_HELLO_LEN);
	CHECK_EQ(mg_join_client_hello(&j.client, hello2), MG_JOIN_HELLO_LEN);
	CHECK_MEM(hello, hello2, MG_JOIN_HELLO_LEN);

	chlen = jfx_challenge(&j, ch);
	/* A retransmitted hello: the very same challenge, no second lookup. */
	CHECK_EQ(jfx_to_server(&j, hello, MG_JOIN_HELLO_LEN, T0 + 1, ch2, &err), chlen);
	CHECK_EQ(err, 0);
	CHECK_MEM(ch, ch2, chlen);
	CHECK_EQ(j.lookups, 1);
	CHECK_EQ(mg_join_server_sessions(&j.server, T0), 1);

	rqlen = jfx_request(&j, ch, chlen, rq);
	CHECK_EQ(mg_join_client_request(&j.client, rq2), rqlen);
	CHECK_MEM(rq, rq2, rqlen);
	/* The duplicate challenge is not for the joiner any more. */
	CHECK_EQ(jfx_to_client(&j, ch2, chlen, T0), -ENOMSG);

	rslen = jfx_to_server(&j, rq, rqlen, T0 + 2, rs, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(j.admits, 1);
	CHECK_MEM(j.last.invite_id, j.token.invite_id, 16);
	CHECK_MEM(j.last.wg_key, j.wg_pub, 32);
	CHECK_MEM(j.last.member_key, j.member_pk, 32);
	CHECK(strcmp(j.last.name, name) == 0);
	/* A retransmitted request: the cached result, admit not run again. */
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + 20, rs2, &err), rslen);
	CHECK_EQ(err, 0);
	CHECK_MEM(rs, rs2, rslen);
	CHECK_EQ(j.admits, 1);

	CHECK_EQ(jfx_to_client(&j, rs, rslen, T0 + 2), MG_JOIN_DONE);
	CHECK_EQ(j.client.state, MG_JOIN_CLIENT_DONE);
	CHECK_EQ(j.client.status, MG_JOIN_OK);
	CHECK_EQ(j.client.payload_len, jfx_payload(want, name));
	CHECK_MEM(j.client.payload, want, j.client.payload_len);
	check_layout(&j, hello, ch, chlen, rq, rqlen, rs, rslen, name);
	/* The end wiped the ephemeral key, k, the member key and the secret. */
	CHECK(mg_is_zero(j.client.e_priv, 32) && mg_is_zero(j.client.k, 32));
	CHECK(mg_is_zero(j.client.member_sk, 64) && mg_is_zero(j.client.token.secret, 32));
	CHECK_EQ(mg_join_client_request(&j.client, rq2), 0);
	/* Nothing more is taken. */
	CHECK_EQ(jfx_to_client(&j, rs, rslen, T0 + 2), -ENOMSG);

	write_seeds(seeds, hello, ch, chlen, rq, rqlen, rs, rslen);
	jfx_free(&j);
}

int main(int argc, char **argv)
{
	const char *seeds = argc > 1 ? argv[1] : NULL;

	run(false, "charlie", NULL);
	run(false, "", NULL);
	run(true, "delta-2", seeds);
	run(true, "", NULL);
	mg_test_pass("mesh_join_exchange");
	return 0;
}
