/* The mesh inside a running node (see agent.h). */
#include "mesh/agent.h"

#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mesh/admin.h"
#include "mesh/bootstrap.h"
#include "mesh/candidate.h"
#include "mesh/control.h"
#include "mesh/ctl.h"
#include "mesh/renew.h"
#include "nat/natprobe.h"
#include "peer/allowedips.h"
#include "util/json.h"
#include "util/macros.h"

static uint64_t wall_s(void)
{
	return mg_mesh_wall_ms() / 1000;
}

void mg_agent_ifname(char out[IFNAMSIZ], const char *mesh_name)
{
	size_t i = 0;

	memcpy(out, "mg-", 3);
	for (i = 3; i < IFNAMSIZ - 1 && mesh_name[i - 3]; i++) {
		char c = mesh_name[i - 3];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ? c : '-';
	}
	out[i] = '\0';
}

/* ---- loading ---- */

static void on_change(void *ctx, enum mg_dir_event ev, const struct mg_dir_member *m);

static int load_directory(struct mg_agent *a, char *err, size_t errlen)
{
	size_t len = 0;
	uint8_t *blob = malloc(MG_STATE_FILE_MAX);
	int ret;

	if (!blob)
		return -ENOMEM;
	ret = mg_state_read(&a->state, MG_STATE_DIRECTORY, blob, MG_STATE_FILE_MAX, &len, err,
			    errlen);
	if (ret == 0) {
		ret = mg_directory_load(&a->dir, blob, len, wall_s());
		if (ret < 0)
			snprintf(err, errlen, "%s/%s: %s", a->state.dir, MG_STATE_DIRECTORY,
				 mg_mesh_strerror(ret));
	} else if (ret == -ENOENT) {
		ret = 0;
	}
	free(blob);
	return ret < 0 ? ret : 0;
}

static int load_keys(struct mg_agent *a, char *err, size_t errlen)
{
	int ret = mg_state_ed25519_load(&a->state, MG_STATE_MEMBER, a->member_sk, err, errlen);

	if (ret == 0)
		ret = mg_state_key_load(&a->state, MG_STATE_WIREGUARD, a->wg_private, err, errlen);
	if (ret == 0)
		ret = mg_state_cert_load(&a->state, MG_STATE_MEMBER_C, &a->cert, err, errlen);
	if (ret < 0 || mg_state_exists(&a->state, MG_STATE_ISSUER) < 0)
		return ret;
	ret = mg_state_ed25519_load(&a->state, MG_STATE_ISSUER, a->issuer_sk, err, errlen);
	if (ret == 0)
		ret = mg_state_cert_load(&a->state, MG_STATE_ISSUER_C, &a->issuer_cert, err,
					 errlen);
	a->is_issuer = ret == 0;
	return ret;
}

/* Our issuer certificate goes into the directory before anything it
 * signed; gossip's init adds our own certificate. */
static int add_own_issuer(struct mg_agent *a, char *err, size_t errlen)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	int len, ret;

	if (!a->is_issuer)
		return 0;
	len = mg_dir_cert_item(item, sizeof(item), &a->issuer_cert);
	ret = len < 0 ? len : mg_directory_add(&a->dir, item, (size_t)len, wall_s(), NULL);
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: %s", a->state.dir, MG_STATE_ISSUER_C,
			 mg_mesh_strerror(ret));
	return ret < 0 ? ret : 0;
}

/* The directory's lock, waiting up to MG_AGENT_LOCK_WAIT_MS for it: a
 * daemon killed just now may still hold it for a moment (its sandboxed
 * side dies after the pid that was killed, by PR_SET_PDEATHSIG). */
static int open_locked(struct mg_agent *a, const char *dir, char *err, size_t errlen)
{
	const struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	int ret;

	for (unsigned waited = 0;; waited += 50) {
		ret = mg_state_open(&a->state, dir, MG_STATE_LOCK, err, errlen);
		if (ret != -EWOULDBLOCK || waited >= MG_AGENT_LOCK_WAIT_MS)
			return ret;
		nanosleep(&pause, NULL);
	}
}

int mg_agent_load(struct mg_agent *a, const char *dir, const struct mg_log *log, char *err,
		  size_t errlen)
{
	int ret;

	memset(a, 0, sizeof(*a));
	a->log = log;
	ret = open_locked(a, dir, err, errlen);
	if (ret < 0)
		return ret;
	ret = mg_state_config_load(&a->state, &a->config, err, errlen);
	if (ret == -ENOENT)
		snprintf(err, errlen, "%s holds no mesh (run meshguard init or join)", dir);
	if (ret == 0)
		ret = load_keys(a, err, errlen);
	if (ret == 0)
		ret = mg_directory_init(&a->dir, a->config.mesh_id, a->config.authority, on_change,
					a);
	if (ret == 0) {
		a->loaded = true;
		ret = add_own_issuer(a, err, errlen);
	}
	if (ret == 0)
		ret = load_directory(a, err, errlen);
	if (ret == 0)
		ret = mg_fw_init(&a->fw);
	if (ret == 0)
		ret = mg_fw_load(&a->state, &a->fw.rules, err, errlen);
	if (ret < 0)
		mg_agent_close(a);
	return ret;
}

void mg_agent_interface(const struct mg_agent *a, char addrs[2][64], size_t *n_addrs,
			char routes[2][64], size_t *n_routes)
{
	*n_addrs = 0;
	for (unsigned i = 0; i < a->cert.n_addresses && *n_addrs < 2; i++)
		mg_prefix_format(addrs[(*n_addrs)++], 64, &a->cert.addresses[i]);
	mg_prefix_format(routes[0], 64, &a->config.prefix4);
	mg_prefix_format(routes[1], 64, &a->config.prefix6);
	*n_routes = 2;
}

/* ---- where members are ---- */

/* Where to send control messages for member m (path.h). */
static bool member_endpoint(struct mg_agent *a, const struct mg_dir_member *m,
			    struct mg_endpoint *ep)
{
	return mg_paths_endpoint(&a->paths, m, ep);
}

static bool is_self(const struct mg_agent *a, const struct mg_dir_member *m)
{
	return !memcmp(m->cert.key, a->cert.key, MG_ED25519_PUB_LEN);
}

/* ---- peers ---- */

static struct mg_peer *member_peer(struct mg_agent *a, const struct mg_dir_member *m)
{
	return mg_peer_table_lookup(&a->engine->dev.peers, m->cert.wg_key);
}

static void set_peer_endpoint(struct mg_agent *a, const struct mg_dir_member *m)
{
	struct mg_peer *p = member_peer(a, m);
	struct mg_endpoint ep;

	if (!p || !member_endpoint(a, m, &ep) || mg_endpoint_equal_remote(&p->endpoint, &ep))
		return;
	mg_device_peer_set_endpoint(p, &ep);
	/* Keepalives start once there is somewhere to send them: turning them
	 * on sends one at once, whose handshake makes the path. Earlier, the
	 * attempt would go nowhere and hold the next one back REKEY_TIMEOUT. */
	if (!p->persistent_keepalive_interval)
		mg_device_peer_set_persistent_keepalive(p, MG_AGENT_KEEPALIVE);
}

/* A static member (export-wg: a stock WireGuard client) has one peer, its
 * exporter, the member that holds the issuer key that signed it; the others
 * reach it through the exporter, which forwards. NULL for any other member,
 * and for our own static members (we are their peer). */
static const struct mg_dir_member *exporter_of(struct mg_agent *a, const struct mg_dir_member *m)
{
	const struct mg_dir_member *issuer, *holder;
	if (!mg_paths_static(m) || !(issuer = mg_directory_issuer(&a->dir, m->cert.signer_id)))
		return NULL;
	holder = mg_directory_find_wg(&a->dir, issuer->cert.wg_key);
	return holder && holder != m && !is_self(a, holder) ? holder : NULL;
}

/* The addresses of the static members exp exported, on exp's peer. */
static void add_exported(struct mg_agent *a, const struct mg_dir_member *exp, struct mg_peer *p)
{
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_dir_member *m = mg_directory_member(&a->dir, i);

		if (exporter_of(a, m) != exp)
			continue;
		for (unsigned k = 0; k < m->cert.n_addresses; k++)
			(void)mg_device_peer_add_allowed_ip(p, &m->cert.addresses[k]);
	}
}

