/* mg_token_seal keeps the best endpoints that fit in 512 characters: with
 * eight long host names it drops from the end, says how many, and the
 * token it writes holds exactly the first ones, fits, and verifies. When
 * everything fits it drops nothing. */
#include "mesh_fixture.h"

int main(void)
{
	struct fixture f;
	struct mg_token t, got;
	char text[MG_TOKEN_TEXT_MAX + 1];
	size_t dropped;

	fx_init(&f);
	fx_token(&t, &f, MG_TOKEN_ENDPOINTS_MAX);
	for (size_t i = 0; i < MG_TOKEN_ENDPOINTS_MAX; i++) {
		t.endpoints[i].family = 0;
		memset(t.endpoints[i].addr, 0, 16);
		snprintf(t.endpoints[i].host, sizeof(t.endpoints[i].host),
			 "candidate-%zu.a-rather-long-host-name.example.net", i);
	}
	CHECK_EQ(mg_token_seal(text, &t, f.auth_sk, &dropped), 0);
	CHECK(dropped > 0);
	CHECK_EQ(t.n_endpoints + dropped, MG_TOKEN_ENDPOINTS_MAX);
	CHECK(strlen(text) <= MG_TOKEN_TEXT_MAX);
	CHECK_EQ(mg_token_decode(&got, text, strlen(text)), 0);
	CHECK_EQ(mg_token_verify(&got, NULL, T0, NULL), 0);
	CHECK_EQ(got.n_endpoints, t.n_endpoints);
	for (size_t i = 0; i < got.n_endpoints; i++)
		CHECK(strcmp(got.endpoints[i].host, t.endpoints[i].host) == 0);
	/* One more endpoint would not have fit. */
	t.n_endpoints++;
	CHECK_EQ(mg_token_encode(text, &t), -MG_MESH_ETOOBIG);

	fx_token(&t, &f, MG_TOKEN_ENDPOINTS_MAX);
	CHECK_EQ(mg_token_seal(text, &t, f.auth_sk, &dropped), 0);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(t.n_endpoints, MG_TOKEN_ENDPOINTS_MAX);
	mg_token_wipe(&t);
	mg_token_wipe(&got);
	mg_test_pass("mesh_token_fit");
	return 0;
}
