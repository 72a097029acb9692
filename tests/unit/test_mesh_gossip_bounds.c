/* Item traffic is bounded per round, whatever the requests: forty members
 * each ask member A for a hundred items in one round; A answers each with at
 * most reply_max ITEMS datagrams and all of them with at most round_budget
 * bytes of items; in the next round it answers again. The requests are
 * built here byte by byte from gossip.h's format (so the format is what the
 * header says), signed by the requesters' keys for A. */
#include "mesh_sim.h"

static uint64_t counter = UINT64_C(1) << 62;

/* A datagram of type from `from` to `to`. */
static size_t craft(const struct sim *s, const struct sim_node *from, const struct sim_node *to,
		    uint8_t type, const uint8_t *body, size_t blen, uint8_t *out)
{
	static const char ctx[] = "mg-gossip-v1";
	uint8_t msg[12 + 16 + 32 + MG_CTL_MAX_LEN];
	size_t n = 0;

	out[n++] = MG_CTL_MAGIC;
	out[n++] = MG_CTL_VERSION;
	out[n++] = type;
	out[n++] = 0;
	memcpy(out + n, from->pk, 32);
	n += 32;
	counter++;
	for (int i = 0; i < 8; i++)
		out[n++] = (uint8_t)(counter >> (56 - 8 * i));
	out[n++] = 0; /* flags */
	CHECK(n == MG_GOSSIP_HEADER_LEN && n + blen + 64 <= MG_CTL_MAX_LEN);
	memcpy(out + n, body, blen);
	n += blen;
	memcpy(msg, ctx, 12);
	memcpy(msg + 12, s->mesh_id, 16);
	memcpy(msg + 28, to->pk, 32);
	memcpy(msg + 60, out, n);
	mg_ed25519_sign(out + n, msg, 60 + n, from->sk);
	return n + 64;
}

/* Item bytes in the ITEMS datagrams queued so far (and their number). */
static size_t queued_items(struct sim *s, size_t *dgrams)
{
	size_t bytes = 0;

	*dgrams = 0;
	for (size_t i = 0; i < s->q_n; i++) {
		const uint8_t *p = s->q[i].buf + MG_GOSSIP_HEADER_LEN;
		size_t count = *p++;
		CHECK_EQ(s->q[i].buf[2], MG_GOSSIP_ITEMS);
		(*dgrams)++;
		for (size_t k = 0; k < count; k++) {
			size_t len = (size_t)p[0] << 8 | p[1];
			bytes += len;
			p += 2 + len;
		}
	}
	return bytes;
}

/* A REQUEST for the first 100 of a's items. */
static size_t request(struct sim *s, struct sim_node *from, struct sim_node *a, uint8_t *out)
{
	uint8_t body[1 + 100 * MG_DIR_ID_LEN];

	body[0] = 100;
	for (size_t i = 0; i < 100; i++)
		memcpy(body + 1 + i * 8, mg_directory_item_at(&a->dir, i)->id, 8);
	return craft(s, from, a, MG_GOSSIP_REQUEST, body, sizeof(body), out);
}

int main(void)
{
	struct sim s;
	struct sim_node *a;
	uint8_t dg[MG_CTL_MAX_LEN], from[32], zero = 0;
	size_t len, bytes, dgrams, before;

	sim_init(&s, 60, NULL, 5);
	a = s.nodes[0];
	sim_round(&s);
	CHECK(mg_directory_item_count(&a->dir) >= 100);

	/* An empty RUMOR, as the header describes it: accepted, no reply. */
	len = craft(&s, s.nodes[1], a, MG_GOSSIP_RUMOR, &zero, 1, dg);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s.now_ms, from), 0);
	CHECK_EQ(s.q_n, 0);

	for (size_t k = 1; k <= 40; k++) {
		before = s.q_n;
		len = request(&s, s.nodes[k], a, dg);
		CHECK_EQ(mg_gossip_input(&a->g, dg, len, s.now_ms, from), 0);
		CHECK(s.q_n - before <= s.cfg.reply_max);
	}
	bytes = queued_items(&s, &dgrams);
	printf("one round: %zu bytes of items in %zu datagrams for 40 requests\n", bytes, dgrams);
	CHECK(bytes <= s.cfg.round_budget);
	CHECK(bytes > s.cfg.round_budget / 2);
	s.q_n = 0;

	/* The next round has a budget again. */
	s.now_ms += s.cfg.round_ms;
	mg_gossip_tick(&a->g, s.now_ms);
	s.q_n = 0;
	len = request(&s, s.nodes[41], a, dg);
	CHECK_EQ(mg_gossip_input(&a->g, dg, len, s.now_ms, from), 0);
	CHECK(queued_items(&s, &dgrams) > 0);
	CHECK(dgrams <= s.cfg.reply_max);
	s.q_n = 0;
	sim_free(&s);
	mg_test_pass("mesh_gossip_bounds");
	return 0;
}
