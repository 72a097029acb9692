/* The gossip fuzz harness's seeds: valid items of every kind and datagrams
 * of every type from the seeded mesh (mesh_seeded.h), made by the real
 * engines talking to each other. Checks that each item is new to a fresh
 * copy of member A's directory and each datagram is accepted by a fresh A;
 * with a directory argument, also writes them there (fuzz/corpus/gossip). */
#include "check.h"
#include "mesh_seeded.h"

#define NOW_MS (SEEDED_T0 * 1000)

struct seed {
	char name[32];
	uint8_t buf[MG_CTL_MAX_LEN];
	size_t len;
	bool datagram;
};

static struct seed seeds[32];
static size_t n_seeds;
static struct seeded s;

static void keep(const char *name, const uint8_t *buf, size_t len, bool datagram)
{
	struct seed *x = &seeds[n_seeds++];

	CHECK(n_seeds <= 32 && len <= sizeof(x->buf));
	snprintf(x->name, sizeof(x->name), "%s_%zu", name, n_seeds);
	memcpy(x->buf, buf, len);
	x->len = len;
	x->datagram = datagram;
}

/* A member's engine whose datagrams land in an outbox. */
struct node {
	struct mg_directory d;
	struct mg_gossip g;
	size_t n_out;
	uint8_t out[8][MG_CTL_MAX_LEN];
	size_t out_len[8];
	uint8_t out_to[8][32];
};

static void outbox(void *ctx, const uint8_t to[32], const uint8_t *buf, size_t len)
{
	struct node *n = ctx;

	CHECK(len <= MG_CTL_MAX_LEN && n->n_out < 8);
	memcpy(n->out_to[n->n_out], to, 32);
	memcpy(n->out[n->n_out], buf, len);
	n->out_len[n->n_out++] = len;
}

static uint32_t next_rand(void *ctx)
{
	static uint32_t x;

	(void)ctx;
	return x++;
}

static void node_start(struct node *n, const struct seeded_member *m, uint16_t intro)
{
	struct mg_gossip_config cfg;

	memset(n, 0, sizeof(*n));
	CHECK_EQ(mg_directory_copy(&n->d, &s.tmpl), 0);
	mg_gossip_config_default(&cfg);
	cfg.intro_rounds = intro;
	CHECK_EQ(mg_gossip_init(&n->g, &n->d, m->sk, m->item, m->len, &cfg, outbox, next_rand, n,
				NOW_MS),
		 0);
}

static void node_stop(struct node *n)
{
	mg_gossip_free(&n->g);
	mg_directory_free(&n->d);
}

/* Keeps n's datagrams to A of type t, then empties the outbox. */
static void keep_type(struct node *n, uint8_t t, const char *name)
{
	for (size_t i = 0; i < n->n_out; i++)
		if (n->out[i][2] == t && memcmp(n->out_to[i], s.a.pk, 32) == 0)
			keep(name, n->out[i], n->out_len[i], true);
	n->n_out = 0;
}

/* Delivers the datagrams in from's outbox addressed to `to`. */
static void deliver(struct node *from, struct node *to)
{
	uint8_t key[32];

	for (size_t i = 0; i < from->n_out; i++)
		if (memcmp(from->out_to[i], to->g.key, 32) == 0)
			CHECK_EQ(mg_gossip_input(&to->g, from->out[i], from->out_len[i], NOW_MS,
						 key),
				 0);
	from->n_out = 0;
}

static void items(void)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	struct mg_dir_revoke r;
	struct mg_dir_depart p;
	size_t n;

	keep("item_member_by_issuer", s.c.item, s.c.len, false);
	n = seeded_announce(item, &s, &s.b, 1);
	keep("item_announce", item, n, false);
	memset(&r, 0, sizeof(r));
	memcpy(r.mesh_id, s.mesh_id, MG_MESH_ID_LEN);
	memcpy(r.key, s.b.pk, 32);
	memcpy(r.wg_key, s.b.cert.wg_key, 32);
	memcpy(r.cert_signer_id, s.b.cert.signer_id, 8);
	r.cert_serial = s.b.cert.serial;
	r.time = SEEDED_T0;
	keep("item_revoke", item, (size_t)mg_dir_revoke_sign(item, sizeof(item), &r, s.auth_sk),
	     false);
	memcpy(r.key, s.c.pk, 32);
	memcpy(r.wg_key, s.c.cert.wg_key, 32);
	memcpy(r.cert_signer_id, s.c.cert.signer_id, 8);
	r.cert_serial = s.c.cert.serial;
	r.by_issuer = true;
	r.issuer = s.issuer.cert;
	keep("item_revoke_by_issuer", item,
	     (size_t)mg_dir_revoke_sign(item, sizeof(item), &r, s.issuer.sk), false);
	memset(&p, 0, sizeof(p));
	memcpy(p.mesh_id, s.mesh_id, MG_MESH_ID_LEN);
	p.time = SEEDED_T0;
	p.cert = s.b.cert;
	keep("item_depart", item, (size_t)mg_dir_depart_sign(item, sizeof(item), &p, s.b.sk),
	     false);
}

