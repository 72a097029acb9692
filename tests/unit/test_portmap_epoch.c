/* Gateway epochs: when a reply shows that the gateway restarted, per
 * RFC 6886 3.6 (NAT-PMP) and RFC 6887 8.5 (PCP). Each row is a previous
 * observation, a new one, and whether the new one is still the same
 * gateway life. */
#include "check.h"
#include "nat/epoch.h"

#define SEC UINT64_C(1000000000)

struct row {
	uint32_t prev_server;
	uint64_t prev_client_s;
	uint32_t server;
	uint64_t client_s;
	bool natpmp_valid;
	bool pcp_valid;
};

static const struct row rows[] = {
	/* in step */
	{ 1000, 50, 1060, 110, true, true },
	/* a reordered answer, 1 s back */
	{ 1000, 50, 999, 50, true, true },
	/* went back: restart */
	{ 1000, 50, 5, 110, false, false },
	{ 1000, 50, 997, 50, false, false },
	/* server slower than 7/8 of our time, minus 2 s (NAT-PMP); PCP allows 2 s + 1/16 */
	{ 1000, 0, 1085, 100, true, false },
	{ 1000, 0, 1085, 99, true, false },
	{ 1000, 0, 1084, 100, false, false },
	{ 1000, 0, 1086, 100, true, false },
	{ 1000, 0, 1092, 100, true, true },
	{ 1000, 0, 1080, 100, false, false },
	/* server much faster than us: PCP calls that invalid too */
	{ 1000, 0, 1200, 100, true, false },
	/* the server stood still while we moved on */
	{ 1000, 0, 1000, 10, false, false },
	{ 1000, 0, 1000, 2, true, true },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct mg_epoch n = { 0 }, p = { 0 };
		CHECK(mg_epoch_natpmp_update(&n, r->prev_server, r->prev_client_s * SEC));
		CHECK(mg_epoch_pcp_update(&p, r->prev_server, r->prev_client_s * SEC));
		bool nv = mg_epoch_natpmp_update(&n, r->server, r->client_s * SEC);
		bool pv = mg_epoch_pcp_update(&p, r->server, r->client_s * SEC);
		if (nv != r->natpmp_valid || pv != r->pcp_valid)
			fprintf(stderr, "row %zu: natpmp %d pcp %d\n", i, nv, pv);
		CHECK_EQ(nv, r->natpmp_valid);
		CHECK_EQ(pv, r->pcp_valid);
		/* The new observation is the reference from now on. */
		CHECK_EQ(n.server_s, r->server);
		CHECK_EQ(p.server_s, r->server);
	}
	mg_test_pass("portmap_epoch");
	return 0;
}
