/* Offline transactions on a state directory: init and invite, and the
 * prefix, address and endpoint choices they make (see admin.h). */
#include "mesh/admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto/blake2s.h"
#include "mesh/candidate.h"
#include "mesh/cert.h"

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

bool mg_mesh_prefix_overlap(const struct mg_prefix *a, const struct mg_prefix *b)
{
	unsigned bits = a->cidr < b->cidr ? a->cidr : b->cidr;
	unsigned bytes = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (a->family != b->family)
		return false;
	if (memcmp(a->addr, b->addr, bytes) != 0)
		return false;
	return rest == 0 || ((a->addr[bytes] ^ b->addr[bytes]) & mask) == 0;
}

static bool overlaps_any(const struct mg_prefix *p, const struct mg_prefix *avoid, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mg_mesh_prefix_overlap(p, &avoid[i]))
			return true;
	return false;
}

/* The i-th /16 of 100.64.0.0/10, i < 64. */
static void cgnat16(struct mg_prefix *p, unsigned i)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->cidr = MG_MESH_PREFIX4_LEN;
	p->addr[0] = 100;
	p->addr[1] = (uint8_t)(64 + i);
}

static int choose4(const struct mg_prefix *avoid, size_t n, struct mg_prefix *out)
{
	unsigned free_[64], n_free = 0;

	for (unsigned i = 0; i < 64; i++) {
		cgnat16(out, i);
		if (!overlaps_any(out, avoid, n))
			free_[n_free++] = i;
	}
	if (n_free == 0)
		return -ENOSPC;
	cgnat16(out, free_[mg_random_uniform(n_free)]);
	return 0;
}

static int choose6(const struct mg_prefix *avoid, size_t n, struct mg_prefix *out)
{
	for (int tries = 0; tries < 64; tries++) {
		memset(out, 0, sizeof(*out));
		out->family = AF_INET6;
		out->cidr = MG_MESH_PREFIX6_LEN;
		out->addr[0] = 0xfd;
		/* RFC 4193: a random 40-bit global id. */
		mg_random_bytes(out->addr + 1, 5);
		if (!overlaps_any(out, avoid, n))
			return 0;
	}
	return -ENOSPC;
}

int mg_mesh_choose_prefixes(const struct mg_prefix *avoid, size_t n, struct mg_prefix *out4,
			    struct mg_prefix *out6)
{
	int ret = choose4(avoid, n, out4);

	return ret < 0 ? ret : choose6(avoid, n, out6);
}

/* Routes and addresses that say nothing about where the mesh may go: a
 * default route, or a catch-all (0.0.0.0/1, a VPN's split default), would
 * overlap every candidate. */
static bool catch_all(const struct mg_prefix *p)
{
	return p->cidr < 8;
}

static void add_prefix(struct mg_prefix *out, size_t cap, size_t *n, const struct mg_prefix *p)
{
	if (*n < cap && !catch_all(p))
		out[(*n)++] = *p;
}

static unsigned mask_bits(const uint8_t *mask, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++)
		bits += (unsigned)__builtin_popcount(mask[i]);
	return bits;
}

