/* Gossip: rumor mongering and anti-entropy over the member directory
 * (design in gossip.h). */
#include "mesh/gossip.h"

#include <string.h>

#include "util/bytes.h"

static const char gossip_ctx[] = "mg-gossip-v1";
#define CTX_LEN (sizeof(gossip_ctx) - 1)
#define PREFIX_LEN                  \
	(CTX_LEN + MG_MESH_ID_LEN + \
	 MG_ED25519_PUB_LEN) /* what precedes the datagram in the signed message */
#define SIG_LEN	  MG_ED25519_SIG_LEN
#define IDS_MAX	  ((MG_CTL_MAX_LEN - MG_GOSSIP_HEADER_LEN - SIG_LEN - 1) / MG_DIR_ID_LEN)
#define FLAG_CERT 0x01
#define PARTIAL	  0x80
#define PEERS_MAX 16

/* One datagram being written: the cursor stops SIG_LEN short of the end. */
struct out {
	uint8_t buf[MG_CTL_MAX_LEN];
	struct mg_mesh_buf b;
};

/* Item ids a reply will carry or ask for. */
struct idlist {
	size_t n;
	uint8_t id[IDS_MAX][MG_DIR_ID_LEN];
};

void mg_gossip_config_default(struct mg_gossip_config *c)
{
	c->round_ms = 1000;
	c->round_budget = 8 * MG_CTL_MAX_LEN;
	c->fanout = 3;
	c->ae_every = 1;
	c->rumor_misses = 4;
	c->reply_max = 2;
	c->intro_rounds = 30;
}

/* Clamps what would stop the engine or overflow its arrays. */
static void clamp(struct mg_gossip_config *c)
{
	c->round_ms = c->round_ms ? c->round_ms : 1;
	c->fanout = c->fanout ? c->fanout : 1;
	if (c->fanout > PEERS_MAX)
		c->fanout = PEERS_MAX;
	c->ae_every = c->ae_every ? c->ae_every : 1;
	c->reply_max = c->reply_max ? c->reply_max : 1;
}

static uint32_t default_rand(void *ctx)
{
	(void)ctx;
	return mg_random_u32();
}

/* ---- hot items ---- */

static struct mg_gossip_hot *hot_find(struct mg_gossip *g, const uint8_t id[MG_DIR_ID_LEN])
{
	for (size_t i = 0; i < g->n_hot; i++)
		if (memcmp(g->hot[i].id, id, MG_DIR_ID_LEN) == 0)
			return &g->hot[i];
	return NULL;
}

static void hot_remove(struct mg_gossip *g, size_t i)
{
	g->hot[i] = g->hot[--g->n_hot];
}

/* A full list gives up its oldest item: anti-entropy will carry it. */
static void hot_add(struct mg_gossip *g, const uint8_t id[MG_DIR_ID_LEN])
{
	size_t oldest = 0;

	if (hot_find(g, id))
		return;
	if (g->n_hot == MG_GOSSIP_HOT_MAX) {
		for (size_t i = 1; i < g->n_hot; i++)
			if (g->hot[i].rounds > g->hot[oldest].rounds)
				oldest = i;
		hot_remove(g, oldest);
	}
	memset(&g->hot[g->n_hot], 0, sizeof(g->hot[0]));
	memcpy(g->hot[g->n_hot].id, id, MG_DIR_ID_LEN);
	g->n_hot++;
}

/* The feedback of the last round: each push that brought no request is a
 * miss; an item with enough misses, too old, or gone cools. */
static void hot_cool(struct mg_gossip *g)
{
	for (size_t i = g->n_hot; i-- > 0;) {
		struct mg_gossip_hot *h = &g->hot[i];
		uint8_t useful = h->useful < h->pushed ? h->useful : h->pushed;
		h->misses = (uint8_t)(h->misses + (h->pushed - useful));
		h->pushed = h->useful = 0;
		h->rounds++;
		if (h->misses >= g->cfg.rumor_misses || h->rounds >= MG_GOSSIP_HOT_ROUNDS ||
		    !mg_directory_item(g->dir, h->id))
			hot_remove(g, i);
	}
}

/* ---- writing datagrams ---- */

