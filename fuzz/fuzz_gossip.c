/* Drives mg_directory_add and mg_gossip_input with arbitrary bytes: the
 * same input as an item and as a datagram, to member A of the seeded mesh
 * (tests/unit/mesh_seeded.h), from a fresh copy of its directory. Whatever
 * comes in, every datagram A sends in reply is within MG_CTL_MAX_LEN, the
 * directory's accounting balances when it is freed, and an item the
 * directory took is then "already known". The seed corpus holds valid items
 * and datagrams signed by the seeded members (test_mesh_gossip_seeds writes
 * it), so the fuzzer starts past the signature checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/mesh_seeded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sent(void *ctx, const uint8_t to[32], const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	if (len > MG_CTL_MAX_LEN || mg_ctl_parse_header(buf, len) < MG_GOSSIP_DIGEST)
		abort();
}

static uint32_t fixed_rand(void *ctx)
{
	(void)ctx;
	return 7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seeded s;
	static int ready;
	struct mg_gossip_config cfg;
	struct mg_directory d;
	struct mg_gossip g;
	uint8_t from[32];

	if (!ready) {
		seeded_init(&s);
		ready = 1;
	}
	if (mg_directory_copy(&d, &s.tmpl) < 0)
		abort();
	if (mg_directory_add(&d, data, size, SEEDED_T0, NULL) > 0 &&
	    mg_directory_add(&d, data, size, SEEDED_T0, NULL) != 0)
		abort();
	mg_gossip_config_default(&cfg);
	cfg.intro_rounds = 0;
	if (mg_gossip_init(&g, &d, s.a.sk, s.a.item, s.a.len, &cfg, sent, fixed_rand, NULL,
			   SEEDED_T0 * 1000) < 0) {
		mg_directory_free(&d); /* the input revoked A itself */
		return 0;
	}
	(void)mg_gossip_input(&g, data, size, SEEDED_T0 * 1000, from);
	mg_gossip_tick(&g, SEEDED_T0 * 1000);
	mg_gossip_free(&g);
	mg_directory_free(&d);
	if (d.bytes != 0)
		abort();
	return 0;
}