static void sync_peer(struct mg_agent *a, const struct mg_dir_member *m)
{
	struct mg_device *dev = &a->engine->dev;
	const struct mg_dir_member *exp;
	struct mg_peer *p;
	char name[16];

	if (is_self(a, m))
		return;
	p = member_peer(a, m);
	if ((exp = exporter_of(a, m))) {
		if (p)
			mg_device_remove_peer(dev, p);
		if ((p = member_peer(a, exp)))
			add_exported(a, exp, p);
		return;
	}
	if (p && !p->managed)
		mg_device_remove_peer(dev, p); /* a hand-made peer with a member's key */
	else if (p)
		mg_allowedips_remove_by_peer(&dev->allowedips, p);
	mg_subnets_peer_reset(&a->subnets, m->cert.key);
	if ((!p || !p->managed) && mg_device_add_peer(dev, m->cert.wg_key, &p) < 0)
		return;
	p->managed = true;
	for (unsigned i = 0; i < m->cert.n_addresses; i++)
		if (mg_device_peer_add_allowed_ip(p, &m->cert.addresses[i]) < 0)
			mg_log(a->log, MG_LOG_ERROR, "mesh: no memory for %s's addresses",
			       m->cert.name);
	add_exported(a, m, p);
	set_peer_endpoint(a, m);
	mg_log(a->log, MG_LOG_VERBOSE, "mesh: member %s is peer %s", m->cert.name,
	       mg_peer_name(p, name));
}

static void drop_peer(struct mg_agent *a, const struct mg_dir_member *m)
{
	struct mg_peer *p = member_peer(a, m);

	mg_paths_forget(&a->paths, m->cert.key);
	mg_subnets_peer_reset(&a->subnets, m->cert.key);
	if (!p || is_self(a, m))
		return;
	mg_device_remove_peer(&a->engine->dev, p);
	mg_log(a->log, MG_LOG_INFO, "mesh: member %s removed", m->cert.name);
}

/* An issuer renewed our certificate: it is the one to present from now on. */
static void keep_own_cert(struct mg_agent *a, const struct mg_cert *c)
{
	char err[512] = "";

	a->cert = *c;
	if (mg_state_cert_save(&a->state, MG_STATE_MEMBER_C, c, err, sizeof(err)) < 0)
		mg_log(a->log, MG_LOG_ERROR, "mesh: cannot save the renewed certificate: %s", err);
	else
		mg_log(a->log, MG_LOG_INFO, "mesh: our certificate was renewed until %" PRIu64,
		       c->not_after);
}

static void on_change(void *ctx, enum mg_dir_event ev, const struct mg_dir_member *m)
{
	struct mg_agent *a = ctx;

	if (!a->dirty_since)
		a->dirty_since = mg_mesh_wall_ms();
	if (!a->started)
		return;
	switch (ev) {
	case MG_DIR_MEMBER_ADDED:
		if (!is_self(a, m))
			mg_log(a->log, MG_LOG_INFO, "mesh: member %s joined", m->cert.name);
		sync_peer(a, m);
		a->paths_kick = true;
		break;
	case MG_DIR_MEMBER_RENEWED:
		if (is_self(a, m))
			keep_own_cert(a, &m->cert);
		sync_peer(a, m);
		break;
	case MG_DIR_MEMBER_REMOVED:
		drop_peer(a, m);
		if (is_self(a, m) && !a->left)
			mg_log(a->log, MG_LOG_ERROR,
			       "mesh: this node's membership was revoked or has expired");
		break;
	case MG_DIR_ENDPOINTS_CHANGED:
		mg_paths_candidates_changed(&a->paths, m->cert.key);
		set_peer_endpoint(a, m);
		a->paths_kick = true;
		break;
	}
}

/* ---- control messages on the WireGuard port ---- */

static void gossip_send(void *ctx, const uint8_t to[MG_ED25519_PUB_LEN], const uint8_t *buf,
			size_t len)
{
	struct mg_agent *a = ctx;
	const struct mg_dir_member *m = mg_directory_find(&a->dir, to);
	struct mg_endpoint ep;

	/* A reply to the datagram being handled goes back where it came from:
	 * its sender may be new, or have moved. */
	if (a->replying_to && !memcmp(to, a->replying_key, MG_ED25519_PUB_LEN))
		ep = *a->replying_to;
	else if (!m || !member_endpoint(a, m, &ep))
		return;
	mg_engine_send_transient(a->engine, &ep, buf, len);
}

/* A member gossips only to members it knows: once one has spoken to us, a
 * handshake with it will be accepted. The first one is sent now, not when
 * the hold after an attempt made before it knew us runs out. */
static void greet(struct mg_agent *a, const struct mg_dir_member *m)
{
	struct mg_path *s = mg_paths_get(&a->paths, m->cert.key);
	struct mg_peer *p = member_peer(a, m);

	if (!s || s->greeted || !p || p->last_handshake.tv_sec || !p->endpoint.sa.sa_family)
		return;
	s->greeted = true;
	p->last_sent_handshake = 0;
	mg_device_send_initiation(p, false);
}

static size_t stun_ask(struct mg_agent *a);

/* The claimed sender of a gossip datagram (gossip.h: right after the ctl
 * header), to answer it where it came from. */
static void on_gossip(struct mg_agent *a, const struct mg_endpoint *from, const uint8_t *buf,
		      size_t len)
{
	uint8_t sender[MG_ED25519_PUB_LEN];
	const struct mg_dir_member *m;

	if (len < MG_GOSSIP_HEADER_LEN)
		return;
	memcpy(a->replying_key, buf + MG_CTL_HEADER_LEN, MG_ED25519_PUB_LEN);
	a->replying_to = from;
	if (mg_gossip_input(&a->gossip, buf, len, mg_mesh_wall_ms(), sender) < 0)
		goto out;
	m = mg_directory_find(&a->dir, sender);
	if (!m)
		goto out;
	if (mg_paths_seen(&a->paths, m, from)) {
		set_peer_endpoint(a, m);
		/* Someone to ask where we come from (and whether we relay). */
		if (!a->public_known && a->stun && stun_ask(a))
			a->last_stun = mg_mesh_wall_ms();
	}
	greet(a, m);
out:
	a->replying_to = NULL;
}

static void on_join(struct mg_agent *a, const struct mg_endpoint *from, const uint8_t *buf,
		    size_t len)
{
	uint8_t out[MG_CTL_MAX_LEN];
	size_t outlen = 0;
	socklen_t fromlen = mg_endpoint_len(from);

	if (!a->is_issuer || fromlen > MG_JOIN_FROM_MAX)
		return;
	if (mg_join_server_input(&a->join, (const uint8_t *)&from->sa, fromlen, buf, len, wall_s(),
				 out, &outlen) == 0 &&
	    outlen)
		mg_engine_send_transient(a->engine, from, out, outlen);
}

static void on_datagram(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	struct mg_agent *a = ctx;
	int type;

	if (!mg_ctl_is_control(buf, len) || a->stopping || !a->started)
		return;
	/* Relayed data is WireGuard's traffic, longer than control messages
	 * and not limited like them (relay.h has its own rate). */
	if (len > 2 && (buf[2] == MG_CTL_RELAY_DATA || buf[2] == MG_CTL_RELAY_DELIVER)) {
		mg_paths_input(&a->paths, &a->dir, from, buf, len, uv_now(a->loop));
		return;
	}
	type = mg_ctl_parse_header(buf, len);
	if (type < 0 || !mg_ratelimiter_allow(&a->limiter, from, uv_hrtime()))
		return;
	if (type >= MG_CTL_GOSSIP_FIRST && type <= MG_CTL_GOSSIP_LAST)
		on_gossip(a, from, buf, len);
	else if (type >= MG_CTL_JOIN_HELLO && type <= MG_CTL_JOIN_RESULT)
		on_join(a, from, buf, len);
	else if ((type >= MG_CTL_PROBE && type <= MG_CTL_RELAY_REGISTERED) || type == MG_CTL_PUNCH)
		mg_paths_input(&a->paths, &a->dir, from, buf, len, uv_now(a->loop));
	/* Gossip brought a member or its candidates: probe them now, not at
	 * the next tick. */
	if (a->paths_kick) {
		a->paths_kick = false;
		mg_paths_kick(&a->paths, &a->dir, uv_now(a->loop));
	}
}

