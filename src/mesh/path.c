/* The path manager (see path.h). */
#include "mesh/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "peer/peer.h"
#include "util/macros.h"

/* About the agent's tick: how far ahead a round's spray is sent. */
#define BDAY_TICK_MS 250

int mg_paths_init(struct mg_paths *ps, struct mg_engine *e, const struct mg_log *log,
		  const uint8_t sk[MG_ED25519_SECRET_LEN], const uint8_t pk[MG_ED25519_PUB_LEN])
{
	memset(ps, 0, sizeof(*ps));
	ps->engine = e;
	ps->log = log;
	ps->sk = sk;
	ps->pk = pk;
	return 0;
}

static void bday_end(struct mg_paths *ps, struct mg_path *p, uint64_t now);

void mg_paths_free(struct mg_paths *ps)
{
	(void)mg_paths_set_relay(ps, false);
	/* The engine's sockets close with the engine. */
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}

int mg_paths_set_relay(struct mg_paths *ps, bool on)
{
	int ret;

	if (on == ps->relaying)
		return 0;
	if (!on) {
		mg_relay_table_free(&ps->relay);
		ps->relaying = false;
		return 0;
	}
	ret = mg_relay_table_init(&ps->relay);
	ps->relaying = ret == 0;
	return ret;
}

bool mg_paths_relaying(const struct mg_paths *ps)
{
	return ps->relaying;
}

/* ---- the table ---- */

/* The extra socket p's direct path kept, closed (the path left it). */
static void release_sock(struct mg_paths *ps, struct mg_path *p)
{
	if (p->sock)
		mg_engine_extra_close(ps->engine, p->sock);
	p->sock = 0;
}

const struct mg_path *mg_paths_find(const struct mg_paths *ps,
				    const uint8_t key[MG_ED25519_PUB_LEN])
{
	for (size_t i = 0; i < ps->n; i++)
		if (!memcmp(ps->v[i].key, key, MG_ED25519_PUB_LEN))
			return &ps->v[i];
	return NULL;
}

struct mg_path *mg_paths_get(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN])
{
	struct mg_path *p = (struct mg_path *)mg_paths_find(ps, key);

	if (p)
		return p;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		struct mg_path *v =
			cap <= MG_DIR_MEMBERS_MAX ? realloc(ps->v, cap * sizeof(*v)) : NULL;

		if (!v)
			return NULL;
		ps->v = v;
		ps->cap = cap;
	}
	p = &ps->v[ps->n++];
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, MG_ED25519_PUB_LEN);
	mg_mesh_key_id(p->key_id, key);
	mg_probe_pending_init(&p->pending, key);
	p->backoff = MG_PATH_RETRY_MIN_MS;
	return p;
}

void mg_paths_forget(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN])
{
	struct mg_path *p = (struct mg_path *)mg_paths_find(ps, key);

	if (ps->relaying)
		mg_relay_forget(&ps->relay, key);
	if (ps->bday.active && !memcmp(ps->bday.r.peer, key, MG_ED25519_PUB_LEN))
		bday_end(ps, NULL, 0);
	if (p) {
		release_sock(ps, p);
		*p = ps->v[--ps->n];
	}
}

static struct mg_path *find_by_id(struct mg_paths *ps, const uint8_t id[MG_MESH_KEY_ID_LEN])
{
	for (size_t i = 0; i < ps->n; i++)
		if (!memcmp(ps->v[i].key_id, id, MG_MESH_KEY_ID_LEN))
			return &ps->v[i];
	return NULL;
}

bool mg_paths_seen(struct mg_paths *ps, const struct mg_dir_member *m,
		   const struct mg_endpoint *from)
{
	struct mg_path *p = mg_paths_get(ps, m->cert.key);

	if (!p || (p->has_seen && mg_endpoint_equal_remote(&p->seen, from)))
		return false;
	p->seen = *from;
	p->has_seen = true;
	return true;
}

void mg_dir_endpoint_to(struct mg_endpoint *ep, const struct mg_dir_endpoint *d)
{
	memset(ep, 0, sizeof(*ep));
	if (d->family == AF_INET) {
		ep->in4.sin_family = AF_INET;
		memcpy(&ep->in4.sin_addr, d->addr, 4);
		ep->in4.sin_port = htons(d->port);
	} else {
		ep->in6.sin6_family = AF_INET6;
		memcpy(&ep->in6.sin6_addr, d->addr, 16);
		ep->in6.sin6_port = htons(d->port);
	}
}

static bool usable(const struct mg_paths *ps, const struct mg_endpoint *ep)
{
	return !ps->usable || ps->usable(ps->usable_ctx, ep);
}