static void ifaddr_prefixes(const struct ifaddrs *ifa, struct mg_prefix *out, size_t cap, size_t *n)
{
	for (; ifa; ifa = ifa->ifa_next) {
		struct mg_prefix p = { 0 };
		int fam = ifa->ifa_addr ? ifa->ifa_addr->sa_family : 0;
		const void *a, *m = NULL;

		if (fam == AF_INET) {
			a = &((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			if (ifa->ifa_netmask)
				m = &((const struct sockaddr_in *)ifa->ifa_netmask)->sin_addr;
		} else if (fam == AF_INET6) {
			a = &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			if (ifa->ifa_netmask)
				m = &((const struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr;
		} else {
			continue;
		}
		p.family = (uint8_t)fam;
		memcpy(p.addr, a, addr_len(p.family));
		p.cidr = (uint8_t)(m ? mask_bits(m, addr_len(p.family)) : 8 * addr_len(p.family));
		/* The address itself when its subnet is a catch-all. */
		if (catch_all(&p))
			p.cidr = (uint8_t)(8 * addr_len(p.family));
		mg_prefix_mask(&p);
		add_prefix(out, cap, n, &p);
	}
}

/* /proc/net/route prints each u32 in the kernel's byte order, so the
 * value's bytes in memory are the address in network order. */
static void route4_prefixes(struct mg_prefix *out, size_t cap, size_t *n)
{
	FILE *f = fopen("/proc/net/route", "re");
	unsigned dst, mask;
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_prefix p = { .family = AF_INET };
		if (sscanf(line, "%*s %x %*x %*x %*d %*d %*d %x", &dst, &mask) != 2)
			continue; /* the header */
		memcpy(p.addr, &dst, 4);
		p.cidr = (uint8_t)mask_bits((const uint8_t *)&mask, 4);
		mg_prefix_mask(&p);
		add_prefix(out, cap, n, &p);
	}
	fclose(f);
}

static void route6_prefixes(struct mg_prefix *out, size_t cap, size_t *n)
{
	FILE *f = fopen("/proc/net/ipv6_route", "re");
	char line[256], dst[33];
	unsigned len, byte;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_prefix p = { .family = AF_INET6 };
		if (sscanf(line, "%32s %x", dst, &len) != 2 || strlen(dst) != 32 || len > 128)
			continue;
		for (int i = 0; i < 16; i++) {
			if (sscanf(dst + 2 * i, "%2x", &byte) != 1)
				break;
			p.addr[i] = (uint8_t)byte;
		}
		p.cidr = (uint8_t)len;
		mg_prefix_mask(&p);
		add_prefix(out, cap, n, &p);
	}
	fclose(f);
}

int mg_mesh_local_subnets(struct mg_prefix *out, size_t cap, size_t *n)
{
	struct ifaddrs *ifa;

	*n = 0;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	ifaddr_prefixes(ifa, out, cap, n);
	freeifaddrs(ifa);
	return 0;
}

int mg_mesh_local_prefixes(struct mg_prefix *out, size_t cap, size_t *n)
{
	struct ifaddrs *ifa;

	*n = 0;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	ifaddr_prefixes(ifa, out, cap, n);
	freeifaddrs(ifa);
	route4_prefixes(out, cap, n);
	route6_prefixes(out, cap, n);
	return 0;
}

/* Address allocation */

static void key_hash(uint8_t h[MG_BLAKE2S_HASH_LEN], const uint8_t wg_pub[MG_KEY_LEN])
{
	static const char ctx[] = "mg-addr-v1";
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, MG_BLAKE2S_HASH_LEN, NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)ctx, sizeof(ctx) - 1);
	mg_blake2s_update(&s, wg_pub, MG_KEY_LEN);
	mg_blake2s_final(&s, h);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static bool is_taken(bool (*taken)(void *, const struct mg_prefix *), void *ctx,
		     const struct mg_prefix *p)
{
	return taken && taken(ctx, p);
}

/* Host numbers 1 .. 2^bits - 2: neither the network nor the broadcast. */
static int pick4(const struct mg_prefix *net, const uint8_t h[MG_BLAKE2S_HASH_LEN],
		 bool (*taken)(void *, const struct mg_prefix *), void *ctx, struct mg_prefix *out)
{
	uint32_t base, hosts = (UINT32_C(1) << (32 - net->cidr)) - 2;
	uint32_t start = (uint32_t)(be64(h) % hosts);

	base = (uint32_t)net->addr[0] << 24 | (uint32_t)net->addr[1] << 16 |
	       (uint32_t)net->addr[2] << 8 | net->addr[3];
	for (uint32_t k = 0; k < hosts; k++) {
		uint32_t a = base + (start + k) % hosts + 1;
		memset(out, 0, sizeof(*out));
		out->family = AF_INET;
		out->cidr = 32;
		out->addr[0] = (uint8_t)(a >> 24);
		out->addr[1] = (uint8_t)(a >> 16);
		out->addr[2] = (uint8_t)(a >> 8);
		out->addr[3] = (uint8_t)a;
		if (!is_taken(taken, ctx, out))
			return 0;
	}
	return -ENOSPC;
}

/* The bits of byte i that lie inside a prefix of cidr bits. */
static uint8_t net_mask(unsigned i, unsigned cidr)
{
	unsigned bit0 = i * 8;

	if (bit0 + 8 <= cidr)
		return 0xff;
	if (bit0 >= cidr)
		return 0;
	return (uint8_t)(0xff << (8 - (cidr - bit0)));
}

/* True when the host part (bits past cidr) is all zeros or all ones. */
static bool edge_host(const uint8_t addr[16], unsigned cidr)
{
	bool zero = true, ones = true;

	for (unsigned i = 0; i < 16; i++) {
		uint8_t m = (uint8_t)~net_mask(i, cidr);
		zero = zero && (addr[i] & m) == 0;
		ones = ones && (addr[i] & m) == m;
	}
	return zero || ones;
}

/* prefix6 is at most a /64, so the low 64 bits are all host bits and a
 * probe steps through them without touching the network part. */
static int pick6(const struct mg_prefix *net, const uint8_t h[MG_BLAKE2S_HASH_LEN],
		 bool (*taken)(void *, const struct mg_prefix *), void *ctx, struct mg_prefix *out)
{
	uint8_t host[16];
	uint64_t low = be64(h + 24);

	memcpy(host, h + 8, 16);
	for (uint32_t k = 0; k < 65536; k++) {
		put_be64(host + 8, low + k);
		memset(out, 0, sizeof(*out));
		out->family = AF_INET6;
		out->cidr = 128;
		for (unsigned i = 0; i < 16; i++) {
			uint8_t m = net_mask(i, net->cidr);
			out->addr[i] = (uint8_t)((net->addr[i] & m) | (host[i] & ~m));
		}
		if (!edge_host(out->addr, net->cidr) && !is_taken(taken, ctx, out))
			return 0;
	}
	return -ENOSPC;
}

int mg_mesh_pick_addresses(const struct mg_prefix *prefix4, const struct mg_prefix *prefix6,
			   const uint8_t wg_pub[MG_KEY_LEN],
			   bool (*taken)(void *ctx, const struct mg_prefix *addr), void *ctx,
			   struct mg_prefix *out4, struct mg_prefix *out6)
{
	uint8_t h[MG_BLAKE2S_HASH_LEN];
	int ret;

	if (prefix4->family != AF_INET || prefix4->cidr < 8 || prefix4->cidr > 30 ||
	    prefix6->family != AF_INET6 || prefix6->cidr < 32 || prefix6->cidr > 64)
		return -EINVAL;
	key_hash(h, wg_pub);
	ret = pick4(prefix4, h, taken, ctx, out4);
	if (ret == 0)
		ret = pick6(prefix6, h, taken, ctx, out6);
	return ret;
}

/* Endpoints */

static bool endpoint_equal(const struct mg_token_endpoint *a, const struct mg_token_endpoint *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == 0)
		return strcmp(a->host, b->host) == 0;
	return memcmp(a->addr, b->addr, addr_len(a->family)) == 0;
}

