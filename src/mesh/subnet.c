/* Subnet routes on the members' side (see subnet.h). */
#include "mesh/subnet.h"

#include <string.h>

#include "mesh/admin.h"
#include "peer/allowedips.h"
#include "peer/peer.h"
#include "tunnel/broker.h"

void mg_subnets_init(struct mg_subnets *s, unsigned ifindex, const struct mg_log *log)
{
	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	s->log = log;
	s->nl.fd = -1;
}

/* One certificate into a broker proof: its length (2 bytes, big-endian),
 * then its encoding. The new length of the proof, or 0 when it does not fit. */
static size_t put_cert(uint8_t *out, size_t len, size_t cap, const struct mg_cert *c)
{
	int n;

	if (cap - len < 2)
		return 0;
	n = mg_cert_encode(out + len + 2, cap - len - 2, c);
	if (n <= 0)
		return 0;
	out[len] = (uint8_t)(n >> 8);
	out[len + 1] = (uint8_t)n;
	return len + 2 + (size_t)n;
}

/* The proof the broker wants for a route outside the mesh's prefixes
 * (tunnel/broker.h): the gateway's certificate and its issuer's. */
static size_t prove(uint8_t *out, size_t cap, const struct mg_directory *d,
		    const struct mg_dir_member *m)
{
	const struct mg_dir_member *issuer = mg_directory_issuer(d, m->cert.signer_id);
	size_t len = put_cert(out, 0, cap, &m->cert);

	if (len && issuer)
		len = put_cert(out, len, cap, &issuer->cert);
	return len;
}

static int change_route(struct mg_subnets *s, const struct mg_netlink_route *r, bool add,
			const struct mg_directory *d, const struct mg_dir_member *m)
{
	uint8_t proof[MG_BROKER_PROOF_MAX];
	size_t len;

	if (!mg_broker_active())
		return add ? mg_netlink_route_add(&s->nl, r) : mg_netlink_route_delete(&s->nl, r);
	if (!add)
		return mg_broker_route(MG_BROKER_ROUTE_DEL, r, NULL, 0);
	len = d && m ? prove(proof, sizeof(proof), d, m) : 0;
	return mg_broker_route(MG_BROKER_ROUTE_ADD, r, proof, len);
}

static void route(struct mg_subnets *s, struct mg_subnet *e, bool add, const struct mg_directory *d,
		  const struct mg_dir_member *m)
{
	struct mg_netlink_route r = { .dst = e->prefix, .ifindex = s->ifindex };
	char text[MG_PREFIX_STRLEN];
	int ret;

	if (!s->ifindex || e->routed == add)
		return;
	if (!s->nl_open && mg_netlink_open(&s->nl) == 0)
		s->nl_open = true;
	if (!s->nl_open)
		return;
	ret = change_route(s, &r, add, d, m);
	mg_prefix_format(text, sizeof(text), &e->prefix);
	if (ret < 0 && !(add && ret == -EEXIST))
		mg_log(s->log, MG_LOG_ERROR, "mesh: cannot %s the route to %s: %s",
		       add ? "add" : "delete", text, strerror(-ret));
	e->routed = add;
}

void mg_subnets_free(struct mg_subnets *s)
{
	for (size_t i = 0; i < s->n; i++)
		route(s, &s->v[i], false, NULL, NULL);
	if (s->nl_open)
		mg_netlink_close(&s->nl);
	s->nl_open = false;
	s->n = 0;
}

static struct mg_subnet *entry(struct mg_subnets *s, const struct mg_prefix *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(&s->v[i].prefix, p, sizeof(*p)))
			return &s->v[i];
	if (s->n == MG_SUBNETS_MAX)
		return NULL;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].prefix = *p;
	return &s->v[s->n++];
}

const struct mg_subnet *mg_subnets_find(const struct mg_subnets *s, const struct mg_prefix *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(&s->v[i].prefix, p, sizeof(*p)))
			return &s->v[i];
	return NULL;
}

void mg_subnets_peer_reset(struct mg_subnets *s, const uint8_t key[MG_ED25519_PUB_LEN])
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].has_gateway && !memcmp(s->v[i].gateway, key, MG_ED25519_PUB_LEN))
			s->v[i].has_gateway = false;
}

/* How well a gateway is reached: 2 direct, 1 through a relay, 0 not. A
 * relay is chosen for a member whose direct path died before anyone knows
 * whether it is still there at all, so a gateway reached directly always
 * wins over one reached through a relay. */
