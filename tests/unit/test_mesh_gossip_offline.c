/* Anti-entropy brings back a member that was away: of ten members one is
 * offline (every datagram to or from it lost) while a member joins, another
 * is revoked and a third announces new endpoints. The others agree; once
 * every rumor has cooled (nothing is hot anywhere, so only the digests are
 * left to repair), the member returns and within a few rounds holds the
 * same items as everyone. */
#include "mesh_sim.h"

int main(void)
{
	struct sim s;
	struct sim_node *away, *x;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t rounds;

	sim_init(&s, 10, NULL, 3);
	away = s.nodes[9];
	away->offline = true;
	x = sim_join(&s, s.nodes[0]);
	sim_revoke(&s, s.nodes[4], s.nodes[2]);
	CHECK_EQ(mg_gossip_publish(&s.nodes[5]->g, item, sim_announce(item, &s, s.nodes[5], 2),
				   s.now_ms),
		 1);
	rounds = sim_until_agree(&s, x, 30);
	CHECK(rounds <= 30);
	for (int r = 0; r < 60; r++)
		sim_round(&s);
	for (size_t i = 0; i < s.n; i++)
		CHECK(s.nodes[i]->gone || s.nodes[i]->g.n_hot == 0);
	CHECK(mg_directory_find(&away->dir, x->pk) == NULL);
	CHECK(mg_directory_find(&away->dir, s.nodes[4]->pk) != NULL);

	away->offline = false;
	CHECK(!sim_agree(&s, x));
	rounds = sim_until_agree(&s, x, 30);
	printf("offline member caught up after %zu rounds\n", rounds);
	CHECK(rounds <= 15);
	CHECK(mg_directory_find(&away->dir, x->pk) != NULL);
	CHECK(mg_directory_find(&away->dir, s.nodes[4]->pk) == NULL);
	CHECK(mg_directory_find(&away->dir, s.nodes[5]->pk)->announce_seq == 2);
	sim_free(&s);
	mg_test_pass("mesh_gossip_offline");
	return 0;
}
