/* Birthday rounds' bookkeeping (see birthday.h). */
#include "mesh/birthday.h"

#include <errno.h>
#include <string.h>

int mg_bday_init(struct mg_bday_round *r, const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		 const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *target)
{
	memset(r, 0, sizeof(*r));
	if (target->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	memcpy(r->peer, peer_pk, MG_ED25519_PUB_LEN);
	memcpy(r->nonce, nonce, MG_PROBE_NONCE_LEN);
	r->target.in4 = target->in4;
	return 0;
}

int mg_bday_add_sock(struct mg_bday_round *r, uint16_t sock)
{
	if (r->n_socks == MG_BDAY_SOCKS_MAX)
		return -ENOSPC;
	r->socks[r->n_socks++] = sock;
	return 0;
}

static bool sprayed(const struct mg_bday_round *r, uint16_t port)
{
	for (unsigned i = 0; i < r->n_ports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

int mg_bday_add_port(struct mg_bday_round *r, uint16_t port)
{
	if (port < MG_BDAY_PORT_MIN)
		return -EINVAL;
	if (sprayed(r, port))
		return -EEXIST;
	if (r->n_ports == MG_BDAY_PORTS_MAX)
		return -ENOSPC;
	r->ports[r->n_ports++] = port;
	return 0;
}

struct mg_endpoint mg_bday_port_endpoint(const struct mg_bday_round *r, unsigned i)
{
	struct mg_endpoint ep = r->target;

	ep.in4.sin_port = htons(r->ports[i]);
	return ep;
}

static bool has_sock(const struct mg_bday_round *r, uint16_t sock)
{
	for (unsigned i = 0; i < r->n_socks; i++)
		if (r->socks[i] == sock)
			return true;
	return false;
}

int mg_bday_match(const struct mg_bday_round *r, const struct mg_probe_ack *ack,
		  const struct mg_endpoint *from, struct mg_endpoint *ep)
{
	bool ok;

	if (memcmp(ack->responder, r->peer, MG_ED25519_PUB_LEN))
		return -EPERM;
	if (!mg_equal(ack->nonce, r->nonce, MG_PROBE_NONCE_LEN))
		return -ENOENT;
	if (from->sa.sa_family != AF_INET ||
	    from->in4.sin_addr.s_addr != r->target.in4.sin_addr.s_addr)
		return -EADDRNOTAVAIL;
	if (!from->local.sock)
		ok = sprayed(r, ntohs(from->in4.sin_port));
	else
		ok = from->in4.sin_port == r->target.in4.sin_port && has_sock(r, from->local.sock);
	if (!ok)
		return -EADDRNOTAVAIL;
	*ep = *from;
	return 0;
}
