/* The member directory: item codecs, verification, and the indexes (design
 * in directory.h). */
#include "mesh/directory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/blake2s.h"
#include "util/bytes.h"

static const char revoke_ctx[] = "mg-revoke-v1";
static const char depart_ctx[] = "mg-depart-v1";
static const char announce_ctx[] = "mg-announce-v1";
#define CTX_MAX 16

/* A revocation or departure: the keys it keeps out. */
struct tomb {
	const struct mg_dir_item *item;
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t wg_key[MG_KEY_LEN];
	uint8_t serial[MG_MESH_KEY_ID_LEN + 8]; /* signer id || serial */
};

/* Where each index finds its key inside an element. */
struct keyspec {
	size_t off, len;
};

static const struct keyspec by_id = { offsetof(struct mg_dir_item, id), MG_DIR_ID_LEN };
static const struct keyspec by_key = { offsetof(struct mg_dir_member, cert.key),
				       MG_ED25519_PUB_LEN };
static const struct keyspec by_wg = { offsetof(struct mg_dir_member, cert.wg_key), MG_KEY_LEN };
static const struct keyspec tomb_key = { offsetof(struct tomb, key), MG_ED25519_PUB_LEN };
static const struct keyspec tomb_wg = { offsetof(struct tomb, wg_key), MG_KEY_LEN };
static const struct keyspec tomb_serial = { offsetof(struct tomb, serial), 16 };

/* ---- allocation, counted for the bench ---- */

static void *dalloc(struct mg_directory *d, size_t n)
{
	void *p = calloc(1, n);

	if (p)
		d->bytes += n;
	return p;
}

static void dfree(struct mg_directory *d, void *p, size_t n)
{
	if (!p)
		return;
	d->bytes -= n;
	free(p);
}

/* ---- sorted indexes ---- */

static const uint8_t *elem_key(const void *e, const struct keyspec *k)
{
	return (const uint8_t *)e + k->off;
}

/* The first position whose key is >= key. */
static size_t idx_lower(const struct mg_dir_index *x, const uint8_t *key, const struct keyspec *k)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(elem_key(x->v[mid], k), key, k->len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *idx_find(const struct mg_dir_index *x, const uint8_t *key, const struct keyspec *k)
{
	size_t i = idx_lower(x, key, k);

	if (i < x->n && memcmp(elem_key(x->v[i], k), key, k->len) == 0)
		return x->v[i];
	return NULL;
}

static int idx_insert(struct mg_directory *d, struct mg_dir_index *x, void *e,
		      const struct keyspec *k)
{
	size_t i;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		void **v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->bytes += (cap - x->cap) * sizeof(*v);
		x->v = v;
		x->cap = cap;
	}
	i = idx_lower(x, elem_key(e, k), k);
	memmove(&x->v[i + 1], &x->v[i], (x->n - i) * sizeof(*x->v));
	x->v[i] = e;
	x->n++;
	return 0;
}

/* Removes e itself (keys may repeat in the WireGuard and tomb indexes). */
static void idx_remove(struct mg_dir_index *x, const void *e, const struct keyspec *k)
{
	for (size_t i = idx_lower(x, elem_key(e, k), k); i < x->n; i++) {
		if (x->v[i] == e) {
			memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
			x->n--;
			return;
		}
	}
}

static void idx_free(struct mg_directory *d, struct mg_dir_index *x)
{
	d->bytes -= x->cap * sizeof(*x->v);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* ---- items ---- */

void mg_dir_item_id(uint8_t id[MG_DIR_ID_LEN], const uint8_t *item, size_t len)
{
	static const char ctx[] = "mg-item-v1";
	struct mg_blake2s_state s;
	uint8_t h[MG_BLAKE2S_HASH_LEN];

	mg_blake2s_init(&s, sizeof(h), NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)ctx, sizeof(ctx) - 1);
	mg_blake2s_update(&s, item, len);
	mg_blake2s_final(&s, h);
	memcpy(id, h, MG_DIR_ID_LEN);
}

static void bucket_flip(struct mg_directory *d, const struct mg_dir_item *it)
{
	uint64_t v;

	memcpy(&v, it->id, sizeof(v));
	d->buckets[it->id[0] >> 1] ^= v;
}

static struct mg_dir_item *item_store(struct mg_directory *d, const uint8_t *bytes, size_t len,
				      const uint8_t id[MG_DIR_ID_LEN])
{
	struct mg_dir_item *it = dalloc(d, sizeof(*it) + len);

	if (!it)
		return NULL;
	memcpy(it->id, id, MG_DIR_ID_LEN);
	it->len = (uint16_t)len;
	memcpy(it->bytes, bytes, len);
	if (idx_insert(d, &d->items, it, &by_id) < 0) {
		dfree(d, it, sizeof(*it) + len);
		return NULL;
	}
	bucket_flip(d, it);
	return it;
}

static void item_drop(struct mg_directory *d, const struct mg_dir_item *it)
{
	if (!it)
		return;
	idx_remove(&d->items, it, &by_id);
	bucket_flip(d, it);
	dfree(d, (void *)it, sizeof(*it) + it->len);
}

int mg_dir_item_rank(const struct mg_dir_item *it)
{
	switch (it->bytes[0]) {
	case MG_DIR_CERT:
		return it->len > 2 && it->bytes[2] == MG_CERT_ROLE_ISSUER ? 0 : 1;
	case MG_DIR_ANNOUNCE:
		return 3;
	default:
		return 2;
	}
}

/* ---- codecs ---- */

