/* An in-memory mesh for the gossip tests and bench_mesh_sim: n members,
 * each a real directory and gossip engine, on one fake clock, joined by a
 * network that delivers every datagram in order within the round it was
 * sent (round trips are far shorter than a round). A member can be taken
 * offline: its datagrams, both ways, are lost. The random source is seeded,
 * so a run is the same every time. */
#ifndef MG_TEST_MESH_SIM_H
#define MG_TEST_MESH_SIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "mesh/directory.h"
#include "mesh/gossip.h"

#define SIM_T0 UINT64_C(1800000000)

struct sim;

struct sim_node {
	struct sim *sim;
	uint32_t idx;
	bool offline, gone; /* gone: no longer ticked (revoked) */
	uint8_t sk[64], pk[32];
	struct mg_cert cert;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t len;
	struct mg_directory dir;
	struct mg_gossip g;
};

struct sim_msg {
	uint32_t from, to;
	uint16_t len;
	uint8_t buf[MG_CTL_MAX_LEN];
};

struct sim_key {
	uint8_t pk[32];
	uint32_t idx;
};

struct sim {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t auth_sk[64], auth_pk[32];
	struct mg_gossip_config cfg;
	struct sim_node **nodes;
	size_t n, cap;
	struct sim_key *keys; /* sorted by key */
	struct sim_msg *q;
	size_t q_head, q_n, q_cap;
	uint64_t now_ms, rng;
	size_t max_len;		   /* the longest datagram seen */
	uint64_t lost, refused;	   /* offline; refused by mg_gossip_input */
	uint64_t unknown;	   /* of those, from a sender not (yet) known */
	uint64_t refused_err[256]; /* of those, by -error */
	int last_err;		   /* of the last refused datagram */
	struct mg_directory tmpl;  /* every initial member and announcement */
};

static inline uint32_t sim_rand(void *ctx)
{
	struct sim *s = ((struct sim_node *)ctx)->sim;

	/* xorshift64* */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * UINT64_C(2685821657736338717)) >> 32);
}

static inline int sim_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static inline struct sim_node *sim_find(struct sim *s, const uint8_t pk[32])
{
	struct sim_key *k = bsearch(pk, s->keys, s->n, sizeof(*s->keys), sim_key_cmp);

	return k ? s->nodes[k->idx] : NULL;
}

static inline void sim_send(void *ctx, const uint8_t to[32], const uint8_t *buf, size_t len)
{
	struct sim_node *from = ctx, *dst = sim_find(from->sim, to);
	struct sim *s = from->sim;
	struct sim_msg *m;

	CHECK(len <= MG_CTL_MAX_LEN);
	if (len > s->max_len)
		s->max_len = len;
	if (!dst || from->offline || dst->offline) {
		s->lost++;
		return;
	}
	if (s->q_n == s->q_cap) {
		s->q_cap = s->q_cap ? 2 * s->q_cap : 1024;
		s->q = realloc(s->q, s->q_cap * sizeof(*s->q));
		CHECK(s->q != NULL);
	}
	m = &s->q[s->q_n++];
	m->from = from->idx;
	m->to = dst->idx;
	m->len = (uint16_t)len;
	memcpy(m->buf, buf, len);
}

/* A new member's keys and certificate (signed by the authority), not yet
 * in any directory. */