/* ---- announcing our endpoints ---- */

static size_t add_candidate(struct mg_dir_endpoint *out, size_t n, const struct mg_endpoint *ep)
{
	struct mg_dir_endpoint d = { 0 };

	if (n == MG_DIR_ENDPOINTS_MAX ||
	    (ep->sa.sa_family != AF_INET && ep->sa.sa_family != AF_INET6))
		return n;
	d.family = (uint8_t)ep->sa.sa_family;
	if (d.family == AF_INET) {
		memcpy(d.addr, &ep->in4.sin_addr, 4);
		d.port = ntohs(ep->in4.sin_port);
	} else {
		memcpy(d.addr, &ep->in6.sin6_addr, 16);
		d.port = ntohs(ep->in6.sin6_port);
	}
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&out[i], &d, sizeof(d)))
			return n;
	out[n] = d;
	return n + 1;
}

/* The prefixes routed into our mesh interface (candidate.h): the mesh's
 * own, and the other members' subnet routes we carry. */
static size_t routed_prefixes(const struct mg_agent *a, struct mg_prefix *out)
{
	size_t n = 0;

	out[n++] = a->config.prefix4;
	out[n++] = a->config.prefix6;
	for (size_t i = 0; a->subnets_open && i < a->subnets.n; i++)
		if (a->subnets.v[i].routed || a->subnets.v[i].has_gateway)
			out[n++] = a->subnets.v[i].prefix;
	return n;
}

/* The path manager's check before it sends anywhere (path.h). */
static bool endpoint_usable(void *ctx, const struct mg_endpoint *ep)
{
	struct mg_prefix routed[2 + MG_SUBNETS_MAX];
	size_t n = routed_prefixes(ctx, routed);

	return mg_cand_check(ep, routed, n) == MG_CAND_OK;
}

static size_t add_checked(struct mg_dir_endpoint *out, size_t n, const struct mg_endpoint *ep,
			  const struct mg_prefix *routed, size_t n_routed)
{
	if (mg_cand_check(ep, routed, n_routed) != MG_CAND_OK)
		return n;
	return add_candidate(out, n, ep);
}

/* Best first (candidate.h): numeric --endpoint values, the port mapping,
 * the public endpoint, then the interface addresses with our port. */
static size_t candidates(struct mg_agent *a, struct mg_dir_endpoint *out)
{
	struct mg_prefix routed[2 + MG_SUBNETS_MAX];
	struct mg_endpoint local[MG_DIR_ENDPOINTS_MAX], ep;
	size_t n = 0, n_local = 0, n_routed = routed_prefixes(a, routed);

	for (unsigned i = 0; i < a->config.n_endpoints; i++)
		if (mg_endpoint_parse(&ep, a->config.endpoints[i]) == 0)
			n = add_checked(out, n, &ep, routed, n_routed);
	if (a->mapped_endpoint.sa.sa_family)
		n = add_checked(out, n, &a->mapped_endpoint, routed, n_routed);
	if (a->public_endpoint.sa.sa_family)
		n = add_checked(out, n, &a->public_endpoint, routed, n_routed);
	(void)mg_cand_local_endpoints(a->engine->udp.port, routed, n_routed, local,
				      MG_DIR_ENDPOINTS_MAX, &n_local);
	for (size_t i = 0; i < n_local; i++)
		n = add_candidate(out, n, &local[i]);
	return n;
}

/* Says which of our interface addresses the announcement leaves out for
 * being a tunnel's or inside a mesh prefix: the reasons a user may not
 * expect. */
