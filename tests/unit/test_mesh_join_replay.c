/* A captured exchange cannot be replayed. Once the session that answered it
 * is gone (expired, or the inviter restarted), the joiner's captured HELLO
 * gets a new challenge (fresh eI, nI), and the captured REQUEST finds no
 * session; rewritten to name the new eI it does not open (k depends on eI
 * and nI through H) and is refused; admit never runs. A request from
 * another source than the hello's finds no session either. */
#include "join_fixture.h"

int main(void)
{
	uint8_t hello[MG_CTL_MAX_LEN], ch[MG_CTL_MAX_LEN], ch2[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN],
		rs[MG_CTL_MAX_LEN], out[MG_CTL_MAX_LEN];
	uint64_t later = T0 + 1 + MG_JOIN_SESSION_TTL; /* admitted at T0 + 1 */
	size_t chlen, rqlen, n;
	struct jfx j;
	int err;

	jfx_init(&j, true, "hotel");
	j.invite.uses_left = 5; /* uses left: only the protocol stops a replay */
	mg_join_client_hello(&j.client, hello);
	chlen = jfx_challenge(&j, ch);
	rqlen = jfx_request(&j, ch, chlen, rq);

	/* Another source with the captured request: no such session. */
	CHECK_EQ(
		mg_join_server_input(&j.server, (const uint8_t *)"evil", 4, rq, rqlen, T0, out, &n),
		-ENOMSG);
	CHECK_EQ(n, 0);
	CHECK(jfx_to_server(&j, rq, rqlen, T0 + 1, rs, &err) > MG_JOIN_RESULT_CLEAR);
	CHECK_EQ(rs[84], MG_JOIN_OK);
	CHECK_EQ(j.admits, 1);

	/* The session is over: the captured hello makes a new challenge. */
	CHECK_EQ(mg_join_server_sessions(&j.server, later), 0);
	CHECK_EQ(jfx_to_server(&j, hello, MG_JOIN_HELLO_LEN, later, ch2, &err), chlen);
	CHECK_EQ(err, 0);
	CHECK(memcmp(ch2 + 21, ch + 21, 48) != 0);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, later, out, &err), 0);
	CHECK_EQ(err, -ENOMSG);
	/* Pointed at the new session: it does not open. */
	memcpy(rq + 52, ch2 + 21, 32);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, later, out, &err), MG_JOIN_REFUSED_LEN);
	CHECK_EQ(err, 0);
	CHECK_EQ(out[84], MG_JOIN_REFUSED);
	CHECK_EQ(j.admits, 1);

	/* The same after a restart of the inviter (a fresh session table). */
	mg_join_server_free(&j.server);
	{
		struct mg_join_policy policy = { jfx_lookup, jfx_admit, &j };
		CHECK_EQ(mg_join_server_init(&j.server, &policy, j.inviter_sk, NULL, 0), 0);
	}
	memcpy(rq + 52, ch + 21, 32);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + 2, out, &err), 0);
	CHECK_EQ(err, -ENOMSG);
	CHECK_EQ(jfx_to_server(&j, hello, MG_JOIN_HELLO_LEN, T0 + 2, ch2, &err), 135);
	memcpy(rq + 52, ch2 + 21, 32);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + 2, out, &err), MG_JOIN_REFUSED_LEN);
	CHECK_EQ(j.admits, 1);

	jfx_free(&j);
	mg_test_pass("mesh_join_replay");
	return 0;
}