bool mg_paths_endpoint(struct mg_paths *ps, const struct mg_dir_member *m, struct mg_endpoint *ep)
{
	struct mg_dir_endpoint cands[MG_DIR_ENDPOINTS_MAX];
	const struct mg_path *p = mg_paths_find(ps, m->cert.key);
	size_t n = mg_directory_endpoints(m, cands);

	if (p && p->state == MG_PATH_DIRECT) {
		*ep = p->direct;
		return true;
	}
	if (p && p->has_seen && usable(ps, &p->seen)) {
		*ep = p->seen;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		mg_dir_endpoint_to(ep, &cands[i]);
		if (usable(ps, ep))
			return true;
	}
	return false;
}

/* ---- sending ---- */

static void send_to(struct mg_paths *ps, const struct mg_endpoint *to, const uint8_t *buf,
		    size_t len)
{
	mg_engine_send_transient(ps->engine, to, buf, len);
}

static void probe(struct mg_paths *ps, struct mg_path *p, const struct mg_endpoint *to,
		  uint64_t now)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN], buf[MG_PROBE_LEN];
	int len;

	mg_random_bytes(nonce, sizeof(nonce));
	len = mg_probe_make(buf, ps->sk, p->key, nonce, mg_mesh_wall_ms());
	if (len < 0)
		return;
	mg_probe_pending_add(&p->pending, nonce, to, now);
	send_to(ps, to, buf, (size_t)len);
}

/* Adds ep to out[0..n) unless it is not usable, there already, or out is
 * full. */
static size_t add_unique(const struct mg_paths *ps, struct mg_endpoint *out, size_t n, size_t max,
			 const struct mg_endpoint *ep)
{
	if (!usable(ps, ep))
		return n;
	for (size_t k = 0; k < n; k++)
		if (mg_endpoint_equal_remote(&out[k], ep))
			return n;
	if (n == max)
		return n;
	out[n] = *ep;
	return n + 1;
}

/* The usable candidates of m's last PUNCH (the freshest), where it spoke
 * from, and what it announced, without repeats, as many as one round's
 * probes can be told apart by the pending set. */
static size_t candidates(const struct mg_paths *ps, const struct mg_path *p,
			 const struct mg_dir_member *m, struct mg_endpoint *out)
{
	struct mg_dir_endpoint d[MG_DIR_ENDPOINTS_MAX];
	size_t n = 0, nd = mg_directory_endpoints(m, d);

	for (unsigned i = 0; i < p->n_hints; i++)
		n = add_unique(ps, out, n, MG_PATH_CANDIDATES_MAX, &p->hints[i]);
	if (p->has_seen)
		n = add_unique(ps, out, n, MG_PATH_CANDIDATES_MAX, &p->seen);
	for (size_t i = 0; i < nd; i++) {
		struct mg_endpoint ep;

		mg_dir_endpoint_to(&ep, &d[i]);
		n = add_unique(ps, out, n, MG_PATH_CANDIDATES_MAX, &ep);
	}
	return n;
}

/* One probe to every candidate of m. */
static void probe_all(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
		      uint64_t now)
{
	struct mg_endpoint cands[MG_PATH_CANDIDATES_MAX];
	size_t n = candidates(ps, p, m, cands);

	for (size_t i = 0; i < n; i++)
		probe(ps, p, &cands[i], now);
}

/* ---- the peer ---- */

static struct mg_peer *peer_of(struct mg_paths *ps, const struct mg_dir_member *m)
{
	return mg_peer_table_lookup(&ps->engine->dev.peers, m->cert.wg_key);
}

/* A handshake now, not after the hold of an earlier attempt that went to a
 * path that did not work; a session that exists just moves to the new path. */
static void handshake_now(struct mg_peer *peer)
{
	if (peer->keypairs.current)
		return;
	peer->last_sent_handshake = 0;
	mg_device_send_initiation(peer, false);
}

/* A RELAY_REGISTER to p's direct endpoint (ignored unless it relays). */
static void register_with(struct mg_paths *ps, const struct mg_path *p)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN], buf[MG_PROBE_LEN];
	int len;

	mg_random_bytes(nonce, sizeof(nonce));
	len = mg_relay_register_make(buf, ps->sk, p->key, nonce, mg_mesh_wall_ms());
	if (len > 0)
		send_to(ps, &p->direct, buf, (size_t)len);
}