static void log_left_out(struct mg_agent *a)
{
	struct mg_prefix routed[2 + MG_SUBNETS_MAX];
	struct mg_cand_addr local[MG_CAND_LOCAL_MAX];
	size_t n_routed = routed_prefixes(a, routed), n;
	char text[MG_ENDPOINT_STRLEN];

	if (!mg_log_enabled(a->log, MG_LOG_VERBOSE) ||
	    mg_cand_local(local, MG_CAND_LOCAL_MAX, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		enum mg_cand_verdict v = mg_cand_check_local(&local[i], routed, n_routed);

		if (v != MG_CAND_TUNNEL && v != MG_CAND_MESH)
			continue;
		mg_endpoint_format(text, sizeof(text), &local[i].ep);
		mg_log(a->log, MG_LOG_VERBOSE, "mesh: not announcing %s of %s: %s", text,
		       local[i].ifname, mg_cand_verdict_name(v));
	}
}

static void announce(struct mg_agent *a, bool force)
{
	struct mg_dir_announce an = { 0 };
	uint8_t item[MG_DIR_ANNOUNCE_MAX];
	size_t n = candidates(a, an.endpoints);
	int len, ret;

	mg_paths_set_own(&a->paths, an.endpoints, n);
	if (a->left)
		return; /* no membership to announce: the departure spreads alone */
	if (!force && n == a->announced_len &&
	    !memcmp(an.endpoints, a->announced, n * sizeof(an.endpoints[0])))
		return;
	memcpy(an.mesh_id, a->config.mesh_id, MG_MESH_ID_LEN);
	memcpy(an.key, a->cert.key, MG_ED25519_PUB_LEN);
	an.seq = mg_mesh_wall_ms();
	an.time = wall_s();
	an.n_endpoints = (uint8_t)n;
	an.n_routes = (uint8_t)a->n_advertised;
	memcpy(an.routes, a->advertised, a->n_advertised * sizeof(an.routes[0]));
	len = mg_dir_announce_sign(item, sizeof(item), &an, a->member_sk);
	ret = len < 0 ? len : mg_gossip_publish(&a->gossip, item, (size_t)len, mg_mesh_wall_ms());
	if (ret < 0) {
		mg_log(a->log, MG_LOG_ERROR, "mesh: cannot announce our endpoints: %s",
		       mg_mesh_strerror(ret));
		return;
	}
	memcpy(a->announced, an.endpoints, n * sizeof(an.endpoints[0]));
	a->announced_len = n;
	mg_log(a->log, MG_LOG_VERBOSE, "mesh: announced %zu endpoint(s)", n);
	log_left_out(a);
}

/* ---- our public endpoint, as members see it ---- */

/* ep's address is one of this host's (any interface's). */
static bool is_local_address(const struct mg_endpoint *ep)
{
	struct mg_cand_addr local[MG_CAND_LOCAL_MAX];
	size_t n = 0;

	if (mg_cand_local(local, MG_CAND_LOCAL_MAX, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (mg_nat_same_address(&local[i].ep, ep))
			return true;
	return false;
}

/* Both questions answered (or failed): what the answers say. */
static void stun_conclude(struct mg_agent *a)
{
	struct mg_agent_stun *q0 = &a->stun_q[0], *q1 = &a->stun_q[1];
	const struct mg_agent_stun *ok = q0->status == 0 ? q0 : q1->status == 0 ? q1 : NULL;

	if (q0->busy || q1->busy || !ok)
		return;
	a->public_known = true;
	a->public_nat = !is_local_address(&ok->mapped);
	/* One answer says nothing about the mapping; two alike say EIM. */
	a->public_eim = q0->status == 0 && q1->status == 0 &&
			mg_endpoint_equal_remote(&q0->mapped, &q1->mapped);
	if (a->relay_mode == MG_AGENT_RELAY_AUTO &&
	    mg_paths_set_relay(&a->paths, !a->public_nat) == 0)
		mg_log(a->log, MG_LOG_VERBOSE, "mesh: %s for other members",
		       a->public_nat ? "not relaying" : "relaying");
	if (!mg_endpoint_equal_remote(&a->public_endpoint, &ok->mapped)) {
		char text[MG_ENDPOINT_STRLEN];

		mg_endpoint_format(text, sizeof(text), &ok->mapped);
		mg_log(a->log, MG_LOG_INFO, "mesh: members see us at %s%s", text,
		       !a->public_nat  ? " (one of our addresses: no NAT)"
		       : a->public_eim ? " (NAT, endpoint-independent mapping)"
				       : "");
		mg_agent_public_endpoint(a, &ok->mapped);
	}
}

static void stun_done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct mg_agent_stun *q = container_of(t, struct mg_agent_stun, t);

	q->busy = false;
	q->status = r->status;
	if (r->status == 0)
		q->mapped = r->mapped;
	stun_conclude(q->agent);
}

/* Asks two members with different addresses where we come from; how many
 * it could ask. */
static size_t stun_ask(struct mg_agent *a)
{
	struct mg_endpoint eps[2];
	size_t n = 0;

	for (size_t i = 0; i < a->paths.n && n < 2; i++) {
		const struct mg_endpoint *ep = &a->paths.v[i].seen;

		if (!a->paths.v[i].has_seen)
			continue;

		if (n == 1 && mg_endpoint_equal_remote(&eps[0], ep))
			continue;
		eps[n++] = *ep;
	}
	for (size_t i = 0; i < n; i++) {
		struct mg_agent_stun *q = &a->stun_q[i];

		if (q->busy)
			continue;
		q->agent = a;
		q->server = eps[i];
		q->status = -ETIMEDOUT;
		q->busy = mg_stun_client_start(a->stun, &q->t, &eps[i], stun_done) == 0;
	}
	return n;
}

int mg_agent_advertise(struct mg_agent *a, const char *const *routes, size_t n, char *err,
		       size_t errlen)
{
	a->n_advertised = 0;
	for (size_t i = 0; i < n; i++) {
		struct mg_prefix p;
		bool allowed = false;

		if (i == MG_CERT_ROUTES_MAX || mg_prefix_parse(&p, routes[i], false) < 0) {
			snprintf(err, errlen, "--advertise %s: not a prefix without host bits",
				 routes[i]);
			return -EINVAL;
		}
		for (size_t k = 0; k < a->cert.n_routes && !allowed; k++)
			allowed = !memcmp(&p, &a->cert.routes[k], sizeof(p));
		if (!allowed) {
			snprintf(err, errlen,
				 "--advertise %s: not among the routes this member's certificate "
				 "allows (invite --routes)",
				 routes[i]);
			return -EPERM;
		}
		a->advertised[a->n_advertised++] = p;
	}
	return 0;
}

void mg_agent_network_changed(struct mg_agent *a)
{
	if (!a->net_changed)
		a->net_changed = mg_mesh_wall_ms();
}

/* A change of the host's network, once a second at most: every member's
 * direct path is looked for again at once, and we ask where we come from
 * and announce what we have now. */
static void handle_network_change(struct mg_agent *a, uint64_t now)
{
	if (!a->net_changed || now - a->net_handled < 1000)
		return;
	a->net_changed = 0;
	a->net_handled = now;
	mg_log(a->log, MG_LOG_INFO, "mesh: the network changed: looking for paths again");
	mg_paths_network_changed(&a->paths);
	a->last_stun = 0;
	a->public_known = false;
	announce(a, false);
}

void mg_agent_set_stun(struct mg_agent *a, struct mg_stun_client *stun)
{
	a->stun = stun;
}

void mg_agent_public_endpoint(struct mg_agent *a, const struct mg_endpoint *ep)
{
	a->public_endpoint = *ep;
	if (a->started)
		announce(a, false);
}

/* The gateway's port mapping (a->mapped), looked at every tick: a new or
 * moved one is announced at once, a lost one withdrawn. */
static void check_mapping(struct mg_agent *a)
{
	struct mg_endpoint ep;
	char text[MG_ENDPOINT_STRLEN];

	memset(&ep, 0, sizeof(ep));
	if (!a->mapped || !a->mapped(a->stop_ctx, &ep))
		memset(&ep, 0, sizeof(ep));
	if (ep.sa.sa_family == a->mapped_endpoint.sa.sa_family &&
	    (!ep.sa.sa_family || mg_endpoint_equal_remote(&ep, &a->mapped_endpoint)))
		return;
	if (ep.sa.sa_family) {
		mg_endpoint_format(text, sizeof(text), &ep);
		mg_log(a->log, MG_LOG_INFO, "mesh: our gateway maps %s to us: announcing it", text);
	} else {
		mg_log(a->log, MG_LOG_INFO, "mesh: the port mapping is gone");
	}
	a->mapped_endpoint = ep;
	announce(a, false);
}

/* ---- saving ---- */

/* 0 once the directory is on disk (state.h's atomic write), else the error,
 * logged. */
static int save_directory(struct mg_agent *a)
{
	char err[512] = "";
	size_t len = mg_directory_encoded_len(&a->dir);
	uint8_t *blob = malloc(len ? len : 1);
	int ret = blob ? mg_directory_encode(&a->dir, blob, len) : -ENOMEM;

	if (ret >= 0)
		ret = mg_state_write(&a->state, MG_STATE_DIRECTORY, blob, len, err, sizeof(err));
	free(blob);
	if (ret < 0) {
		mg_log(a->log, MG_LOG_ERROR, "mesh: cannot save the directory: %s",
		       err[0] ? err : strerror(-ret));
		return ret;
	}
	a->dirty_since = 0;
	return 0;
}

static void publish_renewal(void *ctx, const uint8_t *item, size_t len)
{
	struct mg_agent *a = ctx;
	int ret = mg_gossip_publish(&a->gossip, item, len, mg_mesh_wall_ms());

	if (ret < 0)
		mg_log(a->log, MG_LOG_ERROR, "mesh: a renewal was refused: %s",
		       mg_mesh_strerror(ret));
}

static void on_tick(uv_timer_t *t)
{
	struct mg_agent *a = container_of(t, struct mg_agent, tick);
	uint64_t now = mg_mesh_wall_ms();

	mg_gossip_tick(&a->gossip, now);
	handle_network_change(a, now);
	mg_paths_tick(&a->paths, &a->dir, uv_now(a->loop));
	mg_subnets_sync(&a->subnets, &a->dir, &a->paths, &a->engine->dev, a->cert.key);
	if (a->left) {
		if (now >= a->leave_at && a->stop && !a->stopping) {
			a->stopping = true;
			a->stop(a->stop_ctx);
		}
		return; /* nothing of ours is saved any more */
	}
	if (now / 1000 != a->last_expire) {
		a->last_expire = now / 1000;
		mg_directory_expire(&a->dir, now / 1000);
	}
	check_mapping(a);
	if (now - a->last_announce_check >= 10000) {
		a->last_announce_check = now;
		announce(a, false);
	}
	/* Soon after start (members seen), then every MG_AGENT_STUN_MS. */
	if (a->stun && a->paths.n &&
	    (!a->last_stun || now - a->last_stun >= (a->public_known ? MG_AGENT_STUN_MS : 2000)) &&
	    stun_ask(a))
		a->last_stun = now;
	if (a->is_issuer && now - a->last_renew_check >= MG_AGENT_RENEW_MS) {
		a->last_renew_check = now;
		if (mg_renew_due(&a->dir, &a->issuer_cert, a->issuer_sk, now / 1000,
				 publish_renewal, a))
			mg_log(a->log, MG_LOG_INFO,
			       "mesh: renewed certificates that were expiring");
	}
	if (a->dirty_since && now - a->last_save >= MG_AGENT_SAVE_MS) {
		a->last_save = now;
		save_directory(a);
	}
}

/* ---- the join server's policy ---- */

static int join_lookup(void *ctx, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
		       struct mg_join_invite *out)
{
	struct mg_agent *a = ctx;
	struct mg_invite_record r;
	char err[512];
	int ret = mg_state_invite_load(&a->state, id, &r, err, sizeof(err));

	if (ret < 0)
		return ret == -ENOENT ? -ENOENT : ret;
	memset(out, 0, sizeof(*out));
	memcpy(out->secret, r.secret, sizeof(out->secret));
	out->expiry = r.expiry;
	out->uses_left = (uint16_t)(r.uses - r.used);
	memcpy(out->name, r.name, sizeof(out->name));
	out->n_groups = r.n_groups;
	memcpy(out->groups, r.groups, sizeof(out->groups));
	out->n_routes = r.n_routes;
	memcpy(out->routes, r.routes, sizeof(out->routes));
	mg_invite_record_wipe(&r);
	if (wall_s() > out->expiry)
		return -EKEYEXPIRED;
	return out->uses_left ? 0 : -EUSERS;
}

static bool address_taken(void *ctx, const struct mg_prefix *addr)
{
	const struct mg_agent *a = ctx;

	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_cert *c = &mg_directory_member(&a->dir, i)->cert;

		for (unsigned k = 0; k < c->n_addresses; k++)
			if (c->addresses[k].family == addr->family &&
			    !memcmp(c->addresses[k].addr, addr->addr, 16))
				return true;
	}
	return false;
}

/* Signs a member certificate with our issuer key and publishes it. */
static int issue_cert(struct mg_agent *a, struct mg_cert *c, const uint8_t wg_key[MG_KEY_LEN],
		      const uint8_t key[MG_ED25519_PUB_LEN], const char *name,
		      const struct mg_join_invite *inv)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	uint64_t now = wall_s();
	int len, ret;

	memset(c, 0, sizeof(*c));
	c->role = MG_CERT_ROLE_MEMBER;
	mg_random_bytes(&c->serial, sizeof(c->serial));
	memcpy(c->mesh_id, a->config.mesh_id, MG_MESH_ID_LEN);
	c->not_before = now;
	c->not_after = now + MG_CERT_LIFETIME;
	memcpy(c->wg_key, wg_key, MG_KEY_LEN);
	memcpy(c->key, key, MG_ED25519_PUB_LEN);
	snprintf(c->name, sizeof(c->name), "%s", name);
	ret = mg_mesh_pick_addresses(&a->config.prefix4, &a->config.prefix6, wg_key, address_taken,
				     a, &c->addresses[0], &c->addresses[1]);
	if (ret < 0)
		return ret;
	c->n_addresses = 2;
	if (inv) {
		c->n_groups = inv->n_groups;
		memcpy(c->groups, inv->groups, sizeof(c->groups));
		c->n_routes = inv->n_routes;
		memcpy(c->routes, inv->routes, sizeof(c->routes));
	}
	ret = mg_cert_sign(c, a->issuer_sk);
	len = ret < 0 ? ret : mg_dir_cert_item(item, sizeof(item), c);
	return len < 0 ? len : mg_gossip_publish(&a->gossip, item, (size_t)len, mg_mesh_wall_ms());
}