/* Appends e unless already there; counts what does not fit. */
static void add_endpoint(struct mg_token_endpoint *out, size_t cap, size_t *n, size_t *left_out,
			 const struct mg_token_endpoint *e)
{
	for (size_t i = 0; i < *n; i++)
		if (endpoint_equal(&out[i], e))
			return;
	if (*n < cap)
		out[(*n)++] = *e;
	else
		(*left_out)++;
}

int mg_mesh_local_endpoints(uint16_t port, struct mg_token_endpoint *out, size_t cap, size_t *n)
{
	struct mg_endpoint eps[MG_CAND_LOCAL_MAX];
	size_t n_eps;
	int ret = mg_cand_local_endpoints(port, NULL, 0, eps, MG_CAND_LOCAL_MAX, &n_eps);

	*n = 0;
	for (size_t i = 0; i < n_eps && *n < cap; i++) {
		struct mg_token_endpoint *e = &out[(*n)++];

		memset(e, 0, sizeof(*e));
		e->family = (uint8_t)eps[i].sa.sa_family;
		e->port = port;
		if (e->family == AF_INET)
			memcpy(e->addr, &eps[i].in4.sin_addr, 4);
		else
			memcpy(e->addr, &eps[i].in6.sin6_addr, 16);
	}
	return ret;
}

/* An overlay address of this node (the daemon's tunnel is up) leads nowhere
 * for someone who is not yet a member. */
static bool in_overlay(const struct mg_mesh_config *c, const struct mg_token_endpoint *e)
{
	struct mg_prefix p = { .family = e->family, .cidr = e->family == AF_INET ? 32 : 128 };

	if (e->family == 0)
		return false;
	memcpy(p.addr, e->addr, addr_len(e->family));
	return mg_mesh_prefix_overlap(&p, e->family == AF_INET ? &c->prefix4 : &c->prefix6);
}