static int sign_item(uint8_t *out, size_t outlen, size_t body, const char *ctx,
		     const uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t sig[MG_ED25519_SIG_LEN])
{
	uint8_t msg[CTX_MAX + MG_DIR_ITEM_MAX];
	size_t clen = strlen(ctx);

	if (outlen < body + MG_ED25519_SIG_LEN)
		return -MG_MESH_ETOOBIG;
	memcpy(msg, ctx, clen);
	memcpy(msg + clen, out, body);
	mg_ed25519_sign(sig, msg, clen + body, sk);
	memcpy(out + body, sig, MG_ED25519_SIG_LEN);
	return (int)(body + MG_ED25519_SIG_LEN);
}

static bool item_signed_by(const uint8_t *item, size_t len, const char *ctx,
			   const uint8_t pub[MG_ED25519_PUB_LEN])
{
	uint8_t msg[CTX_MAX + MG_DIR_ITEM_MAX];
	size_t clen = strlen(ctx), body = len - MG_ED25519_SIG_LEN;

	memcpy(msg, ctx, clen);
	memcpy(msg + clen, item, body);
	return mg_ed25519_verify(item + body, msg, clen + body, pub);
}

/* Writes the body into out; the cursor says whether it fit. */
static struct mg_mesh_buf writer(uint8_t *out, size_t outlen)
{
	struct mg_mesh_buf b = { .p = out, .left = outlen };
	return b;
}

static struct mg_mesh_buf reader(const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = { .r = in, .left = len };
	return b;
}

static int finish_body(const struct mg_mesh_buf *b, const uint8_t *out)
{
	return b->bad ? -MG_MESH_ETOOBIG : (int)(b->p - out);
}

int mg_dir_cert_item(uint8_t *out, size_t outlen, const struct mg_cert *c)
{
	int n;

	if (outlen < 1)
		return -MG_MESH_ETOOBIG;
	out[0] = MG_DIR_CERT;
	n = mg_cert_encode(out + 1, outlen - 1, c);
	return n < 0 ? n : n + 1;
}