static void go_direct(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
		      const struct mg_endpoint *ep, uint64_t now)
{
	struct mg_peer *peer = peer_of(ps, m);
	char text[MG_ENDPOINT_STRLEN];
	bool was = p->state == MG_PATH_DIRECT && mg_endpoint_equal_remote(&p->direct, ep) &&
		   p->direct.local.sock == ep->local.sock;

	if (!usable(ps, ep))
		return; /* it answered through our own mesh interface */
	if (p->sock != ep->local.sock)
		release_sock(ps, p);
	p->sock = ep->local.sock;
	p->state = MG_PATH_DIRECT;
	p->direct = *ep;
	p->bday_rounds = 0;
	p->unanswered = 0;
	p->last_ack = now;
	p->backoff = MG_PATH_RETRY_MIN_MS;
	p->next_probe = now + MG_PATH_CHECK_BUSY_MS;
	if (!p->to_direct)
		p->to_direct = now - p->since ? now - p->since : 1;
	if (!was && !ps->n_relays)
		register_with(ps, p); /* a relay soon helps every other member */
	if (!peer || was)
		return;
	p->hs_until = now + MG_PATH_HS_FAST_MS;
	p->last_hs = now;
	mg_device_peer_set_relay(peer, NULL, NULL, 0);
	mg_device_peer_set_endpoint(peer, ep);
	mg_endpoint_format(text, sizeof(text), ep);
	if (ep->local.sock)
		mg_log(ps->log, MG_LOG_INFO, "mesh: direct path to %s at %s (from extra socket %u)",
		       m->cert.name, text, ep->local.sock);
	else
		mg_log(ps->log, MG_LOG_INFO, "mesh: direct path to %s at %s", m->cert.name, text);
	handshake_now(peer);
}

static const struct mg_path_relay *pick_relay(struct mg_paths *ps, const struct mg_path *p,
					      uint64_t now)
{
	for (size_t i = 0; i < ps->n_relays; i++) {
		const struct mg_path *r = mg_paths_find(ps, ps->relays[i].key);

		if (ps->relays[i].until > now && r && r != p && r->state == MG_PATH_DIRECT)
			return &ps->relays[i];
	}
	return NULL;
}

static void go_relay(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
		     const uint8_t relay_key[MG_ED25519_PUB_LEN],
		     const struct mg_endpoint *relay_ep, const char *relay_name, uint64_t now)
{
	struct mg_peer *peer = peer_of(ps, m);
	uint8_t prefix[MG_RELAY_HEADER_LEN];

	if (p->state == MG_PATH_RELAY && !memcmp(p->via, relay_key, MG_ED25519_PUB_LEN))
		return;
	p->state = MG_PATH_RELAY;
	memcpy(p->via, relay_key, MG_ED25519_PUB_LEN);
	if (!peer)
		return;
	p->hs_until = now + MG_PATH_HS_FAST_MS;
	p->last_hs = now;
	mg_relay_wrap_header(prefix, p->key_id);
	mg_device_peer_set_relay(peer, relay_ep, prefix, sizeof(prefix));
	mg_log(ps->log, MG_LOG_INFO, "mesh: %s through relay %s", m->cert.name, relay_name);
	handshake_now(peer);
}

/* ---- punch requests (path.h: coordinated punching) ---- */

/* What our PUNCH lists: our endpoint as a relay saw it, then our own. */
static size_t punch_candidates(const struct mg_paths *ps,
			       struct mg_endpoint out[MG_PUNCH_CANDS_MAX])
{
	size_t n = 0;

	if (ps->reflexive.sa.sa_family)
		n = add_unique(ps, out, n, MG_PUNCH_CANDS_MAX, &ps->reflexive);
	for (size_t i = 0; i < ps->n_own; i++)
		n = add_unique(ps, out, n, MG_PUNCH_CANDS_MAX, &ps->own[i]);
	return n;
}

/* A PUNCH for p's member through each relay that confirmed us (the member
 * may have registered with any of them): one relay round trip later it
 * probes us while we probe it. */
static void send_punch(struct mg_paths *ps, struct mg_path *p, uint64_t now)
{
	uint8_t buf[MG_RELAY_HEADER_LEN + MG_PUNCH_LEN], nonce[MG_PROBE_NONCE_LEN];
	struct mg_endpoint cands[MG_PUNCH_CANDS_MAX];
	bool made = false;

	for (size_t i = 0; i < ps->n_relays; i++) {
		const struct mg_path *rp = mg_paths_find(ps, ps->relays[i].key);

		if (ps->relays[i].until <= now || !rp || rp == p || rp->state != MG_PATH_DIRECT)
			continue;
		if (!made) {
			mg_random_bytes(nonce, sizeof(nonce));
			if (mg_punch_make(buf + MG_RELAY_HEADER_LEN, ps->sk, p->key, nonce,
					  mg_mesh_wall_ms(), cands,
					  punch_candidates(ps, cands)) < 0)
				return;
			mg_relay_wrap_header(buf, p->key_id);
			made = true;
		}
		send_to(ps, &rp->direct, buf, sizeof(buf));
	}
	if (made)
		p->last_punch_tx = now;
}

void mg_paths_set_own(struct mg_paths *ps, const struct mg_dir_endpoint *eps, size_t n)
{
	ps->n_own = 0;
	for (size_t i = 0; i < n && i < MG_DIR_ENDPOINTS_MAX; i++)
		mg_dir_endpoint_to(&ps->own[ps->n_own++], &eps[i]);
}

/* ---- birthday rounds (path.h: hard NAT) ---- */

/* Not a private, shared, loopback or link-local IPv4 address: a NAT's
 * public side, worth a round. */