int mg_mesh_gather_endpoints(const struct mg_mesh_config *c, const struct mg_token_endpoint *extra,
			     size_t n_extra, struct mg_token_endpoint *out, size_t cap, size_t *n,
			     size_t *left_out)
{
	struct mg_token_endpoint local[2 * MG_TOKEN_ENDPOINTS_MAX], e;
	size_t n_local = 0;
	int ret;

	*n = 0;
	*left_out = 0;
	for (size_t i = 0; i < c->n_endpoints; i++)
		if (mg_mesh_endpoint_parse(&e, c->endpoints[i]) == 0)
			add_endpoint(out, cap, n, left_out, &e);
	ret = mg_mesh_local_endpoints(c->listen_port, local, 2 * MG_TOKEN_ENDPOINTS_MAX, &n_local);
	for (size_t i = 0; i < n_local; i++)
		if (!in_overlay(c, &local[i]))
			add_endpoint(out, cap, n, left_out, &local[i]);
	for (size_t i = 0; i < n_extra; i++)
		add_endpoint(out, cap, n, left_out, &extra[i]);
	return ret;
}

/* init */

/* Every secret init makes, so that one wipe covers them all. */
struct init_keys {
	uint8_t auth_sk[MG_ED25519_SECRET_LEN], auth_pk[MG_ED25519_PUB_LEN];
	uint8_t issuer_sk[MG_ED25519_SECRET_LEN], issuer_pk[MG_ED25519_PUB_LEN];
	uint8_t member_sk[MG_ED25519_SECRET_LEN], member_pk[MG_ED25519_PUB_LEN];
	uint8_t wg_priv[MG_KEY_LEN], wg_pub[MG_KEY_LEN];
};

static int parse_prefix_param(struct mg_prefix *p, const char *s, int family, int min, int max,
			      char *err, size_t errlen)
{
	struct mg_prefix m;

	if (mg_prefix_parse(p, s, false) < 0 || p->family != family || p->cidr < min ||
	    p->cidr > max) {
		mg_mesh_msg(err, errlen,
			    "bad prefix '%s': expected an %s prefix of length %d to %d", s,
			    family == AF_INET ? "IPv4" : "IPv6", min, max);
		return -EINVAL;
	}
	m = *p;
	mg_prefix_mask(&m);
	if (memcmp(m.addr, p->addr, sizeof(m.addr)) != 0) {
		char ok[MG_PREFIX_STRLEN];
		mg_prefix_format(ok, sizeof(ok), &m);
		mg_mesh_msg(err, errlen, "bad prefix '%s': host bits set (did you mean '%s'?)", s,
			    ok);
		return -EINVAL;
	}
	return 0;
}

int mg_mesh_node_name(char *out, const char *given, char *err, size_t errlen)
{
	char host[256] = "";

	if (!given) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		host[strcspn(host, ".")] = '\0';
		given = host;
	}
	if (!mg_mesh_name_valid(given, MG_MESH_NAME_MAX)) {
		mg_mesh_msg(err, errlen,
			    "bad node name '%s': expected 1-63 of A-Z a-z 0-9 . _ - (pass --name)",
			    given);
		return -EINVAL;
	}
	memcpy(out, given, strlen(given) + 1); /* valid: at most 63 bytes */
	return 0;
}

