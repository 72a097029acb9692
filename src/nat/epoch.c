/* Epoch checks of RFC 6886 3.6 and RFC 6887 8.5, in whole seconds as the
 * servers count them. After each call the new observation is the reference
 * for the next, valid or not: a gateway that restarted starts a new epoch. */
#include "nat/epoch.h"
#include "util/time.h"

static void record(struct mg_epoch *e, uint32_t server_s, uint64_t now_ns)
{
	e->known = true;
	e->server_s = server_s;
	e->client_ns = now_ns;
}

static uint64_t client_delta_s(const struct mg_epoch *e, uint64_t now_ns)
{
	return now_ns > e->client_ns ? (now_ns - e->client_ns) / MG_NSEC_PER_SEC : 0;
}

bool mg_epoch_natpmp_update(struct mg_epoch *e, uint32_t server_s, uint64_t now_ns)
{
	bool valid = true;

	if (e->known) {
		uint64_t expected = (uint64_t)e->server_s + client_delta_s(e, now_ns) * 7 / 8;
		valid = (uint64_t)server_s + 2 >= expected;
	}
	record(e, server_s, now_ns);
	return valid;
}

bool mg_epoch_pcp_update(struct mg_epoch *e, uint32_t server_s, uint64_t now_ns)
{
	bool valid = true;

	if (e->known) {
		uint64_t client_d = client_delta_s(e, now_ns);
		if ((uint64_t)server_s + 1 < e->server_s) {
			valid = false;
		} else if (server_s > e->server_s) {
			uint64_t server_d = server_s - e->server_s;
			valid = client_d + 2 >= server_d - server_d / 16 &&
				server_d + 2 >= client_d - client_d / 16;
		} else {
			valid = client_d <= 2 + client_d / 16;
		}
	}
	record(e, server_s, now_ns);
	return valid;
}