int mg_dir_revoke_sign(uint8_t *out, size_t outlen, struct mg_dir_revoke *r,
		       const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	struct mg_mesh_buf b = writer(out, outlen);
	uint8_t pub[MG_ED25519_PUB_LEN], cert[MG_CERT_MAX_LEN];
	int n = 0;

	if (r->by_issuer && (n = mg_cert_encode(cert, sizeof(cert), &r->issuer)) < 0)
		return n;
	if (r->time >= MG_MESH_TIME_MAX || (size_t)n > MG_DIR_ITEM_MAX - MG_DIR_REVOKE_FIXED)
		return -MG_MESH_EMALFORMED;
	mg_ed25519_public(pub, sk);
	mg_mesh_key_id(r->signer_id, pub);
	mg_mesh_put_u8(&b, MG_DIR_REVOKE);
	mg_mesh_put(&b, r->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put(&b, r->key, MG_ED25519_PUB_LEN);
	mg_mesh_put(&b, r->wg_key, MG_KEY_LEN);
	mg_mesh_put(&b, r->cert_signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_put_u64(&b, r->cert_serial);
	mg_mesh_put_u64(&b, r->time);
	mg_mesh_put(&b, r->signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_put_u16(&b, (uint16_t)n);
	mg_mesh_put(&b, cert, (size_t)n);
	n = finish_body(&b, out);
	return n < 0 ? n : sign_item(out, outlen, (size_t)n, revoke_ctx, sk, r->signature);
}

/* The issuer certificate of a revocation: n bytes, or none. */
static void get_issuer(struct mg_mesh_buf *b, struct mg_dir_revoke *r)
{
	size_t n = mg_mesh_get_u16(b);

	if (b->bad || n == 0)
		return;
	r->by_issuer = true;
	if (n > b->left || mg_cert_decode(&r->issuer, b->r, n) < 0 ||
	    r->issuer.role != MG_CERT_ROLE_ISSUER) {
		b->bad = true;
		return;
	}
	b->r += n;
	b->left -= n;
}

int mg_dir_revoke_decode(struct mg_dir_revoke *r, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = reader(in, len);

	memset(r, 0, sizeof(*r));
	if (len >= 1 && in[0] != MG_DIR_REVOKE)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	mg_mesh_get(&b, r->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_get(&b, r->key, MG_ED25519_PUB_LEN);
	mg_mesh_get(&b, r->wg_key, MG_KEY_LEN);
	mg_mesh_get(&b, r->cert_signer_id, MG_MESH_KEY_ID_LEN);
	r->cert_serial = mg_mesh_get_u64(&b);
	r->time = mg_mesh_get_u64(&b);
	mg_mesh_get(&b, r->signer_id, MG_MESH_KEY_ID_LEN);
	get_issuer(&b, r);
	mg_mesh_get(&b, r->signature, MG_ED25519_SIG_LEN);
	if (b.bad || b.left != 0 || r->time >= MG_MESH_TIME_MAX) {
		memset(r, 0, sizeof(*r));
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

int mg_dir_depart_sign(uint8_t *out, size_t outlen, struct mg_dir_depart *p,
		       const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	struct mg_mesh_buf b = writer(out, outlen);
	uint8_t cert[MG_CERT_MAX_LEN];
	int n = mg_cert_encode(cert, sizeof(cert), &p->cert);

	if (n < 0)
		return n;
	if (p->time >= MG_MESH_TIME_MAX || (size_t)n > MG_DIR_DEPART_CERT_MAX)
		return -MG_MESH_EMALFORMED;
	mg_mesh_put_u8(&b, MG_DIR_DEPART);
	mg_mesh_put(&b, p->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put_u64(&b, p->time);
	mg_mesh_put_u16(&b, (uint16_t)n);
	mg_mesh_put(&b, cert, (size_t)n);
	n = finish_body(&b, out);
	return n < 0 ? n : sign_item(out, outlen, (size_t)n, depart_ctx, sk, p->signature);
}

int mg_dir_depart_decode(struct mg_dir_depart *p, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = reader(in, len);
	size_t n;

	memset(p, 0, sizeof(*p));
	if (len >= 1 && in[0] != MG_DIR_DEPART)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	mg_mesh_get(&b, p->mesh_id, MG_MESH_ID_LEN);
	p->time = mg_mesh_get_u64(&b);
	n = mg_mesh_get_u16(&b);
	if (b.bad || n > MG_DIR_DEPART_CERT_MAX || n > b.left ||
	    mg_cert_decode(&p->cert, b.r, n) < 0)
		goto bad;
	b.r += n;
	b.left -= n;
	mg_mesh_get(&b, p->signature, MG_ED25519_SIG_LEN);
	if (b.bad || b.left != 0 || p->time >= MG_MESH_TIME_MAX)
		goto bad;
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return -MG_MESH_EMALFORMED;
}

static bool endpoint_valid(const struct mg_dir_endpoint *e)
{
	return (e->family == AF_INET || e->family == AF_INET6) && e->port != 0;
}

int mg_dir_announce_sign(uint8_t *out, size_t outlen, struct mg_dir_announce *a,
			 const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	struct mg_mesh_buf b = writer(out, outlen);
	int n;

	if (a->time >= MG_MESH_TIME_MAX || a->n_endpoints > MG_DIR_ENDPOINTS_MAX ||
	    a->n_routes > MG_CERT_ROUTES_MAX)
		return -MG_MESH_EMALFORMED;
	mg_ed25519_public(a->key, sk);
	mg_mesh_put_u8(&b, MG_DIR_ANNOUNCE);
	mg_mesh_put(&b, a->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put(&b, a->key, MG_ED25519_PUB_LEN);
	mg_mesh_put_u64(&b, a->seq);
	mg_mesh_put_u64(&b, a->time);
	mg_mesh_put_u8(&b, a->n_endpoints);
	for (size_t i = 0; i < a->n_endpoints; i++) {
		const struct mg_dir_endpoint *e = &a->endpoints[i];
		bool v4 = e->family == AF_INET;
		if (!endpoint_valid(e))
			return -MG_MESH_EMALFORMED;
		mg_mesh_put_u8(&b, v4 ? 4 : 6);
		mg_mesh_put(&b, e->addr, v4 ? 4 : 16);
		mg_mesh_put_u16(&b, e->port);
	}
	mg_mesh_put_u8(&b, a->n_routes);
	for (size_t i = 0; i < a->n_routes; i++)
		mg_mesh_put_prefix(&b, &a->routes[i]);
	n = finish_body(&b, out);
	return n < 0 ? n : sign_item(out, outlen, (size_t)n, announce_ctx, sk, a->signature);
}

static void get_endpoint(struct mg_mesh_buf *b, struct mg_dir_endpoint *e)
{
	uint8_t fam = mg_mesh_get_u8(b);

	if (fam != 4 && fam != 6) {
		b->bad = true;
		return;
	}
	e->family = fam == 4 ? AF_INET : AF_INET6;
	mg_mesh_get(b, e->addr, fam == 4 ? 4 : 16);
	e->port = mg_mesh_get_u16(b);
	if (e->port == 0)
		b->bad = true;
}

int mg_dir_announce_decode(struct mg_dir_announce *a, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = reader(in, len);

	memset(a, 0, sizeof(*a));
	if (len >= 1 && in[0] != MG_DIR_ANNOUNCE)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	mg_mesh_get(&b, a->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_get(&b, a->key, MG_ED25519_PUB_LEN);
	a->seq = mg_mesh_get_u64(&b);
	a->time = mg_mesh_get_u64(&b);
	a->n_endpoints = mg_mesh_get_u8(&b);
	if (a->n_endpoints > MG_DIR_ENDPOINTS_MAX)
		b.bad = true;
	for (size_t i = 0; i < a->n_endpoints && !b.bad; i++)
		get_endpoint(&b, &a->endpoints[i]);
	a->n_routes = mg_mesh_get_u8(&b);
	if (a->n_routes > MG_CERT_ROUTES_MAX)
		b.bad = true;
	for (size_t i = 0; i < a->n_routes && !b.bad; i++)
		mg_mesh_get_prefix(&b, &a->routes[i]);
	mg_mesh_get(&b, a->signature, MG_ED25519_SIG_LEN);
	if (b.bad || b.left != 0 || a->time >= MG_MESH_TIME_MAX) {
		memset(a, 0, sizeof(*a));
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

size_t mg_directory_endpoints(const struct mg_dir_member *m,
			      struct mg_dir_endpoint out[MG_DIR_ENDPOINTS_MAX])
{
	struct mg_dir_announce a;

	if (!m->announce || mg_dir_announce_decode(&a, m->announce->bytes, m->announce->len) < 0)
		return 0;
	memcpy(out, a.endpoints, a.n_endpoints * sizeof(*out));
	return a.n_endpoints;
}

size_t mg_directory_routes(const struct mg_dir_member *m, struct mg_prefix out[MG_CERT_ROUTES_MAX])
{
	struct mg_dir_announce a;

	if (!m->announce || mg_dir_announce_decode(&a, m->announce->bytes, m->announce->len) < 0)
		return 0;
	memcpy(out, a.routes, a.n_routes * sizeof(*out));
	return a.n_routes;
}

/* ---- init, free, copy ---- */

int mg_directory_init(struct mg_directory *d, const uint8_t mesh_id[MG_MESH_ID_LEN],
		      const uint8_t authority[MG_ED25519_PUB_LEN], mg_dir_change_cb *change,
		      void *ctx)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->mesh_id, mesh_id, MG_MESH_ID_LEN);
	memcpy(d->authority, authority, MG_ED25519_PUB_LEN);
	mg_mesh_key_id(d->authority_id, authority);
	d->change = change;
	d->change_ctx = ctx;
	return 0;
}

void mg_directory_free(struct mg_directory *d)
{
	for (size_t i = 0; i < d->items.n; i++) {
		struct mg_dir_item *it = d->items.v[i];
		dfree(d, it, sizeof(*it) + it->len);
	}
	for (size_t i = 0; i < d->members.n; i++)
		dfree(d, d->members.v[i], sizeof(struct mg_dir_member));
	for (size_t i = 0; i < d->issuers.n; i++)
		dfree(d, d->issuers.v[i], sizeof(struct mg_dir_member));
	for (size_t i = 0; i < d->tombs.n; i++)
		dfree(d, d->tombs.v[i], sizeof(struct tomb));
	idx_free(d, &d->items);
	idx_free(d, &d->members);
	idx_free(d, &d->members_wg);
	idx_free(d, &d->issuers);
	idx_free(d, &d->tombs);
	idx_free(d, &d->tombs_wg);
	idx_free(d, &d->tombs_serial);
	memset(d->buckets, 0, sizeof(d->buckets));
}

static const struct mg_dir_item *copy_ref(const struct mg_directory *dst,
					  const struct mg_dir_item *it)
{
	return it ? idx_find(&dst->items, it->id, &by_id) : NULL;
}

static int copy_members(struct mg_directory *dst, const struct mg_dir_index *from,
			struct mg_dir_index *to, bool wg)
{
	for (size_t i = 0; i < from->n; i++) {
		struct mg_dir_member *m = dalloc(dst, sizeof(*m));
		if (!m)
			return -ENOMEM;
		*m = *(const struct mg_dir_member *)from->v[i];
		m->cert_item = copy_ref(dst, m->cert_item);
		m->announce = copy_ref(dst, m->announce);
		m->rx_counter = m->rx_window = 0;
		if (idx_insert(dst, to, m, &by_key) < 0 ||
		    (wg && idx_insert(dst, &dst->members_wg, m, &by_wg) < 0))
			return -ENOMEM;
	}
	return 0;
}

static int copy_tombs(struct mg_directory *dst, const struct mg_directory *src)
{
	for (size_t i = 0; i < src->tombs.n; i++) {
		struct tomb *t = dalloc(dst, sizeof(*t));
		if (!t)
			return -ENOMEM;
		*t = *(const struct tomb *)src->tombs.v[i];
		t->item = copy_ref(dst, t->item);
		if (idx_insert(dst, &dst->tombs, t, &tomb_key) < 0 ||
		    idx_insert(dst, &dst->tombs_serial, t, &tomb_serial) < 0)
			return -ENOMEM;
		if (!mg_is_zero(t->wg_key, MG_KEY_LEN) &&
		    idx_insert(dst, &dst->tombs_wg, t, &tomb_wg) < 0)
			return -ENOMEM;
	}
	return 0;
}

int mg_directory_copy(struct mg_directory *dst, const struct mg_directory *src)
{
	int err = 0;

	mg_directory_init(dst, src->mesh_id, src->authority, NULL, NULL);
	for (size_t i = 0; i < src->items.n && err == 0; i++) {
		const struct mg_dir_item *it = src->items.v[i];
		if (!item_store(dst, it->bytes, it->len, it->id))
			err = -ENOMEM;
	}
	if (err == 0)
		err = copy_members(dst, &src->members, &dst->members, true);
	if (err == 0)
		err = copy_members(dst, &src->issuers, &dst->issuers, false);
	if (err == 0)
		err = copy_tombs(dst, src);
	if (err < 0)
		mg_directory_free(dst);
	return err;
}

/* ---- lookups ---- */

const struct mg_dir_member *mg_directory_find(const struct mg_directory *d,
					      const uint8_t key[MG_ED25519_PUB_LEN])
{
	return idx_find(&d->members, key, &by_key);
}

const struct mg_dir_member *mg_directory_find_wg(const struct mg_directory *d,
						 const uint8_t wg_key[MG_KEY_LEN])
{
	return idx_find(&d->members_wg, wg_key, &by_wg);
}

/* Of two members with one name, the one every directory picks alike. */
static bool name_first(const struct mg_dir_member *a, const struct mg_dir_member *b)
{
	if (a->cert.not_before != b->cert.not_before)
		return a->cert.not_before < b->cert.not_before;
	return memcmp(a->cert.key, b->cert.key, MG_ED25519_PUB_LEN) < 0;
}

const struct mg_dir_member *mg_directory_find_name(const struct mg_directory *d, const char *name)
{
	const struct mg_dir_member *best = NULL;

	for (size_t i = 0; i < d->members.n; i++) {
		const struct mg_dir_member *m = d->members.v[i];
		if (strcmp(m->cert.name, name) == 0 && (!best || name_first(m, best)))
			best = m;
	}
	return best;
}

bool mg_directory_name_taken(const struct mg_directory *d, const char *name)
{
	return mg_directory_find_name(d, name) != NULL;
}

bool mg_directory_key_revoked(const struct mg_directory *d, const uint8_t key[MG_ED25519_PUB_LEN])
{
	return idx_find(&d->tombs, key, &tomb_key) != NULL;
}

size_t mg_directory_count(const struct mg_directory *d)
{
	return d->members.n;
}

const struct mg_dir_member *mg_directory_member(const struct mg_directory *d, size_t i)
{
	return i < d->members.n ? d->members.v[i] : NULL;
}

size_t mg_directory_issuer_count(const struct mg_directory *d)
{
	return d->issuers.n;
}

size_t mg_directory_tomb_count(const struct mg_directory *d)
{
	return d->tombs.n;
}

size_t mg_directory_item_count(const struct mg_directory *d)
{
	return d->items.n;
}

const struct mg_dir_item *mg_directory_item(const struct mg_directory *d,
					    const uint8_t id[MG_DIR_ID_LEN])
{
	return idx_find(&d->items, id, &by_id);
}

const struct mg_dir_item *mg_directory_item_at(const struct mg_directory *d, size_t i)
{
	return i < d->items.n ? d->items.v[i] : NULL;
}

size_t mg_directory_bucket(const struct mg_directory *d, unsigned b, size_t *first)
{
	uint8_t lo[MG_DIR_ID_LEN] = { (uint8_t)(b << 1) }, hi[MG_DIR_ID_LEN] = { 0 };
	size_t end = d->items.n;

	if (b >= MG_DIR_BUCKETS) {
		*first = 0;
		return 0;
	}
	*first = idx_lower(&d->items, lo, &by_id);
	if (b + 1 < MG_DIR_BUCKETS) {
		hi[0] = (uint8_t)((b + 1) << 1);
		end = idx_lower(&d->items, hi, &by_id);
	}
	return end - *first;
}

/* ---- removal ---- */

static void notify(struct mg_directory *d, enum mg_dir_event ev, const struct mg_dir_member *m)
{
	if (d->change)
		d->change(d->change_ctx, ev, m);
}

static void member_remove(struct mg_directory *d, struct mg_dir_member *m)
{
	idx_remove(&d->members, m, &by_key);
	idx_remove(&d->members_wg, m, &by_wg);
	notify(d, MG_DIR_MEMBER_REMOVED, m);
	item_drop(d, m->cert_item);
	item_drop(d, m->announce);
	dfree(d, m, sizeof(*m));
}

/* Members certified by the issuer with key id `id`. */
static size_t drop_certified_by(struct mg_directory *d, const uint8_t id[MG_MESH_KEY_ID_LEN])
{
	size_t n = 0;

	for (size_t i = d->members.n; i-- > 0;) {
		struct mg_dir_member *m = d->members.v[i];
		if (memcmp(m->cert.signer_id, id, MG_MESH_KEY_ID_LEN) == 0) {
			member_remove(d, m);
			n++;
		}
	}
	return n;
}

static size_t issuer_remove(struct mg_directory *d, struct mg_dir_member *is)
{
	uint8_t id[MG_MESH_KEY_ID_LEN];

	mg_mesh_key_id(id, is->cert.key);
	idx_remove(&d->issuers, is, &by_key);
	item_drop(d, is->cert_item);
	dfree(d, is, sizeof(*is));
	return drop_certified_by(d, id);
}

size_t mg_directory_expire(struct mg_directory *d, uint64_t now)
{
	size_t n = 0;

	for (size_t i = d->issuers.n; i-- > 0;) {
		struct mg_dir_member *is = d->issuers.v[i];
		if (mg_mesh_check_time(0, is->cert.not_after, now) == -MG_MESH_EEXPIRED) {
			n += issuer_remove(d, is);
			i = d->issuers.n; /* restart: indexes moved */
		}
	}
	for (size_t i = d->members.n; i-- > 0;) {
		struct mg_dir_member *m = d->members.v[i];
		if (mg_mesh_check_time(0, m->cert.not_after, now) == -MG_MESH_EEXPIRED) {
			member_remove(d, m);
			n++;
		}
	}
	return n;
}

/* ---- certificates ---- */

static void serial_key(uint8_t out[16], const uint8_t id[MG_MESH_KEY_ID_LEN], uint64_t serial)
{
	memcpy(out, id, MG_MESH_KEY_ID_LEN);
	put32(out + 8, (uint32_t)(serial >> 32));
	put32(out + 12, (uint32_t)serial);
}

static bool cert_revoked(void *ctx, const struct mg_cert *c)
{
	const struct mg_directory *d = ctx;
	uint8_t sk[16];

	serial_key(sk, c->signer_id, c->serial);
	if (idx_find(&d->tombs, c->key, &tomb_key) || idx_find(&d->tombs_serial, sk, &tomb_serial))
		return true;
	return c->role == MG_CERT_ROLE_MEMBER && idx_find(&d->tombs_wg, c->wg_key, &tomb_wg);
}

/* The issuer whose key has this key id. */
static struct mg_dir_member *issuer_by_id(const struct mg_directory *d,
					  const uint8_t id[MG_MESH_KEY_ID_LEN])
{
	uint8_t kid[MG_MESH_KEY_ID_LEN];

	for (size_t i = 0; i < d->issuers.n; i++) {
		struct mg_dir_member *is = d->issuers.v[i];
		mg_mesh_key_id(kid, is->cert.key);
		if (memcmp(kid, id, sizeof(kid)) == 0)
			return is;
	}
	return NULL;
}

const struct mg_dir_member *mg_directory_issuer(const struct mg_directory *d,
						const uint8_t signer_id[MG_MESH_KEY_ID_LEN])
{
	return issuer_by_id(d, signer_id);
}

/* True when c should replace old (same key): later not_before, then later
 * not_after, then the greater id. */
static bool newer(const struct mg_cert *c, const uint8_t id[MG_DIR_ID_LEN],
		  const struct mg_dir_member *old)
{
	if (c->not_before != old->cert.not_before)
		return c->not_before > old->cert.not_before;
	if (c->not_after != old->cert.not_after)
		return c->not_after > old->cert.not_after;
	return memcmp(id, old->cert_item->id, MG_DIR_ID_LEN) > 0;
}

/* Stores a verified certificate as a new entry of index x, or in place of
 * old. */
static int cert_store(struct mg_directory *d, struct mg_dir_member *old, struct mg_dir_index *x,
		      const struct mg_cert *c, const uint8_t *item, size_t len,
		      const uint8_t id[MG_DIR_ID_LEN])
{
	struct mg_dir_member *m = old ? old : dalloc(d, sizeof(*m));
	struct mg_dir_item *it;

	if (!m)
		return -ENOMEM;
	it = item_store(d, item, len, id);
	if (!it) {
		if (!old)
			dfree(d, m, sizeof(*m));
		return -ENOMEM;
	}
	if (old) {
		item_drop(d, old->cert_item);
		if (x == &d->members)
			idx_remove(&d->members_wg, old, &by_wg);
	}
	/* The key is set before the sorted inserts below read it. */
	m->cert = *c;
	m->cert_item = it;
	if (!old && idx_insert(d, x, m, &by_key) < 0) {
		item_drop(d, it);
		dfree(d, m, sizeof(*m));
		return -ENOMEM;
	}
	if (x == &d->members && idx_insert(d, &d->members_wg, m, &by_wg) < 0)
		return -ENOMEM; /* found by member key still; not by WireGuard key */
	return 1;
}

static int add_issuer(struct mg_directory *d, const struct mg_cert *c, const uint8_t *item,
		      size_t len, const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_cert_revocations rev = { cert_revoked, d };
	struct mg_dir_member *old = idx_find(&d->issuers, c->key, &by_key);
	int err;

	if (old && !newer(c, id, old))
		return 0;
	err = mg_cert_verify_issuer(c, d->authority, d->mesh_id, now, &rev);
	if (err < 0)
		return err;
	if (!old && d->issuers.n >= MG_DIR_ISSUERS_MAX)
		return -ENOSPC;
	return cert_store(d, old, &d->issuers, c, item, len, id);
}

static void notify_member(struct mg_directory *d, const struct mg_dir_member *before,
			  const struct mg_dir_member *m)
{
	if (!before) {
		notify(d, MG_DIR_MEMBER_ADDED, m);
	} else if (memcmp(before->cert.wg_key, m->cert.wg_key, MG_KEY_LEN) != 0) {
		notify(d, MG_DIR_MEMBER_REMOVED, before);
		notify(d, MG_DIR_MEMBER_ADDED, m);
	} else {
		notify(d, MG_DIR_MEMBER_RENEWED, m);
	}
}

static int add_member(struct mg_directory *d, const struct mg_cert *c, const uint8_t *item,
		      size_t len, const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_cert_revocations rev = { cert_revoked, d };
	struct mg_dir_member *old = idx_find(&d->members, c->key, &by_key), before;
	const struct mg_dir_member *issuer = NULL;
	int err;

	if (old && !newer(c, id, old))
		return 0;
	if (memcmp(c->signer_id, d->authority_id, MG_MESH_KEY_ID_LEN) != 0) {
		issuer = issuer_by_id(d, c->signer_id);
		if (!issuer)
			return -ENOENT;
	}
	err = mg_cert_verify(c, issuer ? &issuer->cert : NULL, d->authority, d->mesh_id, now, &rev);
	if (err < 0)
		return err;
	if (!old && d->members.n >= MG_DIR_MEMBERS_MAX)
		return -ENOSPC;
	if (old) {
		before = *old;
		before.cert_item = NULL; /* dropped by cert_store */
	}
	err = cert_store(d, old, &d->members, c, item, len, id);
	if (err > 0)
		notify_member(d, old ? &before : NULL,
			      old ? old : idx_find(&d->members, c->key, &by_key));
	return err;
}

static int add_cert(struct mg_directory *d, const uint8_t *item, size_t len,
		    const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_cert c;
	int err = mg_cert_decode(&c, item + 1, len - 1);

	if (err < 0)
		return err;
	if (memcmp(c.mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	if (c.role == MG_CERT_ROLE_ISSUER)
		return add_issuer(d, &c, item, len, id, now);
	return add_member(d, &c, item, len, id, now);
}

/* ---- revocations and departures ---- */

static bool tomb_known(const struct mg_directory *d, const struct tomb *t)
{
	return idx_find(&d->tombs, t->key, &tomb_key) &&
	       idx_find(&d->tombs_serial, t->serial, &tomb_serial) &&
	       (mg_is_zero(t->wg_key, MG_KEY_LEN) || idx_find(&d->tombs_wg, t->wg_key, &tomb_wg));
}

static int tomb_store(struct mg_directory *d, const struct tomb *proto, const uint8_t *item,
		      size_t len, const uint8_t id[MG_DIR_ID_LEN])
{
	struct tomb *t;

	if (d->tombs.n >= MG_DIR_TOMBS_MAX)
		return -ENOSPC;
	t = dalloc(d, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = *proto;
	t->item = item_store(d, item, len, id);
	if (!t->item || idx_insert(d, &d->tombs, t, &tomb_key) < 0) {
		item_drop(d, t->item);
		dfree(d, t, sizeof(*t));
		return -ENOMEM;
	}
	/* Past here a failure only weakens a secondary index. */
	(void)idx_insert(d, &d->tombs_serial, t, &tomb_serial);
	if (!mg_is_zero(t->wg_key, MG_KEY_LEN))
		(void)idx_insert(d, &d->tombs_wg, t, &tomb_wg);
	return 1;
}

/* Drops whatever the new tombstone t keeps out. */
static void tomb_apply(struct mg_directory *d, const struct tomb *t)
{
	struct mg_dir_member *m;

	while ((m = idx_find(&d->members, t->key, &by_key)))
		member_remove(d, m);
	while (!mg_is_zero(t->wg_key, MG_KEY_LEN) &&
	       (m = idx_find(&d->members_wg, t->wg_key, &by_wg)))
		member_remove(d, m);
	for (size_t i = d->members.n; i-- > 0;) {
		uint8_t sk[16];
		m = d->members.v[i];
		serial_key(sk, m->cert.signer_id, m->cert.serial);
		if (memcmp(sk, t->serial, sizeof(sk)) == 0)
			member_remove(d, m);
	}
	m = idx_find(&d->issuers, t->key, &by_key);
	if (m)
		issuer_remove(d, m);
}

/* The key that signed r, when it may: the authority, or an issuer (its
 * certificate valid at the revocation's time, its key not revoked) revoking
 * what it certified. */
static int revoke_signer(const struct mg_directory *d, const struct mg_dir_revoke *r,
			 const uint8_t **pub)
{
	uint8_t id[MG_MESH_KEY_ID_LEN];
	bool by_authority = memcmp(r->signer_id, d->authority_id, MG_MESH_KEY_ID_LEN) == 0;
	int err;

	if (by_authority != !r->by_issuer)
		return -MG_MESH_EMALFORMED;
	if (by_authority) {
		*pub = d->authority;
		return 0;
	}
	mg_mesh_key_id(id, r->issuer.key);
	if (memcmp(id, r->signer_id, sizeof(id)) != 0)
		return -MG_MESH_EMALFORMED;
	if (memcmp(r->cert_signer_id, r->signer_id, MG_MESH_KEY_ID_LEN) != 0 ||
	    idx_find(&d->issuers, r->key, &by_key))
		return -MG_MESH_ENOTISSUER;
	err = mg_cert_verify_issuer(&r->issuer, d->authority, d->mesh_id, r->time, NULL);
	if (err < 0)
		return err;
	if (mg_directory_key_revoked(d, r->issuer.key))
		return -MG_MESH_EREVOKED;
	*pub = r->issuer.key;
	return 0;
}

static int add_revoke(struct mg_directory *d, const uint8_t *item, size_t len,
		      const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_dir_revoke r;
	struct tomb t = { 0 };
	const uint8_t *pub;
	int err = mg_dir_revoke_decode(&r, item, len);

	if (err < 0)
		return err;
	if (memcmp(r.mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	memcpy(t.key, r.key, MG_ED25519_PUB_LEN);
	memcpy(t.wg_key, r.wg_key, MG_KEY_LEN);
	serial_key(t.serial, r.cert_signer_id, r.cert_serial);
	if (tomb_known(d, &t))
		return 0;
	if (r.time > now + MG_MESH_SKEW)
		return -MG_MESH_ENOTYET;
	err = revoke_signer(d, &r, &pub);
	if (err < 0)
		return err;
	if (!item_signed_by(item, len, revoke_ctx, pub))
		return -MG_MESH_ESIGNATURE;
	err = tomb_store(d, &t, item, len, id);
	if (err > 0)
		tomb_apply(d, &t);
	return err;
}

/* The departing member's certificate, checked at the departure's time: its
 * signer must be here, the window need not hold at now. */
static int depart_cert_ok(const struct mg_directory *d, const struct mg_dir_depart *p)
{
	const uint8_t *signer = d->authority;

	if (memcmp(p->cert.signer_id, d->authority_id, MG_MESH_KEY_ID_LEN) != 0) {
		const struct mg_dir_member *is = issuer_by_id(d, p->cert.signer_id);
		if (!is)
			return -ENOENT;
		signer = is->cert.key;
	}
	return mg_cert_verify(&p->cert, NULL, signer, d->mesh_id, p->time, NULL);
}

static int add_depart(struct mg_directory *d, const uint8_t *item, size_t len,
		      const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_dir_depart p;
	struct tomb t = { 0 };
	int err = mg_dir_depart_decode(&p, item, len);

	if (err < 0)
		return err;
	if (memcmp(p.mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0 ||
	    memcmp(p.cert.mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	if (mg_directory_key_revoked(d, p.cert.key))
		return 0;
	if (p.time > now + MG_MESH_SKEW)
		return -MG_MESH_ENOTYET;
	if (!item_signed_by(item, len, depart_ctx, p.cert.key))
		return -MG_MESH_ESIGNATURE;
	err = depart_cert_ok(d, &p);
	if (err < 0)
		return err;
	memcpy(t.key, p.cert.key, MG_ED25519_PUB_LEN);
	memcpy(t.wg_key, p.cert.wg_key, MG_KEY_LEN);
	serial_key(t.serial, p.cert.signer_id, p.cert.serial);
	err = tomb_store(d, &t, item, len, id);
	if (err > 0)
		tomb_apply(d, &t);
	return err;
}

/* ---- announcements ---- */

/* A member forwards only to the subnets its certificate lets it. */
static bool routes_allowed(const struct mg_dir_announce *a, const struct mg_cert *c)
{
	for (size_t i = 0; i < a->n_routes; i++) {
		bool found = false;

		for (size_t k = 0; k < c->n_routes && !found; k++)
			found = !memcmp(&a->routes[i], &c->routes[k], sizeof(c->routes[k]));
		if (!found)
			return false;
	}
	return true;
}

static int add_announce(struct mg_directory *d, const uint8_t *item, size_t len,
			const uint8_t id[MG_DIR_ID_LEN], uint64_t now)
{
	struct mg_dir_announce a;
	struct mg_dir_member *m;
	struct mg_dir_item *it;
	int err = mg_dir_announce_decode(&a, item, len);

	if (err < 0)
		return err;
	if (memcmp(a.mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	m = idx_find(&d->members, a.key, &by_key);
	if (!m)
		return -ENOENT;
	if (m->announce && a.seq <= m->announce_seq)
		return 0;
	if (a.time > now + MG_MESH_SKEW)
		return -MG_MESH_ENOTYET;
	if (!routes_allowed(&a, &m->cert))
		return -EPERM;
	if (!item_signed_by(item, len, announce_ctx, a.key))
		return -MG_MESH_ESIGNATURE;
	it = item_store(d, item, len, id);
	if (!it)
		return -ENOMEM;
	item_drop(d, m->announce);
	m->announce = it;
	m->announce_seq = a.seq;
	notify(d, MG_DIR_ENDPOINTS_CHANGED, m);
	return 1;
}

/* ---- add ---- */

int mg_directory_add(struct mg_directory *d, const uint8_t *item, size_t len, uint64_t now,
		     struct mg_dir_change *change)
{
	uint8_t id[MG_DIR_ID_LEN];
	int err;

	if (len < 2 || len > MG_DIR_ITEM_MAX)
		return -MG_MESH_EMALFORMED;
	if (item[0] < MG_DIR_CERT || item[0] > MG_DIR_ANNOUNCE)
		return -MG_MESH_EVERSION;
	mg_dir_item_id(id, item, len);
	if (idx_find(&d->items, id, &by_id))
		return 0; /* stored already: verified once is enough */
	switch (item[0]) {
	case MG_DIR_CERT:
		err = add_cert(d, item, len, id, now);
		break;
	case MG_DIR_REVOKE:
		err = add_revoke(d, item, len, id, now);
		break;
	case MG_DIR_DEPART:
		err = add_depart(d, item, len, id, now);
		break;
	default:
		err = add_announce(d, item, len, id, now);
		break;
	}
	if (err > 0 && change) {
		change->kind = item[0];
		memcpy(change->id, id, MG_DIR_ID_LEN);
	}
	return err;
}

/* ---- the blob ---- */

static const uint8_t blob_magic[4] = { 'm', 'g', 'd', '1' };

size_t mg_directory_encoded_len(const struct mg_directory *d)
{
	size_t n = MG_DIR_BLOB_HEADER + MG_DIR_BLOB_TRAILER;

	for (size_t i = 0; i < d->items.n; i++)
		n += 2 + ((const struct mg_dir_item *)d->items.v[i])->len;
	return n;
}

int mg_directory_encode(const struct mg_directory *d, uint8_t *out, size_t outlen)
{
	struct mg_mesh_buf b = writer(out, outlen);
	uint8_t sum[MG_DIR_BLOB_TRAILER] = { 0 };

	mg_mesh_put(&b, blob_magic, sizeof(blob_magic));
	mg_mesh_put(&b, d->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put(&b, d->authority, MG_ED25519_PUB_LEN);
	mg_mesh_put_u16(&b, (uint16_t)(d->items.n >> 16));
	mg_mesh_put_u16(&b, (uint16_t)d->items.n);
	/* By rank, so that each item's signer is loaded before it. */
	for (int rank = 0; rank < 4; rank++) {
		for (size_t i = 0; i < d->items.n; i++) {
			const struct mg_dir_item *it = d->items.v[i];
			if (mg_dir_item_rank(it) != rank)
				continue;
			mg_mesh_put_u16(&b, it->len);
			mg_mesh_put(&b, it->bytes, it->len);
		}
	}
	if (!b.bad)
		mg_blake2s(sum, sizeof(sum), out, (size_t)(b.p - out), NULL, 0);
	mg_mesh_put(&b, sum, sizeof(sum));
	return finish_body(&b, out);
}

/* Errors that only say time has moved on since the blob was written. */
static bool load_skippable(int err)
{
	return err == -MG_MESH_EEXPIRED || err == -MG_MESH_ENOTYET || err == -ENOENT ||
	       err == -MG_MESH_EREVOKED;
}

static int load_items(struct mg_directory *d, struct mg_mesh_buf *b, uint32_t count, uint64_t now)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	int stored = 0;

	for (uint32_t i = 0; i < count; i++) {
		uint16_t len = mg_mesh_get_u16(b);
		int err;
		if (b->bad || len > MG_DIR_ITEM_MAX)
			return -MG_MESH_EMALFORMED;
		mg_mesh_get(b, item, len);
		if (b->bad)
			return -MG_MESH_EMALFORMED;
		err = mg_directory_add(d, item, len, now, NULL);
		if (err < 0 && !load_skippable(err))
			return err;
		stored += err > 0;
	}
	return b->left == 0 ? stored : -MG_MESH_EMALFORMED;
}

int mg_directory_load(struct mg_directory *d, const uint8_t *blob, size_t len, uint64_t now)
{
	struct mg_mesh_buf b =
		reader(blob, len < MG_DIR_BLOB_TRAILER ? 0 : len - MG_DIR_BLOB_TRAILER);
	uint8_t sum[MG_DIR_BLOB_TRAILER];
	uint8_t magic[4], mesh_id[MG_MESH_ID_LEN], auth[MG_ED25519_PUB_LEN];
	uint32_t count;
	int err;

	if (len < MG_DIR_BLOB_HEADER + MG_DIR_BLOB_TRAILER)
		return -MG_MESH_EMALFORMED;
	mg_blake2s(sum, sizeof(sum), blob, len - sizeof(sum), NULL, 0);
	if (memcmp(sum, blob + len - sizeof(sum), sizeof(sum)) != 0)
		return -MG_MESH_EMALFORMED;
	mg_mesh_get(&b, magic, sizeof(magic));
	mg_mesh_get(&b, mesh_id, sizeof(mesh_id));
	mg_mesh_get(&b, auth, sizeof(auth));
	count = (uint32_t)mg_mesh_get_u16(&b) << 16;
	count |= mg_mesh_get_u16(&b);
	if (b.bad || memcmp(magic, blob_magic, sizeof(magic)) != 0)
		return -MG_MESH_EMALFORMED;
	if (memcmp(mesh_id, d->mesh_id, MG_MESH_ID_LEN) != 0 ||
	    memcmp(auth, d->authority, MG_ED25519_PUB_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	err = load_items(d, &b, count, now);
	if (err < 0) {
		mg_dir_change_cb *cb = d->change;
		void *ctx = d->change_ctx;
		mg_directory_free(d);
		mg_directory_init(d, mesh_id, auth, cb, ctx);
	}
	return err;
}
