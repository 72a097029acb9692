#include "nat/natprobe.h"

#include <arpa/inet.h>
#include <string.h>

bool mg_nat_same_address(const struct mg_endpoint *a, const struct mg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	return false;
}

static uint16_t port_of(const struct mg_endpoint *ep)
{
	return ntohs(ep->sa.sa_family == AF_INET ? ep->in4.sin_port : ep->in6.sin6_port);
}

static bool usable(const struct mg_stun_result *r, int family)
{
	return r->status == 0 && r->server.sa.sa_family == family &&
	       r->mapped.sa.sa_family == family;
}

/* An earlier usable result came from the same server address. */
static bool address_seen(const struct mg_stun_result *r, size_t i, int family)
{
	for (size_t j = 0; j < i; j++)
		if (usable(&r[j], family) && mg_nat_same_address(&r[j].server, &r[i].server))
			return true;
	return false;
}

static bool is_local(const struct mg_endpoint *ep, const struct mg_endpoint *local, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mg_nat_same_address(ep, &local[i]))
			return true;
	return false;
}

/* Compares every answer with the first: sets *differs when another server
 * saw another endpoint. Servers on one address with different ports can
 * prove a dependent mapping, though not an independent one. */
static void compare(struct mg_nat_behaviour *out, const struct mg_stun_result *r, size_t n,
		    const struct mg_stun_result *first, uint16_t local_port, bool *differs)
{
	for (size_t i = 0; i < n; i++) {
		if (!usable(&r[i], out->family))
			continue;
		out->answers++;
		if (!address_seen(r, i, out->family))
			out->server_addresses++;
		if (port_of(&r[i].mapped) != local_port)
			out->port_preserved = MG_NAT_NO;
		if (!mg_endpoint_equal_remote(&r[i].mapped, &first->mapped))
			*differs = true;
		if (!mg_nat_same_address(&r[i].mapped, &first->mapped))
			out->varies_address = true;
	}
}

void mg_nat_classify(struct mg_nat_behaviour *out, int family, uint16_t local_port,
		     const struct mg_stun_result *r, size_t n, const struct mg_endpoint *local,
		     size_t nlocal)
{
	const struct mg_stun_result *first = NULL;
	bool differs = false;

	memset(out, 0, sizeof(*out));
	out->family = family;
	out->mapping = MG_NAT_MAPPING_UNKNOWN;
	out->port_preserved = MG_NAT_UNKNOWN;
	for (size_t i = 0; i < n && !first; i++)
		if (usable(&r[i], family))
			first = &r[i];
	if (!first)
		return;
	out->public_endpoint = first->mapped;
	out->port_preserved = MG_NAT_YES;
	compare(out, r, n, first, local_port, &differs);
	if (is_local(&first->mapped, local, nlocal) && !differs &&
	    out->port_preserved == MG_NAT_YES)
		out->mapping = MG_NAT_MAPPING_NONE;
	else if (differs)
		out->mapping = MG_NAT_MAPPING_DEPENDENT;
	else if (out->server_addresses >= 2)
		out->mapping = MG_NAT_MAPPING_INDEPENDENT;
}

const char *mg_nat_mapping_name(enum mg_nat_mapping m)
{
	switch (m) {
	case MG_NAT_MAPPING_NONE:
		return "none";
	case MG_NAT_MAPPING_INDEPENDENT:
		return "endpoint-independent";
	case MG_NAT_MAPPING_DEPENDENT:
		return "endpoint-dependent";
	case MG_NAT_MAPPING_UNKNOWN:
		break;
	}
	return "unknown";
}
