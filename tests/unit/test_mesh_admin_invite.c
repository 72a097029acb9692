/* invite writes its record, then a token that decodes and that
 * mg_token_verify accepts with the authority key in it: signed by the
 * authority while DIR holds its key, else by the issuer (verified with the
 * issuer certificate). The token carries the record's id, secret, expiry,
 * uses, name and groups, this member's member key, and the endpoints with
 * the --endpoint values first and the caller's extra ones last. */
#include <arpa/inet.h>

#include "mesh_state_fixture.h"

static void invite(const char *dir, struct mg_token *t, const struct mg_token_endpoint *extra,
		   size_t n_extra)
{
	static const char *const groups[] = { "laptops", "ops" };
	struct mg_mesh_invite_params p = {
		.name = "bravo", .uses = 2, .groups = groups, .n_groups = 2, .now = SD_T0
	};
	char text[MG_TOKEN_TEXT_MAX + 1], err[512];
	size_t dropped;

	CHECK_EQ(mg_mesh_admin_invite(dir, &p, extra, n_extra, text, &dropped, err, sizeof(err)),
		 0);
	CHECK_EQ(mg_token_decode(t, text, strlen(text)), 0);
	CHECK_EQ(t->expiry, SD_T0 + MG_INVITE_EXPIRES);
	CHECK_EQ(t->uses, 2);
	CHECK_EQ(strcmp(t->name, "bravo"), 0);
	CHECK_EQ(t->n_groups, 2);
	CHECK_EQ(strcmp(t->groups[1], "ops"), 0);
	CHECK_EQ(t->n_endpoints + dropped >= 2 + n_extra, 1);
}

static void check_record(const char *dir, const struct mg_token *t)
{
	struct mg_invite_record r;
	struct mg_state st;
	char err[512];

	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_load(&st, t->invite_id, &r, err, sizeof(err)), 0);
	CHECK(mg_equal(r.secret, t->secret, 32));
	CHECK_EQ(r.expiry, t->expiry);
	CHECK_EQ(r.uses, 2);
	CHECK_EQ(r.used, 0);
	CHECK_EQ(strcmp(r.name, "bravo"), 0);
	CHECK_EQ(r.n_groups, 2);
	mg_invite_record_wipe(&r);
	mg_state_close(&st);
}

int main(void)
{
	struct mg_token_endpoint extra = { .family = AF_INET, .port = 3478 };
	char dir[PATH_MAX], err[512], path[PATH_MAX + 32], text[MG_TOKEN_TEXT_MAX + 1];
	struct mg_mesh_invite_params bad = { .name = "no spaces", .now = SD_T0 };
	struct mg_cert member, issuer;
	struct mg_state st;
	struct mg_token t;
	size_t dropped;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(sd_init(dir, "alpha", err, sizeof(err)), 0);
	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_cert_load(&st, MG_STATE_MEMBER_C, &member, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_cert_load(&st, MG_STATE_ISSUER_C, &issuer, err, sizeof(err)), 0);
	mg_state_close(&st);
	inet_pton(AF_INET, "203.0.113.7", extra.addr);

	invite(dir, &t, &extra, 1);
	CHECK(mg_token_signed_by_authority(&t));
	CHECK_EQ(mg_token_verify(&t, NULL, SD_T0, NULL), 0);
	CHECK_MEM(t.inviter_key, member.key, 32);
	CHECK_EQ(t.endpoints[0].family, AF_INET);
	CHECK_EQ(t.endpoints[0].port, 51820);
	CHECK_MEM(t.endpoints[0].addr, "\xc0\x00\x02\x0a", 4);
	CHECK_EQ(t.endpoints[1].family, 0);
	CHECK_EQ(strcmp(t.endpoints[1].host, "vpn.example.net"), 0);
	CHECK_EQ(t.endpoints[1].port, 4500);
	if (t.n_endpoints < MG_TOKEN_ENDPOINTS_MAX) {
		struct mg_token_endpoint *last = &t.endpoints[t.n_endpoints - 1];
		CHECK_EQ(last->port, 3478);
		CHECK_MEM(last->addr, extra.addr, 4);
	}
	check_record(dir, &t);
	mg_token_wipe(&t);

	/* Without the authority key: the issuer signs. */
	snprintf(path, sizeof(path), "%s/%s", dir, MG_STATE_AUTHORITY);
	CHECK_EQ(unlink(path), 0);
	invite(dir, &t, NULL, 0);
	CHECK(!mg_token_signed_by_authority(&t));
	CHECK_EQ(mg_token_verify(&t, NULL, SD_T0, NULL), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_token_verify(&t, &issuer, SD_T0, NULL), 0);
	check_record(dir, &t);
	mg_token_wipe(&t);

	/* Neither key: this member cannot invite. */
	snprintf(path, sizeof(path), "%s/%s", dir, MG_STATE_ISSUER);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(mg_mesh_admin_invite(dir, &bad, NULL, 0, text, &dropped, err, sizeof(err)),
		 -EINVAL);
	bad.name = NULL;
	CHECK_EQ(mg_mesh_admin_invite(dir, &bad, NULL, 0, text, &dropped, err, sizeof(err)),
		 -EPERM);
	CHECK(strstr(err, dir) != NULL);

	/* The daemon's way: a locked state; then the standalone one waits. */
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_mesh_admin_invite(dir, &bad, NULL, 0, text, &dropped, err, sizeof(err)),
		 -EWOULDBLOCK);
	CHECK_EQ(mg_mesh_admin_invite_locked(&st, &bad, NULL, 0, text, &dropped, err, sizeof(err)),
		 -EPERM);
	mg_state_close(&st);
	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_mesh_admin_invite_locked(&st, &bad, NULL, 0, text, &dropped, err, sizeof(err)),
		 -ENOLCK);
	mg_state_close(&st);

	sd_remove(dir);
	mg_test_pass("mesh_admin_invite");
	return 0;
}