static bool public_v4(const struct mg_endpoint *ep)
{
	uint32_t a;

	if (ep->sa.sa_family != AF_INET)
		return false;
	a = ntohl(ep->in4.sin_addr.s_addr);
	return a && (a >> 24) != 10 && (a >> 24) != 127 && (a >> 20) != 0xac1 &&
	       (a >> 16) != 0xc0a8 && (a >> 16) != 0xa9fe && (a >> 22) != (100u << 2 | 1) &&
	       (a >> 28) < 14;
}

/* The member's first announced public IPv4 endpoint. */
static bool public_candidate(const struct mg_paths *ps, const struct mg_dir_member *m,
			     struct mg_endpoint *out)
{
	struct mg_dir_endpoint d[MG_DIR_ENDPOINTS_MAX];
	size_t nd = mg_directory_endpoints(m, d);

	for (size_t i = 0; i < nd; i++) {
		mg_dir_endpoint_to(out, &d[i]);
		if (public_v4(out) && usable(ps, out))
			return true;
	}
	return false;
}

/* Ends the round: its sockets close, but the one p's direct path kept
 * (p: the member, when it won; NULL otherwise). */
static void bday_end(struct mg_paths *ps, struct mg_path *p, uint64_t now)
{
	struct mg_path_bday *b = &ps->bday;

	for (unsigned i = 0; i < b->r.n_socks; i++)
		if (!p || b->r.socks[i] != p->sock)
			mg_engine_extra_close(ps->engine, b->r.socks[i]);
	ps->bday_rounds++;
	if (p) {
		ps->bday_wins++;
	} else if ((p = (struct mg_path *)mg_paths_find(ps, b->r.peer))) {
		p->next_bday =
			now +
			(p->bday_rounds < MG_PATH_BDAY_ROUNDS_FAST ? 0 : MG_PATH_RETRY_MAX_MS);
	}
	mg_log(ps->log, MG_LOG_VERBOSE,
	       "mesh: birthday round %u: %u sockets, %u ports, %s (%llu of %llu rounds won)",
	       b->round, b->r.n_socks, b->r.n_ports,
	       p && p->state == MG_PATH_DIRECT ? "won" : "no path",
	       (unsigned long long)ps->bday_wins, (unsigned long long)ps->bday_rounds);
	memset(b, 0, sizeof(*b));
}

static void bday_start(struct mg_paths *ps, struct mg_path *p, const struct mg_endpoint *target,
		       uint64_t now)
{
	struct mg_path_bday *b = &ps->bday;
	uint8_t nonce[MG_PROBE_NONCE_LEN];

	memset(b, 0, sizeof(*b));
	mg_random_bytes(nonce, sizeof(nonce));
	if (mg_bday_init(&b->r, p->key, nonce, target) < 0 ||
	    mg_probe_make(b->probe, ps->sk, p->key, nonce, mg_mesh_wall_ms()) < 0)
		return;
	b->active = true;
	b->round = ++p->bday_rounds;
	b->started = now;
	/* The spray starts once the first sockets are open, so that theirs
	 * and the other side's (if it is the one spraying) overlap. */
	b->spray_from = now + MG_PATH_BDAY_ROUND_MS / 5;
}

/* One tick of the round: MG_PATH_BDAY_BURST sockets more, and the ports
 * due by now (spread evenly over the rest of the round). */
static void bday_step(struct mg_paths *ps, uint64_t now)
{
	struct mg_path_bday *b = &ps->bday;
	uint64_t span = b->started + MG_PATH_BDAY_ROUND_MS - b->spray_from;
	unsigned due;

	for (unsigned k = 0; k < MG_PATH_BDAY_BURST && !b->socks_done; k++) {
		struct mg_endpoint to = b->r.target;
		int n = mg_engine_extra_open(ps->engine, AF_INET);

		if (n < 0 || mg_bday_add_sock(&b->r, (uint16_t)n) < 0) {
			if (n > 0)
				mg_engine_extra_close(ps->engine, (unsigned)n);
			b->socks_done = true;
			break;
		}
		b->socks_done = b->r.n_socks == MG_PATH_BDAY_SOCKS;
		to.local.sock = (uint16_t)n;
		send_to(ps, &to, b->probe, sizeof(b->probe));
	}
	if (now < b->spray_from)
		return;
	due = (unsigned)((now - b->spray_from + BDAY_TICK_MS) * MG_PATH_BDAY_SPRAY / span);
	if (due > MG_PATH_BDAY_SPRAY)
		due = MG_PATH_BDAY_SPRAY;
	while (b->r.n_ports < due) {
		uint16_t port =
			(uint16_t)(MG_BDAY_PORT_MIN + mg_random_uniform(65536 - MG_BDAY_PORT_MIN));
		struct mg_endpoint to;

		if (mg_bday_add_port(&b->r, port) < 0)
			continue; /* sprayed already: draw again */
		to = mg_bday_port_endpoint(&b->r, b->r.n_ports - 1);
		send_to(ps, &to, b->probe, sizeof(b->probe));
	}
}