static bool name_taken(const struct mg_agent *a, const char *name)
{
	return mg_directory_name_taken(&a->dir, name);
}

/* Adds the directory item of the member with key, if it fits. */
static void add_member_items(struct mg_bootstrap_writer *w, const struct mg_dir_member *m)
{
	if (!m)
		return;
	if (mg_bootstrap_add(w, m->cert_item->bytes, m->cert_item->len) == 0 && m->announce)
		(void)mg_bootstrap_add(w, m->announce->bytes, m->announce->len);
}

static size_t bootstrap_payload(struct mg_agent *a, const struct mg_cert *c, uint8_t *out,
				size_t cap)
{
	struct mg_bootstrap_writer w;
	const struct mg_dir_member *joiner = mg_directory_find(&a->dir, c->key);
	uint8_t issuer[MG_DIR_ITEM_MAX];
	int len = mg_dir_cert_item(issuer, sizeof(issuer), &a->issuer_cert);

	mg_bootstrap_start(&w, out, cap, a->config.mesh_name, &a->config.prefix4,
			   &a->config.prefix6);
	if (!joiner || len < 0 ||
	    mg_bootstrap_add(&w, joiner->cert_item->bytes, joiner->cert_item->len) < 0)
		return 0;
	(void)mg_bootstrap_add(&w, issuer, (size_t)len);
	add_member_items(&w, mg_directory_find(&a->dir, a->cert.key));
	/* Other members, while they fit: the rest comes by gossip. */
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_dir_member *m = mg_directory_member(&a->dir, i);

		if (!is_self(a, m) && m != joiner)
			add_member_items(&w, m);
	}
	return cap - w.b.left;
}

static int join_admit(void *ctx, const struct mg_join_request *req, uint8_t *payload, size_t cap,
		      size_t *len)
{
	struct mg_agent *a = ctx;
	const char *name = req->invite->name[0] ? req->invite->name : req->name;
	struct mg_cert c;
	char err[512] = "";
	int ret;

	if (!name[0] || !mg_mesh_name_valid(name, MG_MESH_NAME_MAX))
		return MG_JOIN_REFUSED;
	if (name_taken(a, name) || mg_directory_key_revoked(&a->dir, req->member_key))
		return MG_JOIN_NAME_TAKEN;
	ret = mg_state_invite_consume(&a->state, req->invite_id, wall_s(), NULL, err, sizeof(err));
	if (ret == -EUSERS)
		return MG_JOIN_USED_UP;
	if (ret == -EKEYEXPIRED)
		return MG_JOIN_EXPIRED;
	if (ret == 0)
		ret = issue_cert(a, &c, req->wg_key, req->member_key, name, req->invite);
	if (ret < 0) {
		mg_log(a->log, MG_LOG_ERROR, "mesh: cannot admit %s: %s", name,
		       err[0] ? err : mg_mesh_strerror(ret));
		return MG_JOIN_INTERNAL;
	}
	/* The certificate is on disk before the RESULT carries it: a member
	 * that holds one is never lost by a crash of ours. */
	if (save_directory(a) < 0)
		return MG_JOIN_INTERNAL;
	*len = bootstrap_payload(a, &c, payload, cap);
	mg_log(a->log, MG_LOG_INFO, "mesh: admitted %s", name);
	return *len ? MG_JOIN_OK : MG_JOIN_INTERNAL;
}

/* ---- the firewall ---- */

static uint64_t loop_s(const struct mg_agent *a)
{
	return uv_now(a->loop) / 1000;
}

/* The device's hot path: a hash lookup of the sender, no allocation. */
static bool fw_inbound(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct mg_agent *a = ctx;
	const struct mg_dir_member *m = mg_directory_find_wg(&a->dir, peer->public_key);

	return mg_fw_inbound(&a->fw, m ? m->cert.groups : NULL, m ? m->cert.n_groups : 0, pkt, len,
			     loop_s(a));
}

static void fw_outbound(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct mg_agent *a = ctx;

	(void)peer;
	mg_fw_outbound(&a->fw, pkt, len, loop_s(a));
}

/* The filter is on the device exactly while rules exist; when it goes on,
 * the flow table starts empty (agent.h). */
static void fw_apply(struct mg_agent *a)
{
	struct mg_device *dev = &a->engine->dev;

	if (a->fw.rules.n && !dev->filter)
		mg_fw_forget_flows(&a->fw);
	a->fw_filter = (struct mg_device_filter){ fw_inbound, fw_outbound, a };
	mg_device_set_filter(dev, a->fw.rules.n ? &a->fw_filter : NULL);
}

/* ---- the control socket ---- */

static void reply(struct mg_uapi_buf *out, int result, const char *msg, const char *payload)
{
	(void)mg_uapi_buf_printf(out, "result=%d\nmessage=%s\n\n%s", result, msg,
				 payload ? payload : "");
}

static void control_invite(struct mg_agent *a, const struct mg_control_request *r,
			   struct mg_uapi_buf *out)
{
	struct mg_mesh_invite_params p = { .now = wall_s(), .issuer_only = true };
	char name[MG_MESH_NAME_MAX + 2], v[32], groups[MG_MESH_GROUPS_MAX][MG_MESH_GROUP_MAX + 2];
	const char *gp[MG_MESH_GROUPS_MAX], *rp[MG_CERT_ROUTES_MAX];
	char routes[MG_CERT_ROUTES_MAX][MG_PREFIX_STRLEN];
	size_t cursor = 0;
	char token[MG_TOKEN_TEXT_MAX + 2], err[512] = "", msg[640] = "";
	struct mg_token_endpoint extra[1];
	size_t dropped = 0, n_extra = 0;
	int ret;

