/* init makes a mesh whose certificates verify: the member's under the
 * authority (mg_cert_verify), the issuer's (mg_cert_verify_issuer), with one
 * IPv4 /32 and one IPv6 /128 inside the prefixes and the keys in DIR. A
 * second init in the same DIR gets -EEXIST and changes no byte of the first
 * mesh; bad parameters are refused before anything is written. */
#include "mesh_state_fixture.h"

static const char *const files[] = {
	MG_STATE_MESH,	 MG_STATE_AUTHORITY, MG_STATE_ISSUER,	MG_STATE_ISSUER_C,
	MG_STATE_MEMBER, MG_STATE_WIREGUARD, MG_STATE_MEMBER_C,
};
#define N_FILES (sizeof(files) / sizeof(files[0]))

static void check_certs(const char *dir)
{
	uint8_t sk[64], wg[32], wg_pub[32];
	struct mg_cert member, issuer;
	struct mg_mesh_config c;
	struct mg_state st;
	char err[512];

	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_config_load(&st, &c, err, sizeof(err)), 0);
	CHECK_EQ(strcmp(c.name, "alpha"), 0);
	CHECK_EQ(strcmp(c.mesh_name, "testmesh"), 0);
	CHECK_EQ(c.listen_port, MG_MESH_LISTEN_PORT);
	CHECK_EQ(c.n_endpoints, 2);
	CHECK_EQ(mg_state_cert_load(&st, MG_STATE_MEMBER_C, &member, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_cert_load(&st, MG_STATE_ISSUER_C, &issuer, err, sizeof(err)), 0);
	CHECK_EQ(mg_cert_verify(&member, NULL, c.authority, c.mesh_id, SD_T0, NULL), 0);
	CHECK_EQ(mg_cert_verify_issuer(&issuer, c.authority, c.mesh_id, SD_T0, NULL), 0);
	CHECK_EQ(member.not_after, SD_T0 + MG_CERT_LIFETIME);
	CHECK_EQ(strcmp(member.name, "alpha"), 0);
	CHECK_EQ(member.n_addresses, 2);
	CHECK_EQ(member.n_groups, 0);
	CHECK(mg_mesh_prefix_overlap(&member.addresses[0], &c.prefix4));
	CHECK_EQ(member.addresses[0].cidr, 32);
	CHECK(mg_mesh_prefix_overlap(&member.addresses[1], &c.prefix6));
	CHECK_EQ(member.addresses[1].cidr, 128);

	/* The keys in DIR are the certified ones. */
	CHECK_EQ(mg_state_ed25519_load(&st, MG_STATE_AUTHORITY, sk, err, sizeof(err)), 0);
	CHECK_MEM(sk + 32, c.authority, 32);
	CHECK_EQ(mg_state_ed25519_load(&st, MG_STATE_MEMBER, sk, err, sizeof(err)), 0);
	CHECK_MEM(sk + 32, member.key, 32);
	CHECK_EQ(mg_state_ed25519_load(&st, MG_STATE_ISSUER, sk, err, sizeof(err)), 0);
	CHECK_MEM(sk + 32, issuer.key, 32);
	CHECK_EQ(mg_state_key_load(&st, MG_STATE_WIREGUARD, wg, err, sizeof(err)), 0);
	mg_x25519_public(wg_pub, wg);
	CHECK_MEM(wg_pub, member.wg_key, 32);
	CHECK_MEM(wg_pub, issuer.wg_key, 32);
	mg_wipe(sk, sizeof(sk));
	mg_wipe(wg, sizeof(wg));
	mg_state_close(&st);
}

int main(void)
{
	static char before[N_FILES][4096];
	static long len[N_FILES];
	char dir[PATH_MAX], err[512], buf[4096];
	struct mg_mesh_init_params p = { .node = "x", .now = SD_T0 };

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(sd_init(dir, "alpha", err, sizeof(err)), 0);
	CHECK_EQ(sd_count_tmp(dir), 0);
	check_certs(dir);

	for (size_t i = 0; i < N_FILES; i++)
		CHECK((len[i] = sd_slurp(dir, files[i], before[i], sizeof(before[i]))) > 0);
	CHECK_EQ(sd_init(dir, "other", err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, dir) != NULL);
	for (size_t i = 0; i < N_FILES; i++) {
		CHECK_EQ(sd_slurp(dir, files[i], buf, sizeof(buf)), len[i]);
		CHECK_MEM(buf, before[i], (size_t)len[i]);
	}
	check_certs(dir);
	sd_remove(dir);

	/* Refused parameters leave no directory behind. */
	sd_make(dir);
	CHECK_EQ(rmdir(dir), 0);
	p.prefix4 = "100.64.0.1/16";
	CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "100.64.0.0/16") != NULL);
	p.prefix4 = "10.0.0.0/31";
	CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), -EINVAL);
	p.prefix4 = "10.0.0.0/8";
	p.prefix6 = "fd00::/80";
	CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), -EINVAL);
	p.prefix6 = NULL;
	p.node = "bad name";
	CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), -EINVAL);
	p.node = "alpha";
	{
		static const char *const bad[] = { "1.2.3.4" };
		p.endpoints = bad;
		p.n_endpoints = 1;
		CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "'1.2.3.4'") != NULL);
		p.n_endpoints = 0;
	}
	CHECK_EQ(access(dir, F_OK), -1);

	/* Chosen prefixes (this host's routes avoided) and the host name. */
	p.node = NULL;
	p.prefix4 = "10.0.0.0/8";
	CHECK_EQ(mg_mesh_admin_init(dir, &p, err, sizeof(err)), 0);
	sd_remove(dir);
	mg_test_pass("mesh_admin_init");
	return 0;
}