/* A member without a direct path for a while, with a public endpoint:
 * a round for it when none runs. */
static void bday_consider(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
			  uint64_t now)
{
	struct mg_endpoint target;

	if (ps->bday.active || now - p->since < MG_PATH_BDAY_AFTER_MS || now < p->next_bday ||
	    !public_candidate(ps, m, &target))
		return;
	bday_start(ps, p, &target, now);
}

static void bday_tick(struct mg_paths *ps, uint64_t now)
{
	struct mg_path *p;

	if (!ps->bday.active)
		return;
	p = (struct mg_path *)mg_paths_find(ps, ps->bday.r.peer);
	if (!p || p->state == MG_PATH_DIRECT) {
		bday_end(ps, p && p->state == MG_PATH_DIRECT ? p : NULL, now);
		return;
	}
	if (now - ps->bday.started >= MG_PATH_BDAY_ROUND_MS) {
		bday_end(ps, NULL, now);
		return;
	}
	bday_step(ps, now);
}

/* ---- the periodic work ---- */

bool mg_paths_static(const struct mg_dir_member *m)
{
	for (unsigned i = 0; i < m->cert.n_groups; i++)
		if (!strcmp(m->cert.groups[i], MG_PATH_STATIC_GROUP))
			return true;
	return false;
}

/* Traffic to the member in the last MG_PATH_BUSY_MS: its path is checked
 * often, since a dead one costs packets now. */
static bool traffic_flows(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
			  uint64_t now)
{
	struct mg_peer *peer = peer_of(ps, m);

	if (peer && peer->tx_bytes != p->last_tx) {
		p->last_tx = peer->tx_bytes;
		p->last_tx_ms = now;
	}
	return p->last_tx_ms && now - p->last_tx_ms < MG_PATH_BUSY_MS;
}

static void search(struct mg_paths *ps, const struct mg_directory *d, struct mg_path *p,
		   const struct mg_dir_member *m, uint64_t now);

static void check_direct(struct mg_paths *ps, const struct mg_directory *d, struct mg_path *p,
			 const struct mg_dir_member *m, uint64_t now)
{
	bool busy = traffic_flows(ps, p, m, now);

	/* A route into the mesh that appeared since (a member's subnet) would
	 * carry the path through its own tunnel. */
	if (p->unanswered >= MG_PATH_DEAD_PROBES || !usable(ps, &p->direct)) {
		mg_log(ps->log, MG_LOG_INFO, "mesh: direct path to %s lost", m->cert.name);
		if (p->sock && peer_of(ps, m)) {
			/* A later round may reuse the socket's number: the peer
			 * must not follow it there. */
			struct mg_endpoint ep = p->direct;

			ep.local.sock = 0;
			mg_device_peer_set_endpoint(peer_of(ps, m), &ep);
		}
		release_sock(ps, p);
		p->state = MG_PATH_NONE;
		p->since = now;
		p->next_probe = now;
		search(ps, d, p, m, now);
		return;
	}
	if (now < p->next_probe && !(busy && now + MG_PATH_CHECK_BUSY_MS < p->next_probe))
		return;
	probe(ps, p, &p->direct, now);
	p->unanswered++;
	p->next_probe = now + (busy ? MG_PATH_CHECK_BUSY_MS : MG_PATH_CHECK_IDLE_MS);
}

/* No direct path: through a relay at once, so that traffic (the first
 * handshake too) never waits for probing. */
static void relay_now(struct mg_paths *ps, const struct mg_directory *d, struct mg_path *p,
		      const struct mg_dir_member *m, uint64_t now)
{
	const struct mg_path_relay *r;
	const struct mg_path *rp;
	const struct mg_dir_member *rm;

	if (p->state != MG_PATH_NONE || !(r = pick_relay(ps, p, now)))
		return;
	rp = mg_paths_find(ps, r->key);
	rm = mg_directory_find(d, r->key);
	if (rp && rm)
		go_relay(ps, p, m, r->key, &rp->direct, rm->cert.name, now);
}

/* The relay now, and a probe round with a PUNCH when one is due. */
static void seek(struct mg_paths *ps, const struct mg_directory *d, struct mg_path *p,
		 const struct mg_dir_member *m, uint64_t now)
{
	if (!p->since)
		p->since = now;
	relay_now(ps, d, p, m, now);
	if (now < p->next_probe)
		return;
	probe_all(ps, p, m, now);
	send_punch(ps, p, now);
	p->next_probe = now + p->backoff;
	p->backoff = p->backoff * 2 > MG_PATH_RETRY_MAX_MS ? MG_PATH_RETRY_MAX_MS : p->backoff * 2;
}

/* seek, and birthday rounds (only from the tick: they open and close
 * sockets). */
static void search(struct mg_paths *ps, const struct mg_directory *d, struct mg_path *p,
		   const struct mg_dir_member *m, uint64_t now)
{
	seek(ps, d, p, m, now);
	bday_consider(ps, p, m, now);
}