static int reach(const struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN])
{
	const struct mg_path *p = mg_paths_find(ps, key);

	if (!p)
		return 0;
	return p->state == MG_PATH_DIRECT ? 2 : p->state == MG_PATH_RELAY ? 1 : 0;
}

/* Ours already: a subnet of one of our own interfaces (mine[n], read once
 * per sync). */
static bool local(const struct mg_prefix *p, const struct mg_prefix *mine, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mine[i].cidr < 8 * (mine[i].family == AF_INET ? 4 : 16) &&
		    mg_mesh_prefix_overlap(p, &mine[i]))
			return true;
	return false;
}

/* The best reached, then smallest, member key announcing each prefix. */
static void elect(struct mg_subnets *s, const struct mg_directory *d, const struct mg_paths *ps,
		  const uint8_t self[MG_ED25519_PUB_LEN], uint8_t (*winner)[MG_ED25519_PUB_LEN],
		  bool *won)
{
	int best[MG_SUBNETS_MAX] = { 0 };

	for (size_t i = 0; i < mg_directory_count(d); i++) {
		const struct mg_dir_member *m = mg_directory_member(d, i);
		struct mg_prefix r[MG_CERT_ROUTES_MAX];
		size_t n = mg_directory_routes(m, r);

		if (!n || !memcmp(m->cert.key, self, MG_ED25519_PUB_LEN))
			continue;
		for (size_t k = 0; k < n; k++) {
			struct mg_subnet *e = entry(s, &r[k]);
			size_t idx;
			int rank;

			if (!e)
				continue;
			e->seen = true;
			idx = (size_t)(e - s->v);
			rank = reach(ps, m->cert.key);
			if (rank && (!won[idx] || rank > best[idx] ||
				     (rank == best[idx] &&
				      memcmp(m->cert.key, winner[idx], MG_ED25519_PUB_LEN) < 0))) {
				memcpy(winner[idx], m->cert.key, MG_ED25519_PUB_LEN);
				won[idx] = true;
				best[idx] = rank;
			}
		}
	}
}

static void assign(struct mg_subnets *s, struct mg_subnet *e, const struct mg_directory *d,
		   struct mg_device *dev, const uint8_t key[MG_ED25519_PUB_LEN])
{
	const struct mg_dir_member *m = mg_directory_find(d, key);
	struct mg_peer *peer = m ? mg_peer_table_lookup(&dev->peers, m->cert.wg_key) : NULL;
	char text[MG_PREFIX_STRLEN];

	if (!peer || mg_allowedips_insert(&dev->allowedips, &e->prefix, peer) < 0)
		return;
	memcpy(e->gateway, key, MG_ED25519_PUB_LEN);
	e->has_gateway = true;
	route(s, e, true, d, m);
	mg_prefix_format(text, sizeof(text), &e->prefix);
	mg_log(s->log, MG_LOG_INFO, "mesh: %s through %s", text, m->cert.name);
}

static void withdraw(struct mg_subnets *s, struct mg_subnet *e, const struct mg_directory *d,
		     struct mg_device *dev)
{
	const struct mg_dir_member *m = mg_directory_find(d, e->gateway);
	struct mg_peer *peer = m ? mg_peer_table_lookup(&dev->peers, m->cert.wg_key) : NULL;

	if (peer)
		(void)mg_allowedips_remove(&dev->allowedips, &e->prefix, peer);
	e->has_gateway = false;
	route(s, e, false, NULL, NULL);
}

void mg_subnets_sync(struct mg_subnets *s, const struct mg_directory *d, const struct mg_paths *ps,
		     struct mg_device *dev, const uint8_t self[MG_ED25519_PUB_LEN])
{
	uint8_t winner[MG_SUBNETS_MAX][MG_ED25519_PUB_LEN];
	bool won[MG_SUBNETS_MAX] = { false };
	struct mg_prefix mine[64];
	size_t n_mine = 0;

	for (size_t i = 0; i < s->n; i++)
		s->v[i].seen = false;
	elect(s, d, ps, self, winner, won);
	if (s->n && mg_mesh_local_subnets(mine, 64, &n_mine) < 0)
		n_mine = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct mg_subnet *e = &s->v[i];

		if (!won[i] || !e->seen || local(&e->prefix, mine, n_mine)) {
			if (e->has_gateway || e->routed)
				withdraw(s, e, d, dev);
			continue;
		}
		if (!e->has_gateway || memcmp(e->gateway, winner[i], MG_ED25519_PUB_LEN))
			assign(s, e, d, dev, winner[i]);
	}
}