static inline struct sim_node *sim_node_new(struct sim *s)
{
	struct sim_node *nd = calloc(1, sizeof(*nd));
	struct sim_key *k;
	int n;

	CHECK(nd != NULL);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->nodes = realloc(s->nodes, s->cap * sizeof(*s->nodes));
		s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
		CHECK(s->nodes && s->keys);
	}
	nd->sim = s;
	nd->idx = (uint32_t)s->n;
	mg_ed25519_generate(nd->sk, nd->pk);
	nd->cert.role = MG_CERT_ROLE_MEMBER;
	nd->cert.serial = 100 + s->n;
	memcpy(nd->cert.mesh_id, s->mesh_id, MG_MESH_ID_LEN);
	nd->cert.not_before = SIM_T0;
	nd->cert.not_after = SIM_T0 + MG_CERT_LIFETIME;
	mg_random_bytes(nd->cert.wg_key, 32);
	memcpy(nd->cert.key, nd->pk, 32);
	snprintf(nd->cert.name, sizeof(nd->cert.name), "node%zu", s->n);
	nd->cert.n_addresses = 1;
	CHECK_EQ(mg_prefix_parse(&nd->cert.addresses[0], "100.64.0.1/32", false), 0);
	nd->cert.addresses[0].addr[2] = (uint8_t)(s->n >> 8);
	nd->cert.addresses[0].addr[3] = (uint8_t)s->n;
	CHECK_EQ(mg_cert_sign(&nd->cert, s->auth_sk), 0);
	n = mg_dir_cert_item(nd->item, sizeof(nd->item), &nd->cert);
	CHECK(n > 0);
	nd->len = (size_t)n;
	s->nodes[s->n] = nd;
	k = &s->keys[s->n++];
	memcpy(k->pk, nd->pk, 32);
	k->idx = nd->idx;
	qsort(s->keys, s->n, sizeof(*s->keys), sim_key_cmp);
	return nd;
}

static inline size_t sim_announce(uint8_t *out, const struct sim *s, const struct sim_node *nd,
				  uint64_t seq)
{
	struct mg_dir_announce a;
	int n;

	memset(&a, 0, sizeof(a));
	memcpy(a.mesh_id, s->mesh_id, MG_MESH_ID_LEN);
	a.seq = seq;
	a.time = s->now_ms / 1000;
	a.n_endpoints = 2;
	a.endpoints[0].family = AF_INET;
	memcpy(a.endpoints[0].addr, "\xc0\x00\x02", 3);
	a.endpoints[0].addr[3] = (uint8_t)nd->idx;
	a.endpoints[0].port = 51820;
	a.endpoints[1].family = AF_INET6;
	memcpy(a.endpoints[1].addr, "\x20\x01\x0d\xb8", 4);
	a.endpoints[1].addr[15] = (uint8_t)nd->idx;
	a.endpoints[1].port = 51820;
	n = mg_dir_announce_sign(out, MG_DIR_ITEM_MAX, &a, nd->sk);
	CHECK(n > 0);
	return (size_t)n;
}

static inline void sim_start(struct sim_node *nd, const struct mg_directory *from,
			     uint16_t intro_rounds)
{
	struct mg_gossip_config cfg = nd->sim->cfg;

	CHECK_EQ(mg_directory_copy(&nd->dir, from), 0);
	cfg.intro_rounds = intro_rounds;
	CHECK_EQ(mg_gossip_init(&nd->g, &nd->dir, nd->sk, nd->item, nd->len, &cfg, sim_send,
				sim_rand, nd, nd->sim->now_ms),
		 0);
}

/* n members that all know each other and each other's announcements,
 * as after a long quiet time: nothing hot anywhere. cfg NULL: defaults. */