/* A new path and still no session a second after the handshake: another
 * one, not WireGuard's retry 5 s later (the first may have crossed the
 * path change: an answer sent through a relay the initiator does not use
 * yet, or to where it no longer is). For MG_PATH_HS_FAST_MS at most. */
static void handshake_retry(struct mg_paths *ps, struct mg_path *p, const struct mg_dir_member *m,
			    uint64_t now)
{
	struct mg_peer *peer;

	if (p->state == MG_PATH_NONE || now >= p->hs_until ||
	    now - p->last_hs < MG_PATH_HS_RETRY_MS || !(peer = peer_of(ps, m)) ||
	    peer->keypairs.current)
		return;
	p->last_hs = now;
	handshake_now(peer);
}

static void register_with_relays(struct mg_paths *ps, uint64_t now)
{
	if (now < ps->next_register)
		return;
	ps->next_register = now + MG_PATH_REGISTER_MS;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].state == MG_PATH_DIRECT)
			register_with(ps, &ps->v[i]);
}

void mg_paths_tick(struct mg_paths *ps, const struct mg_directory *d, uint64_t now)
{
	bool any_direct = false;

	for (size_t i = 0; i < mg_directory_count(d); i++) {
		const struct mg_dir_member *m = mg_directory_member(d, i);
		struct mg_path *p;

		if (!memcmp(m->cert.key, ps->pk, MG_ED25519_PUB_LEN) || !peer_of(ps, m) ||
		    mg_paths_static(m))
			continue;
		p = mg_paths_get(ps, m->cert.key);
		if (!p)
			continue;
		if (p->state == MG_PATH_DIRECT)
			check_direct(ps, d, p, m, now);
		else
			search(ps, d, p, m, now);
		handshake_retry(ps, p, m, now);
		any_direct |= p->state == MG_PATH_DIRECT;
	}
	bday_tick(ps, now);
	/* A new direct path: register with it soon, not in 25 s. */
	if (any_direct && !ps->n_relays && ps->next_register > now + MG_PATH_RETRY_MIN_MS)
		ps->next_register = now;
	register_with_relays(ps, now);
}

/* The members without a direct path whose probe round is due. */
void mg_paths_kick(struct mg_paths *ps, const struct mg_directory *d, uint64_t now)
{
	for (size_t i = 0; i < mg_directory_count(d); i++) {
		const struct mg_dir_member *m = mg_directory_member(d, i);
		struct mg_path *p;

		if (!memcmp(m->cert.key, ps->pk, MG_ED25519_PUB_LEN) || !peer_of(ps, m) ||
		    mg_paths_static(m) || !(p = mg_paths_get(ps, m->cert.key)) ||
		    p->state == MG_PATH_DIRECT)
			continue;
		seek(ps, d, p, m, now);
	}
}

void mg_paths_candidates_changed(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN])
{
	struct mg_path *p = (struct mg_path *)mg_paths_find(ps, key);

	if (p && p->state != MG_PATH_DIRECT) {
		p->backoff = MG_PATH_RETRY_MIN_MS;
		p->next_probe = 0;
	}
}

void mg_paths_network_changed(struct mg_paths *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		ps->v[i].backoff = MG_PATH_RETRY_MIN_MS;
		ps->v[i].next_probe = 0;
		ps->v[i].bday_rounds = 0;
		ps->v[i].next_bday = 0;
	}
	ps->next_register = 0;
}

/* ---- what arrives ---- */

static const struct mg_dir_member *sender(const struct mg_directory *d, const uint8_t *key)
{
	return mg_directory_find(d, key);
}

static void on_probe(struct mg_paths *ps, const struct mg_directory *d,
		     const struct mg_endpoint *from, const uint8_t *buf, size_t len, uint64_t now)
{
	uint8_t out[MG_PROBE_ACK_MAX];
	const struct mg_dir_member *m;
	struct mg_probe pr;
	struct mg_path *p;
	int n;

	if (mg_probe_parse(&pr, buf, len) < 0 || !(m = sender(d, pr.sender)) ||
	    mg_probe_verify(&pr, m->cert.key, ps->pk, mg_mesh_wall_ms()) < 0)
		return;
	n = mg_probe_ack_make(out, ps->sk, m->cert.key, pr.nonce, from);
	if (n > 0)
		send_to(ps, from, out, (size_t)n);
	/* Punch back: our answer and a probe of ours open our NAT to them. */
	p = mg_paths_get(ps, m->cert.key);
	if (p && p->state != MG_PATH_DIRECT && now - p->last_probe_back >= MG_PATH_PROBE_BACK_MS) {
		p->last_probe_back = now;
		probe(ps, p, from, now);
	}
}

