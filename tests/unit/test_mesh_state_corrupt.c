/* A corrupt mesh.json, key or invite record is reported with its full path,
 * and neither the failing load nor a transaction that needed it changes a
 * byte of it. */
#include "mesh_state_fixture.h"

static void check_untouched(const char *dir, const char *name, const void *want, size_t len)
{
	char buf[4096];

	CHECK_EQ(sd_slurp(dir, name, buf, sizeof(buf)), (long)len);
	CHECK_MEM(buf, want, len);
}

int main(void)
{
	static const char bad_json[] = "{\"version\":1,\"mesh_id\":\"00\"";
	static const char bad_key[] = "not a key\n";
	static const uint8_t bad_record[] = { 1, 2, 3 };
	char dir[PATH_MAX], path[PATH_MAX + 64], err[512], token[MG_TOKEN_TEXT_MAX + 1];
	struct mg_mesh_invite_params ip = { .now = SD_T0 };
	struct mg_invite_record r;
	struct mg_mesh_config c;
	struct mg_state st;
	uint8_t id[16], key[32];
	size_t dropped;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(sd_init(dir, "alpha", err, sizeof(err)), 0);

	sd_spit(dir, MG_STATE_MESH, bad_json, sizeof(bad_json) - 1, 0600);
	snprintf(path, sizeof(path), "%s/%s", dir, MG_STATE_MESH);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_config_load(&st, &c, err, sizeof(err)), -MG_MESH_EMALFORMED);
	CHECK(strstr(err, path) != NULL);
	check_untouched(dir, MG_STATE_MESH, bad_json, sizeof(bad_json) - 1);
	mg_state_close(&st);
	CHECK_EQ(mg_mesh_admin_invite(dir, &ip, NULL, 0, token, &dropped, err, sizeof(err)),
		 -MG_MESH_EMALFORMED);
	CHECK(strstr(err, path) != NULL);
	CHECK_EQ(token[0], '\0');
	check_untouched(dir, MG_STATE_MESH, bad_json, sizeof(bad_json) - 1);
	/* init does not take a corrupt mesh for none. */
	CHECK_EQ(sd_init(dir, "alpha", err, sizeof(err)), -EEXIST);
	check_untouched(dir, MG_STATE_MESH, bad_json, sizeof(bad_json) - 1);

	/* A key file. */
	sd_spit(dir, MG_STATE_MEMBER, bad_key, sizeof(bad_key) - 1, 0600);
	snprintf(path, sizeof(path), "%s/%s", dir, MG_STATE_MEMBER);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_key_load(&st, MG_STATE_MEMBER, key, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, path) != NULL);
	check_untouched(dir, MG_STATE_MEMBER, bad_key, sizeof(bad_key) - 1);

	/* An invite record: consuming it fails and leaves it as it was. */
	memset(id, 0xab, sizeof(id));
	snprintf(path, sizeof(path), "%s/invites", dir);
	CHECK_EQ(mkdir(path, 0700), 0);
	sd_spit(dir, "invites/abababababababababababababababab", bad_record, sizeof(bad_record),
		0600);
	snprintf(path, sizeof(path), "%s/invites/abababababababababababababababab", dir);
	CHECK_EQ(mg_state_invite_consume(&st, id, SD_T0, &r, err, sizeof(err)),
		 -MG_MESH_EMALFORMED);
	CHECK(strstr(err, path) != NULL);
	check_untouched(dir, "invites/abababababababababababababababab", bad_record,
			sizeof(bad_record));
	mg_state_close(&st);

	sd_remove(dir);
	mg_test_pass("mesh_state_corrupt");
	return 0;
}