static int init_endpoints(struct mg_mesh_config *c, const struct mg_mesh_init_params *p, char *err,
			  size_t errlen)
{
	if (p->n_endpoints > MG_MESH_CONFIG_ENDPOINTS_MAX) {
		mg_mesh_msg(err, errlen, "too many endpoints (%zu, at most %d)", p->n_endpoints,
			    MG_MESH_CONFIG_ENDPOINTS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n_endpoints; i++) {
		if (mg_mesh_endpoint_parse(NULL, p->endpoints[i]) < 0) {
			mg_mesh_msg(err, errlen,
				    "bad endpoint '%s': expected HOST:PORT (1.2.3.4:51820, "
				    "[2001:db8::1]:51820 or host.example:51820)",
				    p->endpoints[i]);
			return -EINVAL;
		}
		snprintf(c->endpoints[i], sizeof(c->endpoints[i]), "%s", p->endpoints[i]);
	}
	c->n_endpoints = (uint8_t)p->n_endpoints;
	return 0;
}

static int init_prefixes(struct mg_mesh_config *c, const struct mg_mesh_init_params *p, char *err,
			 size_t errlen)
{
	struct mg_prefix avoid[MG_MESH_AVOID_MAX], p4, p6;
	size_t n = 0;
	int ret;

	if (!p->prefix4 || !p->prefix6) {
		(void)mg_mesh_local_prefixes(avoid, MG_MESH_AVOID_MAX, &n);
		ret = mg_mesh_choose_prefixes(avoid, n, &p4, &p6);
		if (ret < 0) {
			mg_mesh_msg(err, errlen,
				    "no free overlay prefix: every candidate overlaps a local "
				    "address or route (pass --prefix4/--prefix6)");
			return ret;
		}
		c->prefix4 = p4;
		c->prefix6 = p6;
	}
	if (p->prefix4) {
		ret = parse_prefix_param(&c->prefix4, p->prefix4, AF_INET, 8, 30, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (p->prefix6)
		return parse_prefix_param(&c->prefix6, p->prefix6, AF_INET6, 32, 64, err, errlen);
	return 0;
}

/* mesh.json's content from the parameters, before any key exists. */
static int init_config(struct mg_mesh_config *c, const struct mg_mesh_init_params *p, char *err,
		       size_t errlen)
{
	const char *mesh_name = p->mesh_name ? p->mesh_name : MG_MESH_NAME_DEFAULT;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!mg_mesh_name_valid(mesh_name, MG_MESH_NAME_MAX)) {
		mg_mesh_msg(err, errlen, "bad mesh name '%s': expected 1-63 of A-Z a-z 0-9 . _ -",
			    mesh_name);
		return -EINVAL;
	}
	if (p->now == 0 || p->now + MG_CERT_LIFETIME >= MG_MESH_TIME_MAX) {
		mg_mesh_msg(err, errlen, "bad clock: %llu", (unsigned long long)p->now);
		return -EINVAL;
	}
	snprintf(c->mesh_name, sizeof(c->mesh_name), "%s", mesh_name);
	c->listen_port = p->listen_port ? p->listen_port : MG_MESH_LISTEN_PORT;
	ret = mg_mesh_node_name(c->name, p->node, err, errlen);
	if (ret == 0)
		ret = init_endpoints(c, p, err, errlen);
	if (ret == 0)
		ret = init_prefixes(c, p, err, errlen);
	return ret;
}

static void make_keys(struct init_keys *k, struct mg_mesh_config *c)
{
	mg_random_bytes(c->mesh_id, MG_MESH_ID_LEN);
	mg_ed25519_generate(k->auth_sk, k->auth_pk);
	mg_ed25519_generate(k->issuer_sk, k->issuer_pk);
	mg_ed25519_generate(k->member_sk, k->member_pk);
	mg_x25519_generate(k->wg_priv, k->wg_pub);
	memcpy(c->authority, k->auth_pk, MG_ED25519_PUB_LEN);
}

/* Serials are random: unique per signer without a counter to keep. */
static void cert_base(struct mg_cert *cert, const struct mg_mesh_config *c,
		      const struct init_keys *k, uint64_t now)
{
	memset(cert, 0, sizeof(*cert));
	mg_random_bytes(&cert->serial, sizeof(cert->serial));
	memcpy(cert->mesh_id, c->mesh_id, MG_MESH_ID_LEN);
	cert->not_before = now;
	cert->not_after = now + MG_CERT_LIFETIME;
	memcpy(cert->wg_key, k->wg_pub, MG_KEY_LEN);
	snprintf(cert->name, sizeof(cert->name), "%s", c->name);
}

static int make_certs(struct mg_cert *issuer, struct mg_cert *member,
		      const struct mg_mesh_config *c, const struct init_keys *k, uint64_t now)
{
	int ret;

	cert_base(issuer, c, k, now);
	issuer->role = MG_CERT_ROLE_ISSUER;
	memcpy(issuer->key, k->issuer_pk, MG_ED25519_PUB_LEN);
	cert_base(member, c, k, now);
	member->role = MG_CERT_ROLE_MEMBER;
	memcpy(member->key, k->member_pk, MG_ED25519_PUB_LEN);
	member->n_addresses = 2;
	ret = mg_mesh_pick_addresses(&c->prefix4, &c->prefix6, k->wg_pub, NULL, NULL,
				     &member->addresses[0], &member->addresses[1]);
	if (ret == 0)
		ret = mg_cert_sign(issuer, k->auth_sk);
	if (ret == 0)
		ret = mg_cert_sign(member, k->auth_sk);
	return ret;
}

/* mesh.json goes last: until it exists DIR holds no mesh, and init may run
 * again over whatever an interrupted one left. */
static int write_all_files(struct mg_state *st, const struct init_keys *k,
			   const struct mg_cert *issuer, const struct mg_cert *member,
			   const struct mg_mesh_config *c, char *err, size_t errlen)
{
	int ret;

	/* An Ed25519 key file holds the seed: the secret key's first half. */
	ret = mg_state_key_save(st, MG_STATE_AUTHORITY, k->auth_sk, err, errlen);
	if (ret == 0)
		ret = mg_state_key_save(st, MG_STATE_ISSUER, k->issuer_sk, err, errlen);
	if (ret == 0)
		ret = mg_state_key_save(st, MG_STATE_MEMBER, k->member_sk, err, errlen);
	if (ret == 0)
		ret = mg_state_key_save(st, MG_STATE_WIREGUARD, k->wg_priv, err, errlen);
	if (ret == 0)
		ret = mg_state_cert_save(st, MG_STATE_ISSUER_C, issuer, err, errlen);
	if (ret == 0)
		ret = mg_state_cert_save(st, MG_STATE_MEMBER_C, member, err, errlen);
	if (ret == 0)
		ret = mg_state_config_save(st, c, err, errlen);
	return ret;
}

static int refuse_existing(struct mg_state *st, char *err, size_t errlen)
{
	int ret = mg_state_exists(st, MG_STATE_MESH);

	if (ret == -ENOENT)
		return 0;
	if (ret == 0) {
		mg_mesh_msg(err, errlen,
			    "'%s' already holds a mesh ('%s/%s' exists); use another --state DIR",
			    st->dir, st->dir, MG_STATE_MESH);
		return -EEXIST;
	}
	mg_mesh_msg(err, errlen, "cannot check '%s/%s': %s", st->dir, MG_STATE_MESH,
		    strerror(-ret));
	return ret;
}

int mg_mesh_admin_init(const char *dir, const struct mg_mesh_init_params *p, char *err,
		       size_t errlen)
{
	struct mg_mesh_config c;
	struct mg_cert issuer, member;
	struct init_keys k;
	struct mg_state st;
	int ret;

	ret = init_config(&c, p, err, errlen);
	if (ret < 0)
		return ret;
	ret = mg_state_open(&st, dir, MG_STATE_CREATE | MG_STATE_LOCK, err, errlen);
	if (ret < 0)
		return ret;
	ret = refuse_existing(&st, err, errlen);
	if (ret < 0)
		goto close;
	make_keys(&k, &c);
	ret = make_certs(&issuer, &member, &c, &k, p->now);
	if (ret < 0)
		mg_mesh_msg(err, errlen, "cannot make the certificates: %s", mg_mesh_strerror(ret));
	else
		ret = write_all_files(&st, &k, &issuer, &member, &c, err, errlen);
	mg_wipe(&k, sizeof(k));
close:
	mg_state_close(&st);
	return ret;
}

/* invite */

static int invite_record(struct mg_invite_record *r, const struct mg_mesh_invite_params *p,
			 char *err, size_t errlen)
{
	uint64_t expires = p->expires ? p->expires : MG_INVITE_EXPIRES;

	memset(r, 0, sizeof(*r));
	if (p->name && !mg_mesh_name_valid(p->name, MG_MESH_NAME_MAX)) {
		mg_mesh_msg(err, errlen, "bad name '%s': expected 1-63 of A-Z a-z 0-9 . _ -",
			    p->name);
		return -EINVAL;
	}
	if (p->n_groups > MG_MESH_GROUPS_MAX) {
		mg_mesh_msg(err, errlen, "too many groups (%zu, at most %d)", p->n_groups,
			    MG_MESH_GROUPS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n_groups; i++) {
		if (!mg_mesh_name_valid(p->groups[i], MG_MESH_GROUP_MAX)) {
			mg_mesh_msg(err, errlen,
				    "bad group '%s': expected 1-31 of A-Z a-z 0-9 . _ -",
				    p->groups[i]);
			return -EINVAL;
		}
		memcpy(r->groups[i], p->groups[i], strlen(p->groups[i]) + 1);
	}
	if (p->n_routes > MG_CERT_ROUTES_MAX) {
		mg_mesh_msg(err, errlen, "too many routes (%zu, at most %d)", p->n_routes,
			    MG_CERT_ROUTES_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n_routes; i++) {
		if (mg_prefix_parse(&r->routes[i], p->routes[i], false) < 0) {
			mg_mesh_msg(err, errlen,
				    "bad route '%s': expected a prefix such as 192.168.1.0/24 "
				    "without host bits",
				    p->routes[i]);
			return -EINVAL;
		}
	}
	r->n_routes = (uint8_t)p->n_routes;
	if (p->now == 0 || expires >= MG_MESH_TIME_MAX || p->now >= MG_MESH_TIME_MAX - expires) {
		mg_mesh_msg(err, errlen, "bad expiry: %llu seconds", (unsigned long long)expires);
		return -EINVAL;
	}
	if (p->name)
		memcpy(r->name, p->name, strlen(p->name) + 1);
	r->n_groups = (uint8_t)p->n_groups;
	r->expiry = p->now + expires;
	r->uses = p->uses ? p->uses : 1;
	mg_random_bytes(r->id, sizeof(r->id));
	mg_random_bytes(r->secret, sizeof(r->secret));
	return 0;
}

/* The key that signs invitations here: the authority's when DIR holds it,
 * else the issuer's (whose certificate the join exchange hands over, so it
 * must be here too and be for that key). */
static int signing_key(struct mg_state *st, const struct mg_mesh_config *c, bool issuer_only,
		       uint8_t sk[MG_ED25519_SECRET_LEN], char *err, size_t errlen)
{
	struct mg_cert issuer;
	int ret;

	/* A daemon never loads the authority key (mesh.h). */
	ret = issuer_only ? -ENOENT
			  : mg_state_ed25519_load(st, MG_STATE_AUTHORITY, sk, err, errlen);
	if (ret == 0 && !mg_equal(sk + MG_ED25519_SEED_LEN, c->authority, MG_ED25519_PUB_LEN)) {
		mg_mesh_msg(err, errlen, "'%s/%s' is not the key of this mesh's authority", st->dir,
			    MG_STATE_AUTHORITY);
		ret = -EINVAL;
	}
	if (ret != -ENOENT)
		return ret;
	ret = mg_state_ed25519_load(st, MG_STATE_ISSUER, sk, err, errlen);
	if (ret == -ENOENT) {
		mg_mesh_msg(err, errlen,
			    "this member cannot invite: '%s' holds neither an authority "
			    "nor an issuer key",
			    st->dir);
		return -EPERM;
	}
	if (ret == 0)
		ret = mg_state_cert_load(st, MG_STATE_ISSUER_C, &issuer, err, errlen);
	if (ret == 0 && (issuer.role != MG_CERT_ROLE_ISSUER ||
			 !mg_equal(issuer.key, sk + MG_ED25519_SEED_LEN, MG_ED25519_PUB_LEN))) {
		mg_mesh_msg(err, errlen, "'%s/%s' is not the certificate of '%s/%s'", st->dir,
			    MG_STATE_ISSUER_C, st->dir, MG_STATE_ISSUER);
		ret = -EINVAL;
	}
	return ret;
}

static void fill_token(struct mg_token *t, const struct mg_mesh_config *c,
		       const struct mg_invite_record *r, const uint8_t member_pk[32])
{
	memset(t, 0, sizeof(*t));
	memcpy(t->mesh_id, c->mesh_id, MG_MESH_ID_LEN);
	memcpy(t->authority, c->authority, MG_ED25519_PUB_LEN);
	memcpy(t->invite_id, r->id, MG_TOKEN_INVITE_ID_LEN);
	t->expiry = r->expiry;
	t->uses = r->uses;
	memcpy(t->inviter_key, member_pk, MG_ED25519_PUB_LEN);
	memcpy(t->secret, r->secret, MG_TOKEN_SECRET_LEN);
	memcpy(t->name, r->name, sizeof(t->name));
	t->n_groups = r->n_groups;
	memcpy(t->groups, r->groups, sizeof(t->groups));
}

/* Everything invite needs from DIR; the secret keys end in sk and are
 * wiped by the caller. */
static int invite_inputs(struct mg_state *st, struct mg_mesh_config *c, bool issuer_only,
			 uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t member_pk[32], char *err,
			 size_t errlen)
{
	uint8_t member_sk[MG_ED25519_SECRET_LEN];
	int ret;

	if (!mg_state_locked(st)) {
		mg_mesh_msg(err, errlen, "'%s' is not locked", st->dir);
		return -ENOLCK;
	}
	ret = mg_state_config_load(st, c, err, errlen);
	if (ret == 0)
		ret = signing_key(st, c, issuer_only, sk, err, errlen);
	if (ret == 0)
		ret = mg_state_ed25519_load(st, MG_STATE_MEMBER, member_sk, err, errlen);
	if (ret == 0)
		memcpy(member_pk, member_sk + MG_ED25519_SEED_LEN, MG_ED25519_PUB_LEN);
	mg_wipe(member_sk, sizeof(member_sk));
	return ret;
}

static int seal(char out[MG_TOKEN_TEXT_MAX + 1], struct mg_token *t, const uint8_t *sk,
		size_t *dropped, char *err, size_t errlen)
{
	int ret = mg_token_seal(out, t, sk, dropped);

	if (ret < 0) {
		out[0] = '\0';
		mg_mesh_msg(err, errlen, "cannot make the token: %s", mg_mesh_strerror(ret));
	}
	return ret;
}

static int need_endpoints(size_t n, char *err, size_t errlen)
{
	if (n > 0)
		return 0;
	mg_mesh_msg(err, errlen,
		    "no endpoint to put in the invitation: this host has no global "
		    "address; pass --endpoint HOST:PORT to init");
	return -EADDRNOTAVAIL;
}

/* Names the endpoints the token had no room for, in err, for the user. */
static void name_dropped(const struct mg_token *t, size_t sealed_drop, size_t left, char *err,
			 size_t errlen)
{
	size_t used;

	if (!err || !errlen)
		return;
	mg_mesh_msg(err, errlen, "left out of the token (512 characters at most):");
	for (size_t i = 0; i < sealed_drop; i++) {
		const struct mg_token_endpoint *e = &t->endpoints[t->n_endpoints + i];
		char addr[INET6_ADDRSTRLEN] = "";

		if (e->family)
			inet_ntop(e->family, e->addr, addr, sizeof(addr));
		used = strlen(err);
		snprintf(err + used, errlen - used, " %s%s%s:%u", e->family == AF_INET6 ? "[" : "",
			 e->family ? addr : e->host, e->family == AF_INET6 ? "]" : "", e->port);
	}
	used = strlen(err);
	if (left)
		snprintf(err + used, errlen - used, " and %zu more", left);
}

int mg_mesh_admin_invite_locked(struct mg_state *st, const struct mg_mesh_invite_params *p,
				const struct mg_token_endpoint *extra, size_t n_extra,
				char out[MG_TOKEN_TEXT_MAX + 1], size_t *dropped, char *err,
				size_t errlen)
{
	uint8_t sk[MG_ED25519_SECRET_LEN], member_pk[MG_ED25519_PUB_LEN];
	struct mg_invite_record r;
	struct mg_mesh_config c;
	struct mg_token t;
	size_t n, left = 0, sealed_drop = 0;
	char name[64];
	int ret;

	*dropped = 0;
	out[0] = '\0';
	memset(&t, 0, sizeof(t));
	ret = invite_record(&r, p, err, errlen);
	if (ret == 0)
		ret = invite_inputs(st, &c, p->issuer_only, sk, member_pk, err, errlen);
	if (ret < 0)
		goto out;
	fill_token(&t, &c, &r, member_pk);
	(void)mg_mesh_gather_endpoints(&c, extra, n_extra, t.endpoints, MG_TOKEN_ENDPOINTS_MAX, &n,
				       &left);
	t.n_endpoints = (uint8_t)n;
	ret = need_endpoints(n, err, errlen);
	if (ret < 0)
		goto out;
	/* Durable before the token exists: a token whose record is lost would
	 * be refused by the very node that made it. */
	ret = mg_state_invite_save(st, &r, err, errlen);
	if (ret < 0)
		goto out;
	ret = seal(out, &t, sk, &sealed_drop, err, errlen);
	if (ret < 0) {
		mg_invite_record_name(name, sizeof(name), r.id);
		(void)mg_state_remove(st, name, NULL, 0);
	}
	*dropped = left + sealed_drop;
	if (ret == 0 && *dropped)
		name_dropped(&t, sealed_drop, left, err, errlen);
out:
	mg_wipe(sk, sizeof(sk));
	mg_invite_record_wipe(&r);
	mg_token_wipe(&t);
	return ret;
}

int mg_mesh_admin_invite(const char *dir, const struct mg_mesh_invite_params *p,
			 const struct mg_token_endpoint *extra, size_t n_extra,
			 char out[MG_TOKEN_TEXT_MAX + 1], size_t *dropped, char *err, size_t errlen)
{
	struct mg_state st;
	int ret;

	*dropped = 0;
	out[0] = '\0';
	ret = mg_state_open(&st, dir, MG_STATE_LOCK, err, errlen);
	if (ret < 0)
		return ret;
	ret = mg_mesh_admin_invite_locked(&st, p, extra, n_extra, out, dropped, err, errlen);
	mg_state_close(&st);
	return ret;
}
