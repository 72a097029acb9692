/* Test tool for test_mesh_crash.sh: reads every file of a state directory
 * (state.h) the way the daemon does, without taking the lock (the daemon
 * may hold it; its writes are atomic renames, so a reader sees each file
 * wholly old or wholly new), and prints one line per invitation:
 *   invite <32 hex id> used <U> of <N>
 * then "ok". Any file that exists and does not parse (mesh.json, the key
 * and certificate files, the directory, an invite record) ends it with
 * "bad: <message>" on stderr and exit 1; usage errors exit 2.
 *
 * Usage: mg_state_check DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mesh/cert.h"
#include "mesh/directory.h"
#include "mesh/state.h"

struct check {
	struct mg_state st;
	struct mg_mesh_config config;
	char err[1024];
};

static int bad(struct check *k, const char *what, int ret)
{
	fprintf(stderr, "bad: %s: %s\n", what, k->err[0] ? k->err : strerror(ret < 0 ? -ret : ret));
	return 1;
}

/* Key and certificate files: absent is fine (not every node has each). */
static int check_keys(struct check *k)
{
	static const char *const keys[] = { MG_STATE_AUTHORITY, MG_STATE_ISSUER, MG_STATE_MEMBER,
					    MG_STATE_WIREGUARD };
	static const char *const certs[] = { MG_STATE_ISSUER_C, MG_STATE_MEMBER_C };
	uint8_t key[MG_KEY_LEN];
	struct mg_cert c;
	int ret;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ret = mg_state_key_load(&k->st, keys[i], key, k->err, sizeof(k->err));
		mg_wipe(key, sizeof(key));
		if (ret < 0 && ret != -ENOENT)
			return bad(k, keys[i], ret);
	}
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		ret = mg_state_cert_load(&k->st, certs[i], &c, k->err, sizeof(k->err));
		if (ret < 0 && ret != -ENOENT)
			return bad(k, certs[i], ret);
	}
	return 0;
}

static int check_directory(struct check *k)
{
	struct mg_directory d;
	size_t len = 0;
	uint8_t *blob = malloc(MG_STATE_FILE_MAX);
	int ret = blob ? mg_directory_init(&d, k->config.mesh_id, k->config.authority, NULL, NULL)
		       : -ENOMEM;

	if (ret < 0) {
		free(blob);
		return bad(k, "directory", ret);
	}
	ret = mg_state_read(&k->st, MG_STATE_DIRECTORY, blob, MG_STATE_FILE_MAX, &len, k->err,
			    sizeof(k->err));
	if (ret == 0) {
		ret = mg_directory_load(&d, blob, len, (uint64_t)time(NULL));
		if (ret >= 0)
			printf("directory %zu member(s)\n", mg_directory_count(&d));
	}
	mg_directory_free(&d);
	free(blob);
	return ret < 0 && ret != -ENOENT ? bad(k, MG_STATE_DIRECTORY, ret) : 0;
}

static int print_invite(void *ctx, const struct mg_invite_record *r)
{
	(void)ctx;
	printf("invite ");
	for (size_t i = 0; i < sizeof(r->id); i++)
		printf("%02x", r->id[i]);
	printf(" used %u of %u\n", (unsigned)r->used, (unsigned)r->uses);
	return 0;
}

int main(int argc, char **argv)
{
	struct check k = { 0 };
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: mg_state_check DIR\n");
		return 2;
	}
	ret = mg_state_open(&k.st, argv[1], 0, k.err, sizeof(k.err));
	if (ret < 0)
		return bad(&k, argv[1], ret);
	ret = mg_state_config_load(&k.st, &k.config, k.err, sizeof(k.err));
	if (ret < 0)
		ret = bad(&k, MG_STATE_MESH, ret);
	if (ret == 0)
		ret = check_keys(&k);
	if (ret == 0)
		ret = check_directory(&k);
	if (ret == 0) {
		ret = mg_state_invite_list(&k.st, print_invite, NULL, k.err, sizeof(k.err));
		if (ret < 0)
			ret = bad(&k, MG_STATE_INVITES, ret);
	}
	mg_state_close(&k.st);
	if (ret == 0)
		printf("ok\n");
	return ret ? 1 : 0;
}
