/* The inviter's pending sessions are bounded. A flood of hellos from many
 * sources never holds more than MG_JOIN_SESSIONS_MAX sessions: the oldest
 * pending one goes first, an admitted one (whose use is spent) last, so an
 * admitted joiner still gets its result again. A pending session lives
 * MG_JOIN_SESSION_TTL seconds; an admitted one as long again from its
 * admission. */
#include "join_fixture.h"

#define FLOOD (3 * MG_JOIN_SESSIONS_MAX)

static struct mg_join_client flood[FLOOD];

/* Sends flood[i]'s hello from source "flood-i" at now; the challenge. */
static size_t flood_hello(struct jfx *j, size_t i, uint64_t now, uint8_t *ch)
{
	uint8_t hello[MG_CTL_MAX_LEN];
	char from[32];
	size_t n;

	snprintf(from, sizeof(from), "flood-%zu", i);
	mg_join_client_hello(&flood[i], hello);
	CHECK_EQ(mg_join_server_input(&j->server, (const uint8_t *)from, strlen(from), hello,
				      MG_JOIN_HELLO_LEN, now, ch, &n),
		 0);
	CHECK(n > 0);
	return n;
}

int main(void)
{
	uint8_t ch[MG_CTL_MAX_LEN], ch2[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN], rs[MG_CTL_MAX_LEN],
		rs2[MG_CTL_MAX_LEN], prq[MG_CTL_MAX_LEN], out[MG_CTL_MAX_LEN];
	size_t n, rqlen, rslen, prqlen;
	struct jfx j;
	int err;

	jfx_init(&j, false, "india");
	j.invite.uses_left = 100;
	/* An admitted joiner, and a pending one from another source. */
	n = jfx_challenge(&j, ch);
	rqlen = jfx_request(&j, ch, n, rq);
	rslen = jfx_to_server(&j, rq, rqlen, T0, rs, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(j.admits, 1);
	CHECK_EQ(mg_join_client_init(&j.client, &j.token, j.wg_pub, j.member_sk, ""), 0);
	n = jfx_challenge(&j, ch);
	prqlen = jfx_request(&j, ch, n, prq);

	for (size_t i = 0; i < FLOOD; i++) {
		CHECK_EQ(mg_join_client_init(&flood[i], &j.token, j.wg_pub, j.member_sk, ""), 0);
		flood_hello(&j, i, T0 + 1, ch);
		CHECK(mg_join_server_sessions(&j.server, T0 + 1) <= MG_JOIN_SESSIONS_MAX);
	}
	CHECK_EQ(mg_join_server_sessions(&j.server, T0 + 1), MG_JOIN_SESSIONS_MAX);
	CHECK_EQ(j.lookups, FLOOD + 2);

	/* The pending joiner was evicted; the admitted one kept its result. */
	CHECK_EQ(jfx_to_server(&j, prq, prqlen, T0 + 2, out, &err), 0);
	CHECK_EQ(err, -ENOMSG);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + 2, rs2, &err), rslen);
	CHECK_MEM(rs, rs2, rslen);
	CHECK_EQ(j.admits, 1);

	/* The newest hellos still have their sessions (the same challenge
	 * again, no lookup); the oldest do not (a new one). */
	n = flood_hello(&j, FLOOD - 1, T0 + 2, ch);
	CHECK_EQ(flood_hello(&j, FLOOD - 1, T0 + 3, ch2), n);
	CHECK_MEM(ch, ch2, n);
	CHECK_EQ(j.lookups, FLOOD + 2);
	flood_hello(&j, 0, T0 + 3, ch2);
	CHECK_EQ(j.lookups, FLOOD + 3);

	/* Pending sessions end after MG_JOIN_SESSION_TTL seconds, the admitted
	 * one MG_JOIN_SESSION_TTL after its admission. */
	CHECK_EQ(mg_join_server_sessions(&j.server, T0 + MG_JOIN_SESSION_TTL),
		 MG_JOIN_SESSIONS_MAX - 1);
	CHECK_EQ(mg_join_server_sessions(&j.server, T0 + 1 + MG_JOIN_SESSION_TTL), 1);
	CHECK_EQ(mg_join_server_sessions(&j.server, T0 + 3 + MG_JOIN_SESSION_TTL), 0);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + MG_JOIN_SESSION_TTL - 1, rs2, &err), rslen);
	CHECK_EQ(jfx_to_server(&j, rq, rqlen, T0 + MG_JOIN_SESSION_TTL, rs2, &err), 0);
	CHECK_EQ(err, -ENOMSG);

	/* A source id longer than MG_JOIN_FROM_MAX is refused. */
	CHECK_EQ(mg_join_server_input(&j.server, out, MG_JOIN_FROM_MAX + 1, rq, rqlen, T0, rs2, &n),
		 -EINVAL);

	for (size_t i = 0; i < FLOOD; i++)
		mg_join_client_wipe(&flood[i]);
	jfx_free(&j);
	mg_test_pass("mesh_join_sessions");
	return 0;
}