	if (mg_control_get(r, "name", NULL, name, sizeof(name)))
		p.name = name;
	if (mg_control_get(r, "expires", NULL, v, sizeof(v)))
		p.expires = strtoull(v, NULL, 10);
	if (mg_control_get(r, "uses", NULL, v, sizeof(v)))
		p.uses = (uint16_t)strtoul(v, NULL, 10);
	while (p.n_groups < MG_MESH_GROUPS_MAX &&
	       mg_control_get(r, "group", &cursor, groups[p.n_groups], sizeof(groups[0]))) {
		gp[p.n_groups] = groups[p.n_groups];
		p.n_groups++;
	}
	p.groups = gp;
	cursor = 0;
	while (p.n_routes < MG_CERT_ROUTES_MAX &&
	       mg_control_get(r, "route", &cursor, routes[p.n_routes], sizeof(routes[0]))) {
		rp[p.n_routes] = routes[p.n_routes];
		p.n_routes++;
	}
	p.routes = rp;
	if (a->public_endpoint.sa.sa_family) {
		struct mg_dir_endpoint d[1];

		if (add_candidate(d, 0, &a->public_endpoint)) {
			extra[0] = (struct mg_token_endpoint){ .family = d[0].family,
							       .port = d[0].port };
			memcpy(extra[0].addr, d[0].addr, 16);
			n_extra = 1;
		}
	}
	ret = mg_mesh_admin_invite_locked(&a->state, &p, extra, n_extra, token, &dropped, err,
					  sizeof(err));
	if (ret < 0) {
		reply(out, ret == -EINVAL ? 1 : 4, err[0] ? err : strerror(-ret), NULL);
		return;
	}
	if (dropped)
		snprintf(msg, sizeof(msg), "%s", err);
	strcat(token, "\n");
	reply(out, 0, msg, token);
	mg_wipe(token, sizeof(token));
	mg_log(a->log, MG_LOG_INFO, "mesh: invitation made%s%s", p.name ? " for " : "",
	       p.name ? p.name : "");
}

static void control_publish(struct mg_agent *a, const struct mg_control_request *r,
			    struct mg_uapi_buf *out)
{
	char text[2 * MG_DIR_ITEM_MAX];
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n = 0;
	int ret;

	if (!mg_control_get(r, "item", NULL, text, sizeof(text)) ||
	    mg_base64url_decode(item, sizeof(item), &n, text, strlen(text)) < 0 || !n) {
		reply(out, 1, "publish: no item", NULL);
		return;
	}
	ret = mg_gossip_publish(&a->gossip, item, n, mg_mesh_wall_ms());
	if (ret < 0) {
		reply(out, 2, mg_mesh_strerror(ret), NULL);
		return;
	}
	save_directory(a);
	reply(out, 0, ret ? "applied and spreading" : "already known", NULL);
}

/* "direct", "relay" (*via: the relay) or "none": the path manager's
 * state, or, for a member it does not probe (a static member), a recent
 * handshake. */
static const char *path_kind(struct mg_agent *a, const struct mg_dir_member *m,
			     const struct mg_dir_member **via)
{
	const struct mg_path *path = mg_paths_find(&a->paths, m->cert.key);
	struct mg_peer *p = member_peer(a, m);
	struct timespec now;

	*via = NULL;
	if (path && path->state == MG_PATH_RELAY) {
		*via = mg_directory_find(&a->dir, path->via);
		return "relay";
	}
	if (path && path->state == MG_PATH_DIRECT)
		return "direct";
	clock_gettime(CLOCK_REALTIME, &now);
	if (p && p->last_handshake.tv_sec &&
	    now.tv_sec - p->last_handshake.tv_sec < MG_AGENT_DIRECT_AGE &&
	    !p->relay.via.sa.sa_family)
		return "direct";
	return "none";
}

void mg_agent_json_cert(struct mg_json *j, cJSON *o, const struct mg_cert *c)
{
	char key[MG_KEY_BASE64_LEN + 1], buf[MG_PREFIX_STRLEN];
	cJSON *addrs;

	mg_json_string(j, o, "name", c->name);
	addrs = mg_json_array(j, o, "addresses");
	for (unsigned i = 0; i < c->n_addresses; i++) {
		mg_prefix_format(buf, sizeof(buf), &c->addresses[i]);
		mg_json_string(j, addrs, NULL, buf);
	}
	mg_key_to_base64(key, c->wg_key);
	mg_json_string(j, o, "public_key", key);
}

static void member_json(struct mg_agent *a, struct mg_json *j, cJSON *arr,
			const struct mg_dir_member *m)
{
	cJSON *o = mg_json_object(j, arr, NULL);
	struct mg_peer *p = member_peer(a, m);
	char buf[MG_ENDPOINT_STRLEN];
	struct timespec now;

	mg_agent_json_cert(j, o, &m->cert);
	const struct mg_path *path = mg_paths_find(&a->paths, m->cert.key);
	const struct mg_dir_member *via = NULL;
	const char *kind = path_kind(a, m, &via);

	clock_gettime(CLOCK_REALTIME, &now);
	mg_json_string(j, o, "path", kind);
	if (p && !via && p->endpoint.sa.sa_family) {
		mg_endpoint_format(buf, sizeof(buf), &p->endpoint);
		mg_json_string(j, o, "endpoint", buf);
	} else if (p && via && p->relay.via.sa.sa_family) {
		mg_endpoint_format(buf, sizeof(buf), &p->relay.via);
		mg_json_string(j, o, "endpoint", buf);
	} else {
		mg_json_null(j, o, "endpoint");
	}
	if (via)
		mg_json_string(j, o, "via", via->cert.name);
	else
		mg_json_null(j, o, "via");
	if (path && path->to_direct)
		mg_json_number(j, o, "time_to_direct_s", (double)path->to_direct / 1000);
	else
		mg_json_null(j, o, "time_to_direct_s");
	if (p && p->last_handshake.tv_sec)
		mg_json_number(j, o, "last_handshake_age_s",
			       (double)(now.tv_sec - p->last_handshake.tv_sec));
	else
		mg_json_null(j, o, "last_handshake_age_s");
	mg_json_number(j, o, "rx_bytes", p ? (double)p->rx_bytes : 0);
	mg_json_number(j, o, "tx_bytes", p ? (double)p->tx_bytes : 0);
}

/* key: the endpoint, or null when it has no family. */
static void json_endpoint(struct mg_json *j, cJSON *o, const char *key,
			  const struct mg_endpoint *ep)
{
	char buf[MG_ENDPOINT_STRLEN];

	if (!ep->sa.sa_family) {
		mg_json_null(j, o, key);
		return;
	}
	mg_endpoint_format(buf, sizeof(buf), ep);
	mg_json_string(j, o, key, buf);
}

static char *status_json(struct mg_agent *a)
{
	struct mg_json j;
	cJSON *self, *arr;
	char buf[MG_ENDPOINT_STRLEN], *text;

	if (mg_json_init(&j) < 0)
		return NULL;
	mg_json_number(&j, j.root, "schema", 1);
	self = mg_json_object(&j, j.root, "self");
	mg_agent_json_cert(&j, self, &a->cert);
	arr = mg_json_array(&j, self, "endpoints");
	for (size_t i = 0; i < a->announced_len; i++) {
		struct mg_endpoint ep;

		mg_dir_endpoint_to(&ep, &a->announced[i]);
		mg_endpoint_format(buf, sizeof(buf), &ep);
		mg_json_string(&j, arr, NULL, buf);
	}
	json_endpoint(&j, self, "public_endpoint", &a->public_endpoint);
	json_endpoint(&j, self, "mapped_endpoint", &a->mapped_endpoint);
	arr = mg_json_array(&j, j.root, "members");
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_dir_member *m = mg_directory_member(&a->dir, i);

		if (!is_self(a, m))
			member_json(a, &j, arr, m);
	}
	text = mg_json_format(&j);
	mg_json_free(&j);
	return text;
}