static void out_start(struct mg_gossip *g, struct out *o, uint8_t type, bool with_cert)
{
	mg_ctl_start(&o->b, o->buf, type);
	o->b.left -= SIG_LEN;
	mg_mesh_put(&o->b, g->key, MG_ED25519_PUB_LEN);
	mg_mesh_put_u64(&o->b, ++g->counter);
	mg_mesh_put_u8(&o->b, with_cert ? FLAG_CERT : 0);
	if (with_cert) {
		mg_mesh_put_u16(&o->b, (uint16_t)g->cert_len);
		mg_mesh_put(&o->b, g->cert_item, g->cert_len);
	}
}

static void signed_message(struct mg_gossip *g, uint8_t *msg, const uint8_t to[MG_ED25519_PUB_LEN],
			   const uint8_t *buf, size_t len)
{
	memcpy(msg, gossip_ctx, CTX_LEN);
	memcpy(msg + CTX_LEN, g->dir->mesh_id, MG_MESH_ID_LEN);
	memcpy(msg + CTX_LEN + MG_MESH_ID_LEN, to, MG_ED25519_PUB_LEN);
	memcpy(msg + PREFIX_LEN, buf, len);
}

static void out_send(struct mg_gossip *g, struct out *o, const uint8_t to[MG_ED25519_PUB_LEN])
{
	uint8_t msg[PREFIX_LEN + MG_CTL_MAX_LEN];
	int n = mg_ctl_finish(&o->b, o->buf);

	if (n < 0 || (size_t)n + SIG_LEN > MG_CTL_MAX_LEN)
		return;
	signed_message(g, msg, to, o->buf, (size_t)n);
	mg_ed25519_sign(o->buf + n, msg, PREFIX_LEN + (size_t)n, g->sk);
	g->stats.sent++;
	g->stats.sent_bytes += (size_t)n + SIG_LEN;
	g->send(g->ctx, to, o->buf, (size_t)n + SIG_LEN);
}

static void send_ids(struct mg_gossip *g, uint8_t type, const struct idlist *l,
		     const uint8_t to[MG_ED25519_PUB_LEN], bool with_cert)
{
	struct out o;
	uint8_t *count;

	out_start(g, &o, type, with_cert);
	count = o.b.p;
	mg_mesh_put_u8(&o.b, 0);
	/* A carried certificate leaves room for fewer ids. */
	for (size_t i = 0; i < l->n && o.b.left >= MG_DIR_ID_LEN && !o.b.bad; i++) {
		mg_mesh_put(&o.b, l->id[i], MG_DIR_ID_LEN);
		(*count)++;
	}
	out_send(g, &o, to);
}

