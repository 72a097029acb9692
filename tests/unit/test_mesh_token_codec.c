/* Tokens seal, encode and decode to the same value at the offsets of
 * token.h; the longest possible token is 511 characters (base64 never makes
 * 4k + 1 characters, so 512 cannot occur) and decodes; 512 and more are
 * refused, as are a wrong prefix, bad base64, an unknown version, every
 * truncation and a trailing byte, each with its own error. With a directory
 * argument, also writes the fuzz seed corpus there. */
#include "mesh_fixture.h"

static void check_same(const struct mg_token *a, const struct mg_token *b)
{
	CHECK(memcmp(a, b, sizeof(*a)) == 0);
}

static size_t text_to_bin(uint8_t *bin, const char *text)
{
	size_t n;

	CHECK_EQ(mg_base64url_decode(bin, MG_TOKEN_BIN_MAX, &n, text + 3, strlen(text) - 3), 0);
	return n;
}

static void bin_to_text(char *text, const uint8_t *bin, size_t n)
{
	memcpy(text, "mg1", 3);
	mg_base64url_encode(text + 3, bin, n);
}

static void check_errors(const char *text)
{
	struct mg_token t;
	uint8_t bin[MG_TOKEN_BIN_MAX + 1];
	char bad[1024];
	size_t n = text_to_bin(bin, text);

	CHECK_EQ(mg_token_decode(&t, "", 0), -MG_MESH_EPREFIX);
	CHECK_EQ(mg_token_decode(&t, "MG1", 3), -MG_MESH_EPREFIX);
	snprintf(bad, sizeof(bad), "mg2%s", text + 3);
	CHECK_EQ(mg_token_decode(&t, bad, strlen(bad)), -MG_MESH_EPREFIX);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[10] = '+';
	CHECK_EQ(mg_token_decode(&t, bad, strlen(bad)), -MG_MESH_EMALFORMED);
	for (size_t len = 0; len < n; len++) {
		bin_to_text(bad, bin, len);
		CHECK(mg_token_decode(&t, bad, strlen(bad)) == -MG_MESH_EMALFORMED || len == 0);
	}
	bin[n] = 0;
	bin_to_text(bad, bin, n + 1);
	CHECK_EQ(mg_token_decode(&t, bad, strlen(bad)), -MG_MESH_EMALFORMED);
	bin[0] = 2;
	bin_to_text(bad, bin, n);
	CHECK_EQ(mg_token_decode(&t, bad, strlen(bad)), -MG_MESH_EVERSION);
	CHECK(mg_is_zero(&t, sizeof(t)));
}

/* The largest token: one host name endpoint that fills every byte. */
static void check_longest(const struct fixture *f, const char *dir)
{
	struct mg_token t, got;
	char text[1024];
	size_t dropped;

	fx_token(&t, f, 3);
	memset(t.name, 0, sizeof(t.name));
	t.n_groups = 0;
	memset(t.groups, 0, sizeof(t.groups));
	t.endpoints[0] = t.endpoints[2];
	memset(&t.endpoints[1], 0, 2 * sizeof(t.endpoints[0]));
	t.n_endpoints = 1;
	memset(t.endpoints[0].host, 'h', 163);
	t.endpoints[0].host[163] = '\0';
	CHECK_EQ(mg_token_seal(text, &t, f->auth_sk, &dropped), 0);
	CHECK_EQ(strlen(text), 511);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(mg_token_decode(&got, text, 511), 0);
	check_same(&got, &t);
	CHECK_EQ(mg_token_verify(&got, NULL, T0, NULL), 0);
	if (dir)
		fx_write_seed(dir, "longest", text, 511);
	strcat(text, "A");
	CHECK_EQ(mg_token_decode(&got, text, 512), -MG_MESH_EMALFORMED);
	strcat(text, "AA");
	CHECK_EQ(mg_token_decode(&got, text, 514), -MG_MESH_EMALFORMED);

	t.endpoints[0].host[163] = 'h';
	CHECK_EQ(mg_token_seal(text, &t, f->auth_sk, &dropped), -MG_MESH_ETOOBIG);
	mg_token_wipe(&t);
}

int main(int argc, char **argv)
{
	struct fixture f;
	struct mg_token t, got;
	char text[MG_TOKEN_TEXT_MAX + 1];
	uint8_t bin[MG_TOKEN_BIN_MAX], id[8];
	size_t dropped, n;

	fx_init(&f);
	fx_token(&t, &f, 3);
	CHECK_EQ(mg_token_seal(text, &t, f.auth_sk, &dropped), 0);
	CHECK_EQ(dropped, 0);
	CHECK(strncmp(text, "mg1", 3) == 0);
	CHECK_EQ(mg_token_decode(&got, text, strlen(text)), 0);
	check_same(&got, &t);
	CHECK(mg_token_signed_by_authority(&got));
	if (argc > 1)
		fx_write_seed(argv[1], "by_authority", text, strlen(text));

	n = text_to_bin(bin, text);
	CHECK_EQ(bin[0], 1);
	CHECK_MEM(bin + 1, f.mesh_id, 16);
	CHECK_MEM(bin + 17, f.auth_pk, 32);
	mg_mesh_key_id(id, f.auth_pk);
	CHECK_MEM(bin + 49, id, 8);
	CHECK_MEM(bin + 57, t.invite_id, 16);
	CHECK_MEM(bin + 83, t.inviter_key, 32);
	CHECK_MEM(bin + 115, t.secret, 32);
	CHECK_EQ(bin[MG_TOKEN_FIXED_LEN], 5);
	CHECK_MEM(bin + n - 64, t.signature, 64);
	check_errors(text);

	/* Not pinned, no groups. */
	memset(t.name, 0, sizeof(t.name));
	t.n_groups = 0;
	memset(t.groups, 0, sizeof(t.groups));
	CHECK_EQ(mg_token_seal(text, &t, f.issuer_sk, &dropped), 0);
	CHECK_EQ(mg_token_decode(&got, text, strlen(text)), 0);
	check_same(&got, &t);
	CHECK(!mg_token_signed_by_authority(&got));
	if (argc > 1)
		fx_write_seed(argv[1], "by_issuer", text, strlen(text));
	t.uses = 0;
	CHECK_EQ(mg_token_seal(text, &t, f.issuer_sk, &dropped), -MG_MESH_EMALFORMED);

	check_longest(&f, argc > 1 ? argv[1] : NULL);
	mg_token_wipe(&t);
	mg_token_wipe(&got);
	mg_test_pass("mesh_token_codec");
	return 0;
}