/* The JSON's rows as aligned text lines. */
static char *status_text(struct mg_agent *a)
{
	struct mg_uapi_buf b = { 0 };
	char addr[MG_PREFIX_STRLEN], ep[MG_ENDPOINT_STRLEN + MG_MESH_NAME_MAX];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	mg_prefix_format(addr, sizeof(addr), &a->cert.addresses[0]);
	(void)mg_uapi_buf_printf(&b, "mesh %s, this node %s (%s)\n", a->config.mesh_name,
				 a->cert.name, addr);
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_dir_member *m = mg_directory_member(&a->dir, i);
		struct mg_peer *p = member_peer(a, m);
		const struct mg_dir_member *via;
		const char *kind;

		if (is_self(a, m))
			continue;
		kind = path_kind(a, m, &via);
		mg_prefix_format(addr, sizeof(addr), &m->cert.addresses[0]);
		if (p && p->endpoint.sa.sa_family && !via)
			mg_endpoint_format(ep, sizeof(ep), &p->endpoint);
		else
			snprintf(ep, sizeof(ep), "%s%s", via ? "via " : "-",
				 via ? via->cert.name : "");
		(void)mg_uapi_buf_printf(&b, "  %-20s %-18s %-6s %s\n", m->cert.name, addr, kind,
					 ep);
	}
	if (mg_uapi_buf_append(&b, "", 1) < 0) {
		mg_uapi_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static void control_status(struct mg_agent *a, const struct mg_control_request *r,
			   struct mg_uapi_buf *out)
{
	char v[4] = "0";
	char *text;

	(void)mg_control_get(r, "json", NULL, v, sizeof(v));
	text = v[0] == '1' ? status_json(a) : status_text(a);
	if (!text) {
		reply(out, 4, "out of memory", NULL);
		return;
	}
	if (v[0] == '1')
		strcat(text, ""); /* cJSON's output has no newline: the reply adds it */
	reply(out, 0, "", text);
	if (v[0] == '1')
		(void)mg_uapi_buf_append(out, "\n", 1);
	free(text);
}

/* A static member for a stock WireGuard client: a key pair it keeps, a
 * certificate for it, and us as its one peer. */
static void control_export(struct mg_agent *a, const struct mg_control_request *r,
			   struct mg_uapi_buf *out)
{
	char name[MG_MESH_NAME_MAX + 2], priv64[MG_KEY_BASE64_LEN + 1],
		pub64[MG_KEY_BASE64_LEN + 1];
	char a4[MG_PREFIX_STRLEN], a6[MG_PREFIX_STRLEN], p4[MG_PREFIX_STRLEN], p6[MG_PREFIX_STRLEN];
	char ep[MG_ENDPOINT_STRLEN] = "";
	uint8_t priv[MG_KEY_LEN], pub[MG_KEY_LEN], sk[MG_ED25519_SECRET_LEN],
		pk[MG_ED25519_PUB_LEN];
	struct mg_uapi_buf conf = { 0 };
	struct mg_join_invite static_member = { .n_groups = 1 };
	struct mg_cert c;
	int ret;

	strcpy(static_member.groups[0], MG_PATH_STATIC_GROUP);
	/* The other members reach it through us: we forward. */
	if (a->forward)
		a->forward(a->stop_ctx);
	if (!mg_control_get(r, "name", NULL, name, sizeof(name)) ||
	    !mg_mesh_name_valid(name, MG_MESH_NAME_MAX)) {
		reply(out, 1, "export: a valid NAME is needed", NULL);
		return;
	}
	if (name_taken(a, name)) {
		reply(out, 2, "the name is taken by another member", NULL);
		return;
	}
	mg_x25519_generate(priv, pub);
	mg_ed25519_generate(sk, pk); /* never used: a stock client speaks no gossip */
	mg_wipe(sk, sizeof(sk));
	ret = issue_cert(a, &c, pub, pk, name, &static_member);
	if (ret < 0) {
		mg_wipe(priv, sizeof(priv));
		reply(out, 4, mg_mesh_strerror(ret), NULL);
		return;
	}
	save_directory(a);
	mg_key_to_base64(priv64, priv);
	mg_key_to_base64(pub64, a->cert.wg_key);
	mg_prefix_format(a4, sizeof(a4), &c.addresses[0]);
	mg_prefix_format(a6, sizeof(a6), &c.addresses[1]);
	mg_prefix_format(p4, sizeof(p4), &a->config.prefix4);
	mg_prefix_format(p6, sizeof(p6), &a->config.prefix6);
	if (a->announced_len) {
		struct mg_endpoint e;

		mg_dir_endpoint_to(&e, &a->announced[0]);
		mg_endpoint_format(ep, sizeof(ep), &e);
	}
	(void)mg_uapi_buf_printf(&conf,
				 "# %s: a static member of mesh %s, exported by %s\n"
				 "[Interface]\nPrivateKey = %s\nAddress = %s, %s\n\n"
				 "[Peer]\n# %s\nPublicKey = %s\nAllowedIPs = %s, %s\n%s%s%s"
				 "PersistentKeepalive = %d\n",
				 name, a->config.mesh_name, a->cert.name, priv64, a4, a6,
				 a->cert.name, pub64, p4, p6, ep[0] ? "Endpoint = " : "", ep,
				 ep[0] ? "\n" : "", MG_AGENT_KEEPALIVE);
	(void)mg_uapi_buf_append(&conf, "", 1);
	reply(out, conf.data ? 0 : 4, conf.data ? "" : "out of memory", conf.data);
	mg_uapi_buf_free(&conf);
	mg_wipe(priv, sizeof(priv));
	mg_wipe(priv64, sizeof(priv64));
	mg_log(a->log, MG_LOG_INFO, "mesh: exported static member %s", name);
}

/* Spreads a signed departure and removes the membership from DIR; the node
 * stops MG_AGENT_LEAVE_MS later, gossip rounds that carry the departure. */
int mg_agent_leave(struct mg_agent *a, char *err, size_t errlen)
{
	static const char *const files[] = { MG_STATE_MESH,	MG_STATE_DIRECTORY,
					     MG_STATE_MEMBER_C, MG_STATE_ISSUER_C,
					     MG_STATE_ISSUER,	MG_STATE_MEMBER,
					     MG_STATE_WIREGUARD };
	struct mg_dir_depart d = { 0 };
	uint8_t item[MG_DIR_ITEM_MAX];
	int len, ret;

	memcpy(d.mesh_id, a->config.mesh_id, MG_MESH_ID_LEN);
	d.cert = a->cert;
	d.time = wall_s();
	len = mg_dir_depart_sign(item, sizeof(item), &d, a->member_sk);
	a->left = true; /* before publishing it drops us from our own directory */
	ret = len < 0 ? len : mg_gossip_publish(&a->gossip, item, (size_t)len, mg_mesh_wall_ms());
	if (ret < 0)
		snprintf(err, errlen, "cannot sign the departure: %s", mg_mesh_strerror(ret));
	for (size_t i = 0; ret >= 0 && i < ARRAY_SIZE(files); i++)
		ret = mg_state_remove(&a->state, files[i], err, errlen);
	if (ret < 0) {
		a->left = false;
		return ret;
	}
	a->leave_at = mg_mesh_wall_ms() + MG_AGENT_LEAVE_MS;
	mg_log(a->log, MG_LOG_INFO, "mesh: left the mesh");
	return 0;
}

static void control_leave(struct mg_agent *a, struct mg_uapi_buf *out)
{
	char err[512] = "";

	if (mg_agent_leave(a, err, sizeof(err)) < 0)
		reply(out, 4, err, NULL);
	else
		reply(out, 0, "left the mesh; the node stops", NULL);
}

/* Saves the changed rules, then applies them: a rule the file does not
 * hold is never in force, and the reverse only until the reply. */
static void fw_change(struct mg_agent *a, const struct mg_fw_rules *rules, const char *done,
		      struct mg_uapi_buf *out)
{
	char err[512] = "";
	int ret = mg_fw_save(&a->state, rules, err, sizeof(err));

	if (ret < 0) {
		reply(out, 4, err[0] ? err : strerror(-ret), NULL);
		return;
	}
	a->fw.rules = *rules;
	fw_apply(a);
	reply(out, 0, done, NULL);
	mg_log(a->log, MG_LOG_INFO, "mesh: firewall: %s, %zu rule(s)", done, rules->n);
}

static void firewall_add(struct mg_agent *a, const struct mg_control_request *r,
			 struct mg_uapi_buf *out)
{
	struct mg_fw_rules rules;
	char text[256], err[256] = "";
	struct mg_fw_rule rule;
	int ret;

	if (!mg_control_get(r, "rule", NULL, text, sizeof(text)) ||
	    mg_fw_rule_parse(&rule, text, strlen(text), err, sizeof(err)) < 0) {
		reply(out, 1, err[0] ? err : "firewall add: no rule", NULL);
		return;
	}
	rules = a->fw.rules;
	ret = mg_fw_add(&rules, &rule);
	if (ret < 0) {
		reply(out, 1, ret == -EEXIST ? "the rule exists already" : "too many rules", NULL);
		return;
	}
	fw_change(a, &rules, "rule added", out);
}

static void firewall_del(struct mg_agent *a, const struct mg_control_request *r,
			 struct mg_uapi_buf *out)
{
	struct mg_fw_rules rules;
	char v[16] = "", *end;
	unsigned long n;

	if (!mg_control_get(r, "n", NULL, v, sizeof(v)) || !v[0]) {
		reply(out, 1, "firewall del: no rule number", NULL);
		return;
	}
	n = strtoul(v, &end, 10);
	rules = a->fw.rules;
	if (*end || mg_fw_del(&rules, n) < 0) {
		reply(out, 1, "no such rule (see firewall list)", NULL);
		return;
	}
	fw_change(a, &rules, "rule deleted", out);
}

static void control_firewall(struct mg_agent *a, const struct mg_control_request *r,
			     struct mg_uapi_buf *out)
{
	char list[MG_FW_LIST_MAX];
	char op[8] = "", json[4] = "0";

	(void)mg_control_get(r, "op", NULL, op, sizeof(op));
	if (!strcmp(op, "add")) {
		firewall_add(a, r, out);
	} else if (!strcmp(op, "del")) {
		firewall_del(a, r, out);
	} else if (!strcmp(op, "list")) {
		(void)mg_control_get(r, "json", NULL, json, sizeof(json));
		mg_fw_list(&a->fw, json[0] == '1', true, list);
		reply(out, 0, "", list);
	} else {
		reply(out, 1, "firewall: op must be add, del or list", NULL);
	}
}

static int on_control(void *ctx, const char *req, size_t len, struct mg_uapi_buf *out)
{
	struct mg_agent *a = ctx;
	struct mg_control_request r;
	int n = mg_control_parse(&r, req, len);

	if (n < 0) {
		reply(out, 1, "not a request (see src/mesh/control.h)", NULL);
		return (int)len;
	}
	if (a->left)
		reply(out, 4, "this node has left the mesh", NULL);
	else if (!strcmp(r.command, "invite"))
		control_invite(a, &r, out);
	else if (!strcmp(r.command, "publish"))
		control_publish(a, &r, out);
	else if (!strcmp(r.command, "status"))
		control_status(a, &r, out);
	else if (!strcmp(r.command, "export"))
		control_export(a, &r, out);
	else if (!strcmp(r.command, "leave"))
		control_leave(a, out);
	else if (!strcmp(r.command, "firewall"))
		control_firewall(a, &r, out);
	else
		reply(out, 1, "unknown request", NULL);
	return n;
}

/* ---- life cycle ---- */

/* Whether a static member we exported exists: we forward for it. */
static bool exports_any(struct mg_agent *a)
{
	uint8_t id[MG_MESH_KEY_ID_LEN];

	if (!a->is_issuer)
		return false;
	mg_mesh_key_id(id, a->issuer_cert.key);
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++) {
		const struct mg_dir_member *m = mg_directory_member(&a->dir, i);

		if (mg_paths_static(m) && !memcmp(m->cert.signer_id, id, sizeof(id)))
			return true;
	}
	return false;
}