static void on_probe_ack(struct mg_paths *ps, const struct mg_directory *d,
			 const struct mg_endpoint *from, const uint8_t *buf, size_t len,
			 uint64_t now)
{
	const struct mg_dir_member *m;
	struct mg_probe_ack ack;
	struct mg_endpoint ep;
	struct mg_path *p;
	uint64_t rtt;

	if (mg_probe_ack_parse(&ack, buf, len) < 0 || !(m = sender(d, ack.responder)) ||
	    mg_probe_ack_verify(&ack, m->cert.key, ps->pk) < 0)
		return;
	p = mg_paths_get(ps, m->cert.key);
	if (p && p->state != MG_PATH_DIRECT && ps->bday.active &&
	    mg_bday_match(&ps->bday.r, &ack, from, &ep) == 0) {
		mg_log(ps->log, MG_LOG_INFO, "mesh: birthday round %u with %s won", ps->bday.round,
		       m->cert.name);
		go_direct(ps, p, m, &ep, now);
		bday_end(ps, p, now);
		return;
	}
	if (!p || mg_probe_pending_match(&p->pending, &ack, from, now, &ep, &rtt) < 0)
		return;
	if (p->state == MG_PATH_DIRECT && mg_endpoint_equal_remote(&p->direct, &ep)) {
		p->unanswered = 0;
		p->last_ack = now;
		return;
	}
	go_direct(ps, p, m, &ep, now);
}

static void on_register(struct mg_paths *ps, const struct mg_directory *d,
			const struct mg_endpoint *from, const uint8_t *buf, size_t len,
			uint64_t now)
{
	uint8_t out[MG_PROBE_ACK_MAX];
	const struct mg_dir_member *m;
	struct mg_probe pr;
	int n;

	if (!ps->relaying || mg_relay_register_parse(&pr, buf, len) < 0 ||
	    !(m = sender(d, pr.sender)) ||
	    mg_relay_register_verify(&pr, m->cert.key, ps->pk, mg_mesh_wall_ms()) < 0)
		return;
	if (mg_relay_register(&ps->relay, m->cert.key, from, pr.time_ms, now) < 0)
		return;
	n = mg_relay_registered_make(out, ps->sk, m->cert.key, pr.nonce, from);
	if (n > 0)
		send_to(ps, from, out, (size_t)n);
}

/* A new relay: every member without a direct path goes through it now,
 * and gets a PUNCH and a probe round now, not at its next retry. */
static void relay_confirmed(struct mg_paths *ps, const struct mg_directory *d, uint64_t now)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct mg_path *p = &ps->v[i];
		const struct mg_dir_member *m = sender(d, p->key);

		if (p->state == MG_PATH_DIRECT || !m || mg_paths_static(m) || !peer_of(ps, m))
			continue;
		p->next_probe = now;
		seek(ps, d, p, m, now);
	}
}

static void on_registered(struct mg_paths *ps, const struct mg_directory *d, const uint8_t *buf,
			  size_t len, uint64_t now)
{
	const struct mg_dir_member *m;
	struct mg_probe_ack ack;
	size_t i;

	if (mg_relay_registered_parse(&ack, buf, len) < 0 || !(m = sender(d, ack.responder)) ||
	    mg_relay_registered_verify(&ack, m->cert.key, ps->pk) < 0)
		return;
	for (i = 0; i < ps->n_relays; i++)
		if (!memcmp(ps->relays[i].key, m->cert.key, MG_ED25519_PUB_LEN))
			break;
	/* Where the relay sees us: what our PUNCHes list first (a hint, as
	 * probe.h says of every reflexive address). */
	ps->reflexive = ack.seen;
	if (i < ps->n_relays) {
		ps->relays[i].until = now + 3 * MG_PATH_REGISTER_MS;
		return;
	}
	if (i == MG_PATH_RELAYS_MAX)
		return;
	ps->n_relays++;
	memcpy(ps->relays[i].key, m->cert.key, MG_ED25519_PUB_LEN);
	ps->relays[i].until = now + 3 * MG_PATH_REGISTER_MS;
	mg_log(ps->log, MG_LOG_VERBOSE, "mesh: %s relays for us", m->cert.name);
	relay_confirmed(ps, d, now);
}

static bool is_our_relay(const struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN])
{
	for (size_t i = 0; i < ps->n_relays; i++)
		if (!memcmp(ps->relays[i].key, key, MG_ED25519_PUB_LEN))
			return true;
	return false;
}

/* A PUNCH from member m (directly, or through a relay that names m as
 * its source: relayed is m's path then): probe what it lists and the rest
 * of its candidates now, and ask it to do the same if we have not lately.
 * Anything that is not a fresh PUNCH signed by m for us does nothing. */