static inline void sim_init(struct sim *s, size_t n, const struct mg_gossip_config *cfg,
			    uint64_t seed)
{
	uint8_t item[MG_DIR_ITEM_MAX];

	CHECK_EQ(mg_crypto_init(), 0);
	memset(s, 0, sizeof(*s));
	s->rng = seed | 1;
	s->now_ms = SIM_T0 * 1000;
	mg_random_bytes(s->mesh_id, sizeof(s->mesh_id));
	mg_ed25519_generate(s->auth_sk, s->auth_pk);
	if (cfg)
		s->cfg = *cfg;
	else
		mg_gossip_config_default(&s->cfg);
	CHECK_EQ(mg_directory_init(&s->tmpl, s->mesh_id, s->auth_pk, NULL, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		struct sim_node *nd = sim_node_new(s);
		CHECK_EQ(mg_directory_add(&s->tmpl, nd->item, nd->len, SIM_T0, NULL), 1);
		CHECK_EQ(mg_directory_add(&s->tmpl, item, sim_announce(item, s, nd, 1), SIM_T0,
					  NULL),
			 1);
	}
	for (size_t i = 0; i < n; i++)
		sim_start(s->nodes[i], &s->tmpl, 0);
}

/* Delivers until the network is quiet (replies may send more). */
static inline void sim_deliver(struct sim *s)
{
	while (s->q_head < s->q_n) {
		struct sim_msg m = s->q[s->q_head++];
		struct sim_node *dst = s->nodes[m.to];
		uint8_t from[32];
		int err;
		if (dst->offline || s->nodes[m.from]->offline) {
			s->lost++;
			continue;
		}
		err = mg_gossip_input(&dst->g, m.buf, m.len, s->now_ms, from);
		if (err < 0) {
			s->refused++;
			s->unknown += err == -ENOENT;
			s->refused_err[-err & 0xff]++;
			s->last_err = err;
		} else {
			CHECK_MEM(from, s->nodes[m.from]->pk, 32);
		}
	}
	s->q_head = s->q_n = 0;
}

/* One round: the clock moves on, every member ticks, the network empties. */
static inline void sim_round(struct sim *s)
{
	s->now_ms += s->cfg.round_ms;
	for (size_t i = 0; i < s->n; i++)
		if (!s->nodes[i]->gone)
			mg_gossip_tick(&s->nodes[i]->g, s->now_ms);
	sim_deliver(s);
}

/* True when every member that is neither gone nor offline holds the same
 * items as ref. */
static inline bool sim_agree(const struct sim *s, const struct sim_node *ref)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sim_node *nd = s->nodes[i];
		if (nd->gone || nd->offline)
			continue;
		if (memcmp(nd->dir.buckets, ref->dir.buckets, sizeof(ref->dir.buckets)) != 0 ||
		    nd->dir.items.n != ref->dir.items.n)
			return false;
	}
	return true;
}

/* Rounds until sim_agree (at most max; max + 1 when it never did). */
static inline size_t sim_until_agree(struct sim *s, const struct sim_node *ref, size_t max)
{
	for (size_t r = 1; r <= max; r++) {
		sim_round(s);
		if (sim_agree(s, ref))
			return r;
	}
	return max + 1;
}

/* A member joins: its certificate arrives at inviter (the join exchange),
 * the newcomer starts from the inviter's directory and announces itself. */
static inline struct sim_node *sim_join(struct sim *s, struct sim_node *inviter)
{
	struct sim_node *nd = sim_node_new(s);
	uint8_t item[MG_DIR_ITEM_MAX];

	CHECK_EQ(mg_gossip_publish(&inviter->g, nd->item, nd->len, s->now_ms), 1);
	sim_start(nd, &inviter->dir, s->cfg.intro_rounds);
	CHECK_EQ(mg_gossip_publish(&nd->g, item, sim_announce(item, s, nd, 1), s->now_ms), 1);
	return nd;
}

/* The authority revokes victim; the revocation is published at `at`. The
 * victim stops (its datagrams would be refused anyway). */
static inline void sim_revoke(struct sim *s, struct sim_node *victim, struct sim_node *at)
{
	struct mg_dir_revoke r;
	uint8_t item[MG_DIR_ITEM_MAX];
	int n;

	memset(&r, 0, sizeof(r));
	memcpy(r.mesh_id, s->mesh_id, MG_MESH_ID_LEN);
	memcpy(r.key, victim->pk, 32);
	memcpy(r.wg_key, victim->cert.wg_key, 32);
	memcpy(r.cert_signer_id, victim->cert.signer_id, MG_MESH_KEY_ID_LEN);
	r.cert_serial = victim->cert.serial;
	r.time = s->now_ms / 1000;
	n = mg_dir_revoke_sign(item, sizeof(item), &r, s->auth_sk);
	CHECK(n > 0);
	CHECK_EQ(mg_gossip_publish(&at->g, item, (size_t)n, s->now_ms), 1);
	victim->gone = true;
}

static inline uint64_t sim_sent_bytes(const struct sim *s)
{
	uint64_t b = 0;

	for (size_t i = 0; i < s->n; i++)
		b += s->nodes[i]->g.stats.sent_bytes;
	return b;
}

static inline void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		mg_gossip_free(&s->nodes[i]->g);
		mg_directory_free(&s->nodes[i]->dir);
		mg_wipe(s->nodes[i]->sk, 64);
		free(s->nodes[i]);
	}
	mg_directory_free(&s->tmpl);
	mg_wipe(s->auth_sk, 64);
	free(s->nodes);
	free(s->keys);
	free(s->q);
}

#endif