static int start_join_server(struct mg_agent *a)
{
	struct mg_join_policy policy = { join_lookup, join_admit, a };
	uint8_t cert[MG_CERT_MAX_LEN];
	int len;

	if (!a->is_issuer)
		return 0;
	len = mg_cert_encode(cert, sizeof(cert), &a->issuer_cert);
	return len < 0 ? len
		       : mg_join_server_init(&a->join, &policy, a->member_sk, cert, (size_t)len);
}

static int start_gossip(struct mg_agent *a)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	int len = mg_dir_cert_item(item, sizeof(item), &a->cert);

	if (len < 0)
		return len;
	return mg_gossip_init(&a->gossip, &a->dir, a->member_sk, item, (size_t)len, NULL,
			      gossip_send, NULL, a, mg_mesh_wall_ms());
}

static int start_control(struct mg_agent *a)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", a->state.dir, MG_AGENT_CONTROL_SOCKET);
	return mg_uapi_server_start_at(&a->control, a->loop, path, a->log, on_control, a);
}

int mg_agent_start(struct mg_agent *a, uv_loop_t *loop, struct mg_engine *e)
{
	int ret;

	a->loop = loop;
	a->engine = e;
	mg_ratelimiter_init_rate(&a->limiter, MG_AGENT_CTL_PER_SECOND, MG_AGENT_CTL_BURST);
	mg_device_set_private_key(&e->dev, a->wg_private);
	/* The device holds its own copy; ours is needed no more. */
	mg_wipe(a->wg_private, sizeof(a->wg_private));
	mg_device_set_other_handler(&e->dev, on_datagram, a);
	fw_apply(a);
	ret = mg_paths_init(&a->paths, e, a->log, a->member_sk, a->cert.key);
	if (ret == 0)
		ret = mg_paths_set_relay(&a->paths, a->relay_mode == MG_AGENT_RELAY_ON);
	if (ret < 0)
		return ret;
	a->paths.usable = endpoint_usable;
	a->paths.usable_ctx = a;
	a->paths_open = true;
	mg_subnets_init(&a->subnets, a->ifindex, a->log);
	a->subnets_open = true;
	ret = start_gossip(a);
	if (ret < 0)
		return ret;
	a->gossip_open = true;
	ret = start_join_server(a);
	if (ret < 0)
		return ret;
	a->join_open = a->is_issuer;
	a->started = true;
	for (size_t i = 0; i < mg_directory_count(&a->dir); i++)
		sync_peer(a, mg_directory_member(&a->dir, i));
	if (a->forward && exports_any(a))
		a->forward(a->stop_ctx);
	ret = uv_timer_init(loop, &a->tick);
	if (ret < 0)
		return ret;
	a->timer_open = true;
	ret = uv_timer_start(&a->tick, on_tick, 0, MG_AGENT_TICK_MS); /* probe at once */
	if (ret == 0)
		ret = start_control(a);
	if (ret < 0)
		return ret;
	a->control_open = true;
	announce(a, true);
	mg_log(a->log, MG_LOG_INFO, "mesh %s: member %s, %zu other member(s)", a->config.mesh_name,
	       a->cert.name, mg_directory_count(&a->dir) - 1);
	return 0;
}

void mg_agent_close(struct mg_agent *a)
{
	if (!a->loaded)
		return;
	if (a->dirty_since && !a->left)
		save_directory(a);
	for (size_t i = 0; i < 2; i++)
		if (a->stun_q[i].busy)
			mg_stun_client_cancel(&a->stun_q[i].t);
	if (a->engine) {
		mg_device_set_other_handler(&a->engine->dev, NULL, NULL);
		mg_device_set_filter(&a->engine->dev, NULL);
	}
	mg_fw_free(&a->fw);
	if (a->control_open)
		mg_uapi_server_close(&a->control);
	if (a->timer_open)
		uv_close((uv_handle_t *)&a->tick, NULL);
	if (a->join_open)
		mg_join_server_free(&a->join);
	if (a->gossip_open)
		mg_gossip_free(&a->gossip);
	mg_directory_free(&a->dir);
	mg_state_close(&a->state);
	if (a->subnets_open)
		mg_subnets_free(&a->subnets);
	a->subnets_open = false;
	if (a->paths_open)
		mg_paths_free(&a->paths);
	a->paths_open = false;
	mg_wipe(a->member_sk, sizeof(a->member_sk));
	mg_wipe(a->issuer_sk, sizeof(a->issuer_sk));
	mg_wipe(a->wg_private, sizeof(a->wg_private));
	a->loaded = a->started = a->timer_open = a->control_open = false;
	a->gossip_open = a->join_open = false;
}