static void sort_by_rank(const struct mg_dir_item **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const struct mg_dir_item *x = v[i];
		size_t j = i;
		for (; j > 0 && mg_dir_item_rank(v[j - 1]) > mg_dir_item_rank(x); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Sends items to `to` in ITEMS datagrams, signers first, within reply_max
 * datagrams and what is left of the round's budget. */
static void send_items(struct mg_gossip *g, const struct mg_dir_item **v, size_t n,
		       const uint8_t to[MG_ED25519_PUB_LEN])
{
	size_t i = 0;

	sort_by_rank(v, n);
	for (unsigned dgrams = 0; i < n && dgrams < g->cfg.reply_max; dgrams++) {
		struct out o;
		uint8_t *count;
		out_start(g, &o, MG_GOSSIP_ITEMS, false);
		count = o.b.p;
		mg_mesh_put_u8(&o.b, 0);
		while (i < n && (size_t)v[i]->len + 2 <= o.b.left && v[i]->len <= g->budget &&
		       *count < UINT8_MAX) {
			mg_mesh_put_u16(&o.b, v[i]->len);
			mg_mesh_put(&o.b, v[i]->bytes, v[i]->len);
			g->budget -= v[i]->len;
			(*count)++;
			i++;
		}
		if (*count == 0)
			return; /* budget spent, or nothing fits */
		out_send(g, &o, to);
	}
}

/* ---- rounds ---- */

static bool chosen(const struct mg_dir_member **peers, size_t n, const struct mg_dir_member *m)
{
	for (size_t i = 0; i < n; i++)
		if (peers[i] == m)
			return true;
	return false;
}

/* Up to want distinct random members other than us. */
static size_t pick_peers(struct mg_gossip *g, const struct mg_dir_member **peers, size_t want)
{
	size_t count = mg_directory_count(g->dir), n = 0;

	for (size_t tries = 0; count > 1 && n < want && tries < 4 * want; tries++) {
		const struct mg_dir_member *m =
			mg_directory_member(g->dir, g->rand(g->ctx) % count);
		if (memcmp(m->cert.key, g->key, MG_ED25519_PUB_LEN) != 0 && !chosen(peers, n, m))
			peers[n++] = m;
	}
	return n;
}

static void push_rumors(struct mg_gossip *g)
{
	const struct mg_dir_member *peers[PEERS_MAX];
	struct idlist l = { .n = g->n_hot };
	size_t n;

	if (g->n_hot == 0 && g->intro_left == 0)
		return;
	for (size_t i = 0; i < g->n_hot; i++)
		memcpy(l.id[i], g->hot[i].id, MG_DIR_ID_LEN);
	n = pick_peers(g, peers, g->cfg.fanout);
	for (size_t p = 0; p < n; p++)
		send_ids(g, MG_GOSSIP_RUMOR, &l, peers[p]->cert.key, g->intro_left > 0);
	for (size_t i = 0; i < g->n_hot; i++)
		g->hot[i].pushed = (uint8_t)(g->hot[i].pushed + n);
	if (g->intro_left > 0)
		g->intro_left--;
}

static void send_digest(struct mg_gossip *g)
{
	const struct mg_dir_member *peer;
	struct out o;

	if (pick_peers(g, &peer, 1) == 0)
		return;
	out_start(g, &o, MG_GOSSIP_DIGEST, false);
	mg_mesh_put(&o.b, g->dir->buckets, sizeof(g->dir->buckets));
	out_send(g, &o, peer->cert.key);
}

static void round_run(struct mg_gossip *g, uint64_t now_ms)
{
	g->stats.rounds++;
	g->budget = g->cfg.round_budget;
	if (g->counter < now_ms << 10)
		g->counter = now_ms << 10;
	hot_cool(g);
	push_rumors(g);
	if (g->stats.rounds % g->cfg.ae_every == 0)
		send_digest(g);
}

void mg_gossip_tick(struct mg_gossip *g, uint64_t now_ms)
{
	if (now_ms < g->next_round_ms)
		return;
	if (now_ms - g->next_round_ms >= g->cfg.round_ms)
		g->next_round_ms = now_ms + g->cfg.round_ms; /* after a pause: no burst */
	else
		g->next_round_ms += g->cfg.round_ms;
	round_run(g, now_ms);
}

/* ---- receiving ---- */

/* The ids of a RUMOR or REQUEST body: count, then exactly count ids. */
static int parse_ids(struct mg_mesh_buf *b, struct idlist *l)
{
	l->n = mg_mesh_get_u8(b);
	if (b->bad || l->n > IDS_MAX || b->left != l->n * MG_DIR_ID_LEN)
		return -MG_MESH_EMALFORMED;
	for (size_t i = 0; i < l->n; i++)
		mg_mesh_get(b, l->id[i], MG_DIR_ID_LEN);
	return 0;
}

static void want_missing(struct mg_gossip *g, const uint8_t *ids, size_t n, struct idlist *want)
{
	for (size_t i = 0; i < n && want->n < IDS_MAX; i++) {
		const uint8_t *id = ids + i * MG_DIR_ID_LEN;
		if (!mg_directory_item(g->dir, id))
			memcpy(want->id[want->n++], id, MG_DIR_ID_LEN);
	}
}

static int on_rumor(struct mg_gossip *g, struct mg_mesh_buf *b, const uint8_t from[32])
{
	struct idlist l, want = { 0 };

	if (parse_ids(b, &l) < 0)
		return -MG_MESH_EMALFORMED;
	want_missing(g, l.id[0], l.n, &want);
	if (want.n > 0)
		send_ids(g, MG_GOSSIP_REQUEST, &want, from, false);
	return 0;
}

static int on_request(struct mg_gossip *g, struct mg_mesh_buf *b, const uint8_t from[32])
{
	const struct mg_dir_item *v[IDS_MAX];
	struct idlist l;
	size_t n = 0;

	if (parse_ids(b, &l) < 0)
		return -MG_MESH_EMALFORMED;
	for (size_t i = 0; i < l.n; i++) {
		struct mg_gossip_hot *h = hot_find(g, l.id[i]);
		const struct mg_dir_item *it = mg_directory_item(g->dir, l.id[i]);
		if (h && h->useful < UINT8_MAX)
			h->useful++;
		if (it)
			v[n++] = it;
	}
	send_items(g, v, n, from);
	return 0;
}

static int on_items(struct mg_gossip *g, struct mg_mesh_buf *b, uint64_t now_ms)
{
	size_t count = mg_mesh_get_u8(b), fresh = 0;

	for (size_t i = 0; i < count && !b->bad; i++) {
		size_t len = mg_mesh_get_u16(b);
		struct mg_dir_change ch;
		if (b->bad || len > b->left)
			return -MG_MESH_EMALFORMED;
		/* Each item stands on its own signature: one refused item (its
		 * signer not here yet) does not spoil the others. */
		if (mg_directory_add(g->dir, b->r, len, now_ms / 1000, &ch) > 0) {
			hot_add(g, ch.id);
			g->stats.items_new++;
			fresh++;
		}
		b->r += len;
		b->left -= len;
	}
	/* News goes on at once, not at our next round: a member waiting for
	 * an endpoint (to punch a NAT) waits one hop less per member between. */
	if (fresh)
		push_rumors(g);
	return b->bad || b->left != 0 ? -MG_MESH_EMALFORMED : 0;
}

/* Our ids of bucket bkt that their (complete) list lacks. */
static size_t we_have_more(struct mg_gossip *g, unsigned bkt, const uint8_t *ids, size_t n,
			   const struct mg_dir_item **v, size_t room)
{
	size_t first, count = mg_directory_bucket(g->dir, bkt, &first), k = 0;

	for (size_t i = 0; i < count && k < room; i++) {
		const struct mg_dir_item *it = mg_directory_item_at(g->dir, first + i);
		bool listed = false;
		for (size_t j = 0; j < n && !listed; j++)
			listed = memcmp(ids + j * MG_DIR_ID_LEN, it->id, MG_DIR_ID_LEN) == 0;
		if (!listed)
			v[k++] = it;
	}
	return k;
}

static int on_ids(struct mg_gossip *g, struct mg_mesh_buf *b, const uint8_t from[32])
{
	const struct mg_dir_item *v[IDS_MAX];
	struct idlist want = { 0 };
	size_t nv = 0;

	while (b->left > 0) {
		uint8_t bkt = mg_mesh_get_u8(b);
		size_t n = mg_mesh_get_u8(b);
		const uint8_t *ids = b->r;
		if (b->bad || (bkt & ~PARTIAL) >= MG_DIR_BUCKETS || n * MG_DIR_ID_LEN > b->left)
			return -MG_MESH_EMALFORMED;
		b->r += n * MG_DIR_ID_LEN;
		b->left -= n * MG_DIR_ID_LEN;
		want_missing(g, ids, n, &want);
		if (!(bkt & PARTIAL))
			nv += we_have_more(g, bkt, ids, n, v + nv, IDS_MAX - nv);
	}
	if (want.n > 0)
		send_ids(g, MG_GOSSIP_REQUEST, &want, from, false);
	send_items(g, v, nv, from);
	return 0;
}

/* Writes bucket bkt's ids, whole, or as many as fit when it is the first
 * (then marked partial). False when it did not fit. */
static bool put_bucket(struct mg_gossip *g, struct out *o, unsigned bkt, bool first)
{
	size_t start, n = mg_directory_bucket(g->dir, bkt, &start), fit;

	if (o->b.left < 2)
		return false;
	fit = (o->b.left - 2) / MG_DIR_ID_LEN;
	if (n > fit && !first)
		return false;
	if (n > UINT8_MAX)
		fit = fit < UINT8_MAX ? fit : UINT8_MAX;
	if (n > fit) {
		mg_mesh_put_u8(&o->b, (uint8_t)(bkt | PARTIAL));
		n = fit;
	} else {
		mg_mesh_put_u8(&o->b, (uint8_t)bkt);
	}
	mg_mesh_put_u8(&o->b, (uint8_t)n);
	for (size_t i = 0; i < n; i++)
		mg_mesh_put(&o->b, mg_directory_item_at(g->dir, start + i)->id, MG_DIR_ID_LEN);
	return true;
}

/* Lists our ids in the buckets where the digests differ, starting at a
 * random one so that every bucket gets its turn. */
static int on_digest(struct mg_gossip *g, struct mg_mesh_buf *b, const uint8_t from[32])
{
	uint64_t theirs[MG_DIR_BUCKETS];
	unsigned start = g->rand(g->ctx) % MG_DIR_BUCKETS;
	bool any = false;
	struct out o;

	if (b->left != sizeof(theirs))
		return -MG_MESH_EMALFORMED;
	mg_mesh_get(b, theirs, sizeof(theirs));
	out_start(g, &o, MG_GOSSIP_IDS, false);
	for (unsigned k = 0; k < MG_DIR_BUCKETS; k++) {
		unsigned bkt = (start + k) % MG_DIR_BUCKETS;
		if (theirs[bkt] == g->dir->buckets[bkt])
			continue;
		if (!put_bucket(g, &o, bkt, !any))
			break;
		any = true;
	}
	if (any)
		out_send(g, &o, from);
	return 0;
}

/* The replay window (as WireGuard's): true when counter is new. The rx
 * fields are gossip's (directory.h). */
static bool replay_ok(struct mg_dir_member *m, uint64_t counter)
{
	uint64_t diff;

	if (counter > m->rx_counter) {
		diff = counter - m->rx_counter;
		m->rx_window = diff >= MG_GOSSIP_REPLAY_WINDOW ? 0 : m->rx_window << diff;
		m->rx_window |= 1;
		m->rx_counter = counter;
		return true;
	}
	diff = m->rx_counter - counter;
	if (diff >= MG_GOSSIP_REPLAY_WINDOW || (m->rx_window >> diff & 1))
		return false;
	m->rx_window |= UINT64_C(1) << diff;
	return true;
}

struct inbound {
	int type;
	const uint8_t *key;
	uint64_t counter;
	const uint8_t *cert;
	size_t cert_len;
	struct mg_mesh_buf body;
};

/* Framing only; nothing verified yet. */
static int parse(struct inbound *in, const uint8_t *buf, size_t len)
{
	struct mg_mesh_buf b = { .r = buf + 36, .left = 0 };
	uint8_t flags;

	in->type = mg_ctl_parse_header(buf, len);
	if (in->type < 0)
		return in->type;
	if (in->type < MG_GOSSIP_DIGEST || in->type > MG_GOSSIP_ITEMS ||
	    len < MG_GOSSIP_HEADER_LEN + SIG_LEN)
		return -MG_MESH_EMALFORMED;
	in->key = buf + 4;
	b.left = len - 36 - SIG_LEN;
	in->counter = mg_mesh_get_u64(&b);
	flags = mg_mesh_get_u8(&b);
	in->cert = NULL;
	in->cert_len = 0;
	if (flags & ~FLAG_CERT)
		return -MG_MESH_EMALFORMED;
	if (flags & FLAG_CERT) {
		in->cert_len = mg_mesh_get_u16(&b);
		in->cert = b.r;
		if (b.bad || in->cert_len > b.left || in->cert_len < 2 ||
		    in->cert[0] != MG_DIR_CERT)
			return -MG_MESH_EMALFORMED;
		b.r += in->cert_len;
		b.left -= in->cert_len;
	}
	in->body = b;
	return 0;
}

static bool signature_ok(struct mg_gossip *g, const uint8_t *buf, size_t len, const uint8_t *key)
{
	uint8_t msg[PREFIX_LEN + MG_CTL_MAX_LEN];

	signed_message(g, msg, g->key, buf, len - SIG_LEN);
	return mg_ed25519_verify(buf + len - SIG_LEN, msg, PREFIX_LEN + len - SIG_LEN, key);
}

/* Adds a carried certificate; it must be the sender's. */
static int take_cert(struct mg_gossip *g, const struct inbound *in, uint64_t now_ms)
{
	struct mg_dir_change ch;
	struct mg_cert c;
	int err;

	if (mg_cert_decode(&c, in->cert + 1, in->cert_len - 1) < 0 ||
	    memcmp(c.key, in->key, MG_ED25519_PUB_LEN) != 0)
		return -MG_MESH_EMALFORMED;
	err = mg_directory_add(g->dir, in->cert, in->cert_len, now_ms / 1000, &ch);
	if (err > 0) {
		hot_add(g, ch.id);
		g->stats.items_new++;
	}
	return err < 0 ? err : 0;
}

/* Who sent it, checked: a member (or one the carried certificate makes),
 * the signature, the replay window. */
static int authenticate(struct mg_gossip *g, const struct inbound *in, const uint8_t *buf,
			size_t len, uint64_t now_ms)
{
	const struct mg_dir_member *m = mg_directory_find(g->dir, in->key);
	int err;

	if (memcmp(in->key, g->key, MG_ED25519_PUB_LEN) == 0)
		return -EALREADY;
	if (!m && !in->cert)
		return -ENOENT;
	if (!signature_ok(g, buf, len, in->key))
		return -MG_MESH_ESIGNATURE;
	if (in->cert) {
		err = take_cert(g, in, now_ms);
		if (err < 0)
			return err;
		m = mg_directory_find(g->dir, in->key);
		if (!m)
			return -ENOENT;
	}
	if (!replay_ok((struct mg_dir_member *)m, in->counter))
		return -EALREADY;
	return 0;
}

static int dispatch(struct mg_gossip *g, struct inbound *in, uint64_t now_ms)
{
	uint8_t from[MG_ED25519_PUB_LEN];

	/* The sender may be gone after ITEMS (a revocation): keep its key. */
	memcpy(from, in->key, sizeof(from));
	switch (in->type) {
	case MG_GOSSIP_DIGEST:
		return on_digest(g, &in->body, from);
	case MG_GOSSIP_IDS:
		return on_ids(g, &in->body, from);
	case MG_GOSSIP_RUMOR:
		return on_rumor(g, &in->body, from);
	case MG_GOSSIP_REQUEST:
		return on_request(g, &in->body, from);
	default:
		return on_items(g, &in->body, now_ms);
	}
}

int mg_gossip_input(struct mg_gossip *g, const uint8_t *buf, size_t len, uint64_t now_ms,
		    uint8_t from_member_key_out[MG_ED25519_PUB_LEN])
{
	struct inbound in;
	int err = parse(&in, buf, len);

	if (err == 0)
		err = authenticate(g, &in, buf, len, now_ms);
	if (err == 0) {
		memcpy(from_member_key_out, in.key, MG_ED25519_PUB_LEN);
		err = dispatch(g, &in, now_ms);
	}
	if (err < 0) {
		g->stats.dropped++;
		return err;
	}
	g->stats.received++;
	g->stats.received_bytes += len;
	return 0;
}

/* ---- setup ---- */

int mg_gossip_publish(struct mg_gossip *g, const uint8_t *item, size_t len, uint64_t now_ms)
{
	struct mg_dir_change ch;
	int err = mg_directory_add(g->dir, item, len, now_ms / 1000, &ch);

	/* A local item (our endpoints, a revocation, a new member) leaves at
	 * once rather than at the next round: it is what others wait for. */
	if (err > 0) {
		hot_add(g, ch.id);
		push_rumors(g);
	}
	return err;
}

int mg_gossip_init(struct mg_gossip *g, struct mg_directory *dir,
		   const uint8_t sk[MG_ED25519_SECRET_LEN], const uint8_t *cert_item,
		   size_t cert_len, const struct mg_gossip_config *cfg, mg_gossip_send_cb *send,
		   mg_gossip_rand_cb *rnd, void *ctx, uint64_t now_ms)
{
	struct mg_cert c;
	int err;

	memset(g, 0, sizeof(*g));
	if (cfg)
		g->cfg = *cfg;
	else
		mg_gossip_config_default(&g->cfg);
	clamp(&g->cfg);
	mg_ed25519_public(g->key, sk);
	if (cert_len < 2 || cert_len > MG_DIR_ITEM_MAX || cert_item[0] != MG_DIR_CERT ||
	    mg_cert_decode(&c, cert_item + 1, cert_len - 1) < 0 ||
	    memcmp(c.key, g->key, MG_ED25519_PUB_LEN) != 0)
		return -MG_MESH_EMALFORMED;
	memcpy(g->sk, sk, MG_ED25519_SECRET_LEN);
	memcpy(g->cert_item, cert_item, cert_len);
	g->cert_len = cert_len;
	g->dir = dir;
	g->send = send;
	g->rand = rnd ? rnd : default_rand;
	g->ctx = ctx;
	g->counter = now_ms << 10;
	g->next_round_ms = now_ms;
	g->intro_left = g->cfg.intro_rounds;
	err = mg_gossip_publish(g, cert_item, cert_len, now_ms);
	if (err < 0)
		mg_gossip_free(g);
	return err < 0 ? err : 0;
}

void mg_gossip_free(struct mg_gossip *g)
{
	mg_wipe(g->sk, sizeof(g->sk));
}
