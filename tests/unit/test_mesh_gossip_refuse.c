/* What mg_gossip_input refuses, each with its reason and without side
 * effects on the directory: a datagram from a stranger (-ENOENT), one whose
 * every single bit was flipped in turn (refused whatever the bit), one
 * meant for another member (-MG_MESH_ESIGNATURE: the recipient is signed),
 * a replay (-EALREADY), one from ourselves, one carrying a certificate that
 * is not the sender's or that no one we know signed, every truncation, one
 * longer than MG_CTL_MAX_LEN, and an unknown type. The valid original is
 * accepted and reports its sender. */
#include "mesh_sim.h"

/* The first datagram that member `from` sends to `to` in a round of its
 * own, taken off the network. */
static size_t capture(struct sim *s, struct sim_node *from, struct sim_node *to, uint8_t *out)
{
	for (int tries = 0; tries < 50; tries++) {
		s->now_ms += s->cfg.round_ms;
		mg_gossip_tick(&from->g, s->now_ms);
		for (size_t i = 0; i < s->q_n; i++) {
			if (s->q[i].to == to->idx) {
				size_t len = s->q[i].len;
				memcpy(out, s->q[i].buf, len);
				s->q_n = 0;
				return len;
			}
		}
		s->q_n = 0;
	}
	CHECK(0);
	return 0;
}

static void flips(struct sim_node *a, const uint8_t *dg, size_t len, uint64_t now)
{
	uint8_t copy[MG_CTL_MAX_LEN + 1], from[32];
	size_t items = mg_directory_item_count(&a->dir);

	for (size_t i = 0; i < len; i++) {
		memcpy(copy, dg, len);
		copy[i] ^= (uint8_t)(1 << (i % 8));
		CHECK(mg_gossip_input(&a->g, copy, len, now, from) < 0);
	}
	for (size_t l = 0; l < len; l++)
		CHECK(mg_gossip_input(&a->g, dg, l, now, from) < 0);
	memcpy(copy, dg, len);
	copy[len] = 0;
	CHECK(mg_gossip_input(&a->g, copy, len + 1, now, from) < 0);
	memset(copy, 0, sizeof(copy));
	memcpy(copy, dg, len);
	CHECK_EQ(mg_gossip_input(&a->g, copy, MG_CTL_MAX_LEN + 1, now, from), -MG_MESH_EMALFORMED);
	copy[2] = 0x1f;
	CHECK_EQ(mg_gossip_input(&a->g, copy, len, now, from), -MG_MESH_EMALFORMED);
	CHECK_EQ(mg_directory_item_count(&a->dir), items);
}

/* A stranger (certified by a key we do not know) introducing itself. */
static void stranger(struct sim *s, struct sim_node *a)
{
	uint8_t sk[64], pk[32], dg[MG_CTL_MAX_LEN], from[32];
	struct sim_node *x = sim_node_new(s);
	size_t len;

	sim_start(x, &s->tmpl, 0);
	len = capture(s, x, a, dg); /* no certificate: unknown */
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s->now_ms, from), -ENOENT);
	mg_ed25519_generate(sk, pk);
	CHECK_EQ(mg_cert_sign(&x->cert, sk), 0);
	x->len = (size_t)mg_dir_cert_item(x->item, sizeof(x->item), &x->cert);
	memcpy(x->g.cert_item, x->item, x->len);
	x->g.cert_len = x->len;
	x->g.intro_left = 100;
	do
		len = capture(s, x, a, dg);
	while (dg[2] != MG_GOSSIP_RUMOR);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s->now_ms, from), -ENOENT);
	CHECK(mg_directory_find(&a->dir, x->pk) == NULL);
	/* Carrying a certificate that is someone else's. */
	memcpy(x->g.cert_item, s->nodes[2]->item, s->nodes[2]->len);
	x->g.cert_len = s->nodes[2]->len;
	do
		len = capture(s, x, a, dg);
	while (dg[2] != MG_GOSSIP_RUMOR);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s->now_ms, from), -MG_MESH_EMALFORMED);
	mg_wipe(sk, sizeof(sk));
}

int main(void)
{
	struct sim s;
	struct sim_node *a, *b, *c;
	uint8_t dg[MG_CTL_MAX_LEN], own[MG_CTL_MAX_LEN], from[32];
	size_t len, own_len;

	sim_init(&s, 4, NULL, 4);
	a = s.nodes[0];
	b = s.nodes[1];
	c = s.nodes[2];
	len = capture(&s, b, a, dg);
	flips(a, dg, len, s.now_ms);
	CHECK_EQ(mg_gossip_input(&c->g, dg, len, s.now_ms, from), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s.now_ms, from), 0);
	CHECK_MEM(from, b->pk, 32);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s.now_ms, from), -EALREADY);
	own_len = capture(&s, a, b, own);
	CHECK_EQ(mg_gossip_input(&a->g, own, own_len, s.now_ms, from), -EALREADY);
	stranger(&s, a);
	CHECK(a->g.stats.dropped > 0);
	sim_free(&s);
	mg_test_pass("mesh_gossip_refuse");
	return 0;
}