/* B spreads its announcement to A; A asks; B answers; their digests differ. */
static void datagrams(void)
{
	struct node a, b, c;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n = seeded_announce(item, &s, &s.b, 1);

	node_start(&a, &s.a, 0);
	node_start(&b, &s.b, 1);
	CHECK_EQ(mg_gossip_publish(&b.g, item, n, NOW_MS), 1);
	mg_gossip_tick(&b.g, NOW_MS);
	/* A RUMOR at once (publish), then the round's RUMOR and DIGEST. */
	CHECK_EQ(b.n_out, 3);
	keep_type(&b, MG_GOSSIP_RUMOR, "dgram_rumor_with_cert");
	mg_gossip_tick(&b.g, NOW_MS + 1000);
	keep_type(&b, MG_GOSSIP_DIGEST, "dgram_digest");
	node_stop(&b);

	node_start(&b, &s.b, 0);
	CHECK_EQ(mg_gossip_publish(&b.g, item, n, NOW_MS), 1);
	mg_gossip_tick(&b.g, NOW_MS);
	deliver(&b, &a);      /* A asks for the announcement, answers the digest */
	CHECK_EQ(a.n_out, 3); /* asks after each of the two RUMORs */
	deliver(&a, &b);
	keep_type(&b, MG_GOSSIP_ITEMS, "dgram_items");
	CHECK_EQ(mg_gossip_publish(&a.g, s.c.item, s.c.len, NOW_MS), 1);
	mg_gossip_tick(&a.g, NOW_MS);
	deliver(&a, &b); /* B asks for C, and lists its ids */
	keep_type(&b, MG_GOSSIP_REQUEST, "dgram_request");
	node_stop(&a);
	node_stop(&b);

	/* B's ids where its digest differs from A's. */
	node_start(&a, &s.a, 0);
	node_start(&b, &s.b, 0);
	CHECK_EQ(mg_gossip_publish(&b.g, item, n, NOW_MS), 1);
	mg_gossip_tick(&a.g, NOW_MS);
	deliver(&a, &b);
	keep_type(&b, MG_GOSSIP_IDS, "dgram_ids");
	node_stop(&a);
	node_stop(&b);

	/* C, certified by the issuer and new to A, introduces itself. */
	node_start(&c, &s.c, 5);
	mg_gossip_tick(&c.g, NOW_MS);
	keep_type(&c, MG_GOSSIP_RUMOR, "dgram_intro_new_member");
	node_stop(&c);
}

/* Every seed works on a fresh A. */
static void check_seed(const struct seed *x)
{
	struct node a;
	uint8_t key[32];

	node_start(&a, &s.a, 0);
	if (x->datagram)
		CHECK_EQ(mg_gossip_input(&a.g, x->buf, x->len, NOW_MS, key), 0);
	else
		CHECK_EQ(mg_directory_add(&a.d, x->buf, x->len, SEEDED_T0, NULL), 1);
	node_stop(&a);
}

int main(int argc, char **argv)
{
	seeded_init(&s);
	items();
	datagrams();
	CHECK(n_seeds >= 11); /* each kind and type at least once */
	for (size_t i = 0; i < n_seeds; i++) {
		check_seed(&seeds[i]);
		if (argc > 1) {
			char path[512];
			FILE *f;
			int n = snprintf(path, sizeof(path), "%.400s/%.100s", argv[1],
					 seeds[i].name);

			CHECK(n > 0 && (size_t)n < sizeof(path));
			f = fopen(path, "wb");
			CHECK(f != NULL);
			CHECK_EQ(fwrite(seeds[i].buf, 1, seeds[i].len, f), seeds[i].len);
			CHECK_EQ(fclose(f), 0);
		}
	}
	mg_directory_free(&s.tmpl);
	mg_test_pass("mesh_gossip_seeds");
	return 0;
}
