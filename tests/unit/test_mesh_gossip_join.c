/* A join spreads: eight members that agree, a ninth whose certificate
 * arrives at one of them (the join exchange) and who announces itself.
 * Within a few rounds every directory holds the same items, the newcomer's
 * certificate and endpoints among them. No datagram is refused but the
 * newcomer's first digests, which reach members that do not know it yet
 * (its RUMORs carry its certificate, a digest has no room for it); none is
 * longer than MG_CTL_MAX_LEN (sim_send checks each). Then the rumors cool:
 * a quiet mesh sends only its digests. */
#include "mesh_sim.h"

int main(void)
{
	struct sim s;
	struct sim_node *x;
	struct mg_dir_endpoint ep[MG_DIR_ENDPOINTS_MAX];
	size_t rounds;
	uint64_t before;

	sim_init(&s, 8, NULL, 1);
	CHECK(sim_agree(&s, s.nodes[0]));
	x = sim_join(&s, s.nodes[0]);
	CHECK(!sim_agree(&s, s.nodes[0]));
	rounds = sim_until_agree(&s, x, 20);
	printf("join: all agree after %zu rounds\n", rounds);
	CHECK(rounds <= 10);
	for (size_t i = 0; i < s.n; i++) {
		const struct mg_dir_member *m = mg_directory_find(&s.nodes[i]->dir, x->pk);
		CHECK(m != NULL);
		CHECK_EQ(mg_directory_endpoints(m, ep), 2);
		CHECK_EQ(mg_directory_count(&s.nodes[i]->dir), 9);
	}
	if (s.refused)
		fprintf(stderr, "refused: %d\n", s.last_err);
	CHECK_EQ(s.refused, s.unknown);
	CHECK(s.unknown <= 2);
	CHECK(s.max_len <= MG_CTL_MAX_LEN);

	/* Quiet: nothing hot after a while, and a round costs one digest per
	 * member (the newcomer's introduction rounds aside). */
	for (int r = 0; r < 40; r++)
		sim_round(&s);
	for (size_t i = 0; i < s.n; i++)
		CHECK_EQ(s.nodes[i]->g.n_hot, 0);
	before = sim_sent_bytes(&s);
	sim_round(&s);
	CHECK_EQ(sim_sent_bytes(&s) - before, s.n * MG_GOSSIP_DIGEST_LEN);
	sim_free(&s);
	mg_test_pass("mesh_gossip_join");
	return 0;
}