static void on_punch(struct mg_paths *ps, const struct mg_directory *d, const uint8_t *buf,
		     size_t len, const struct mg_path *relayed, uint64_t now)
{
	const struct mg_dir_member *m;
	struct mg_punch pu;
	struct mg_path *p;

	if (mg_punch_parse(&pu, buf, len) < 0 || !(m = sender(d, pu.sender)) ||
	    mg_paths_static(m) || !peer_of(ps, m) || !(p = mg_paths_get(ps, m->cert.key)) ||
	    (relayed && relayed != p) ||
	    (p->last_punch_rx && now - p->last_punch_rx < MG_PATH_PUNCH_MIN_MS) ||
	    mg_punch_check(&pu, m->cert.key, ps->pk, p->punch_time, mg_mesh_wall_ms()) < 0)
		return;
	p->punch_time = pu.time_ms;
	p->last_punch_rx = now;
	memcpy(p->hints, pu.cands, pu.n * sizeof(pu.cands[0]));
	p->n_hints = pu.n;
	if (p->state == MG_PATH_DIRECT)
		return;
	if (!p->since)
		p->since = now;
	relay_now(ps, d, p, m, now);
	probe_all(ps, p, m, now);
	if (!p->last_punch_tx || now - p->last_punch_tx >= MG_PATH_PUNCH_BACK_MS)
		send_punch(ps, p, now);
}

/* A datagram for us through a relay we registered with (and that confirmed:
 * no other member can steer our paths with datagrams of its own). */
static void on_relayed(struct mg_paths *ps, const struct mg_directory *d,
		       const struct mg_endpoint *from, uint8_t *payload, size_t len,
		       const uint8_t src_id[MG_MESH_KEY_ID_LEN], uint64_t now)
{
	struct mg_path *p = find_by_id(ps, src_id), *rp = NULL;
	const struct mg_dir_member *m, *rm = NULL;

	for (size_t i = 0; i < ps->n && !rp; i++)
		if (ps->v[i].state == MG_PATH_DIRECT &&
		    mg_endpoint_equal_remote(&ps->v[i].direct, from) &&
		    is_our_relay(ps, ps->v[i].key))
			rp = &ps->v[i];
	if (!p || !rp || !(m = sender(d, p->key)) || !(rm = sender(d, rp->key)))
		return;
	if (mg_ctl_is_control(payload, len)) {
		on_punch(ps, d, payload, len, p, now); /* relay.h: for us, not WireGuard */
		return;
	}
	/* Answer the way it came while we have no direct path. */
	if (p->state == MG_PATH_NONE)
		go_relay(ps, p, m, rp->key, from, rm->cert.name, now);
	mg_device_receive_relayed(&ps->engine->dev, from, payload, len);
}

static void on_relay_data(struct mg_paths *ps, const struct mg_endpoint *from, uint8_t *buf,
			  size_t len, uint64_t now)
{
	uint8_t id[MG_MESH_KEY_ID_LEN], src[MG_MESH_KEY_ID_LEN];
	struct mg_endpoint to;
	const uint8_t *payload;
	size_t plen;

	if (mg_relay_parse(buf, len, id, &payload, &plen) < 0)
		return;
	/* For a member registered with us: pass it on, naming its source. */
	if (ps->relaying && mg_relay_route(&ps->relay, from, id, len, now, &to, src) == 0) {
		mg_relay_wrap_header(buf, src);
		buf[2] = MG_CTL_RELAY_DELIVER;
		send_to(ps, &to, buf, len);
	}
	(void)payload;
	(void)plen;
}

/* RELAY_DELIVER: RELAY_DATA's layout, from a relay, naming the source. */
static void on_relay_deliver(struct mg_paths *ps, const struct mg_directory *d,
			     const struct mg_endpoint *from, uint8_t *buf, size_t len, uint64_t now)
{
	if (len <= MG_RELAY_HEADER_LEN || len > MG_RELAY_DATA_MAX || buf[1] != MG_CTL_VERSION ||
	    buf[3] != 0)
		return;
	/* The payload is ours to decrypt in place. */
	on_relayed(ps, d, from, buf + MG_RELAY_HEADER_LEN, len - MG_RELAY_HEADER_LEN,
		   buf + MG_CTL_HEADER_LEN, now);
}

void mg_paths_input(struct mg_paths *ps, const struct mg_directory *d,
		    const struct mg_endpoint *from, uint8_t *buf, size_t len, uint64_t now)
{
	switch (buf[2]) {
	case MG_CTL_PROBE:
		on_probe(ps, d, from, buf, len, now);
		break;
	case MG_CTL_PROBE_ACK:
		on_probe_ack(ps, d, from, buf, len, now);
		break;
	case MG_CTL_RELAY_REGISTER:
		on_register(ps, d, from, buf, len, now);
		break;
	case MG_CTL_RELAY_REGISTERED:
		on_registered(ps, d, buf, len, now);
		break;
	case MG_CTL_RELAY_DATA:
		on_relay_data(ps, from, buf, len, now);
		break;
	case MG_CTL_RELAY_DELIVER:
		on_relay_deliver(ps, d, from, buf, len, now);
		break;
	case MG_CTL_PUNCH:
		on_punch(ps, d, buf, len, NULL, now);
		break;
	}
}
