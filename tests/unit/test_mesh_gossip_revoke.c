/* A revocation spreads: published at one of ten members, it reaches every
 * other within a few rounds; each drops the revoked member (the lead hears
 * REMOVED through the directory) and all hold the same items. The revoked
 * member's datagrams are refused from then on (-ENOENT), and so is its
 * certificate carried in a datagram (-MG_MESH_EREVOKED): it cannot
 * introduce itself back. */
#include "mesh_sim.h"

int main(void)
{
	struct sim s;
	struct sim_node *victim;
	size_t rounds;

	sim_init(&s, 10, NULL, 2);
	victim = s.nodes[3];
	sim_revoke(&s, victim, s.nodes[1]);
	rounds = sim_until_agree(&s, s.nodes[1], 20);
	printf("revocation: all agree after %zu rounds\n", rounds);
	CHECK(rounds <= 10);
	for (size_t i = 0; i < s.n; i++) {
		if (s.nodes[i] == victim)
			continue;
		CHECK(mg_directory_find(&s.nodes[i]->dir, victim->pk) == NULL);
		CHECK(mg_directory_key_revoked(&s.nodes[i]->dir, victim->pk));
		CHECK_EQ(mg_directory_count(&s.nodes[i]->dir), 9);
	}
	CHECK_EQ(s.refused, 0);

	/* The victim keeps talking: refused everywhere. */
	victim->gone = false;
	sim_round(&s);
	CHECK(s.refused > 0);
	CHECK_EQ(s.last_err, -ENOENT);
	victim->g.intro_left = 5; /* now its RUMORs carry its certificate */
	s.refused = 0;
	sim_round(&s);
	CHECK(s.refused > 0);
	CHECK(s.refused_err[MG_MESH_EREVOKED] > 0);
	victim->gone = true;
	CHECK(sim_agree(&s, s.nodes[1]));
	sim_free(&s);
	mg_test_pass("mesh_gossip_revoke");
	return 0;
}
