/* Relaying through a member (see relay.h). */
#include "mesh/relay.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Token buckets in thousandths of a packet or byte, so that a refill of
 * RATE per second is exactly RATE per ms. */
#define PKT_COST  UINT64_C(1000)
#define PKT_MAX	  ((uint64_t)MG_RELAY_RATE_PACKETS * MG_RELAY_BURST_MS)
#define BYTE_COST UINT64_C(1000)
#define BYTE_MAX  ((uint64_t)MG_RELAY_RATE_BYTES * MG_RELAY_BURST_MS)
#define NONE	  0 /* an index field's "no entry"; others are index + 1 */

static const char register_ctx[] = "mg-relay-register-v1";
static const char registered_ctx[] = "mg-relay-registered-v1";

struct mg_relay_entry {
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t id[MG_MESH_KEY_ID_LEN];
	struct mg_endpoint ep; /* as registered, local part too */
	bool has_ep;	       /* ep is registered and indexed */
	uint64_t expires_ms, last_time_ms;
	uint64_t pkt_tokens, byte_tokens, refilled_ms;
	uint32_t next_id, next_ep; /* chains of the two indexes */
};

/* ---- registration messages ---- */

int mg_relay_register_make(uint8_t *out, const uint8_t member_sk[MG_ED25519_SECRET_LEN],
			   const uint8_t relay_pk[MG_ED25519_PUB_LEN],
			   const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms)
{
	return mg_probe__make(out, MG_CTL_RELAY_REGISTER, register_ctx, member_sk, relay_pk, nonce,
			      now_ms);
}

int mg_relay_register_parse(struct mg_probe *p, const uint8_t *buf, size_t len)
{
	return mg_probe__parse(p, MG_CTL_RELAY_REGISTER, buf, len);
}

int mg_relay_register_verify(const struct mg_probe *p, const uint8_t member_pk[MG_ED25519_PUB_LEN],
			     const uint8_t relay_pk[MG_ED25519_PUB_LEN], uint64_t now_ms)
{
	return mg_probe__verify(p, MG_CTL_RELAY_REGISTER, register_ctx, member_pk, relay_pk,
				now_ms);
}

int mg_relay_registered_make(uint8_t *out, const uint8_t relay_sk[MG_ED25519_SECRET_LEN],
			     const uint8_t member_pk[MG_ED25519_PUB_LEN],
			     const uint8_t nonce[MG_PROBE_NONCE_LEN],
			     const struct mg_endpoint *seen)
{
	return mg_probe__ack_make(out, MG_CTL_RELAY_REGISTERED, registered_ctx, relay_sk, member_pk,
				  nonce, seen);
}

int mg_relay_registered_parse(struct mg_probe_ack *a, const uint8_t *buf, size_t len)
{
	return mg_probe__ack_parse(a, MG_CTL_RELAY_REGISTERED, buf, len);
}

int mg_relay_registered_verify(const struct mg_probe_ack *a,
			       const uint8_t relay_pk[MG_ED25519_PUB_LEN],
			       const uint8_t member_pk[MG_ED25519_PUB_LEN])
{
	return mg_probe__ack_verify(a, MG_CTL_RELAY_REGISTERED, registered_ctx, relay_pk,
				    member_pk);
}

/* ---- RELAY_DATA ---- */

void mg_relay_wrap_header(uint8_t hdr[MG_RELAY_HEADER_LEN], const uint8_t id[MG_MESH_KEY_ID_LEN])
{
	hdr[0] = MG_CTL_MAGIC;
	hdr[1] = MG_CTL_VERSION;
	hdr[2] = MG_CTL_RELAY_DATA;
	hdr[3] = 0;
	memcpy(hdr + MG_CTL_HEADER_LEN, id, MG_MESH_KEY_ID_LEN);
}

/* The checks of mg_ctl_parse_header in its order, but not its length
 * limit: RELAY_DATA is exempt (ctl.h). */
int mg_relay_parse(const uint8_t *buf, size_t len, uint8_t id[MG_MESH_KEY_ID_LEN],
		   const uint8_t **payload, size_t *payload_len)
{
	if (len < MG_CTL_HEADER_LEN || buf[0] != MG_CTL_MAGIC)
		return -MG_MESH_EMALFORMED;
	if (buf[1] != MG_CTL_VERSION)
		return -MG_MESH_EVERSION;
	if (buf[3] != 0 || buf[2] == 0)
		return -MG_MESH_EMALFORMED;
	if (buf[2] != MG_CTL_RELAY_DATA)
		return -ENOMSG;
	if (len <= MG_RELAY_HEADER_LEN || len > MG_RELAY_DATA_MAX)
		return -MG_MESH_EMALFORMED;
	memcpy(id, buf + MG_CTL_HEADER_LEN, MG_MESH_KEY_ID_LEN);
	*payload = buf + MG_RELAY_HEADER_LEN;
	*payload_len = len - MG_RELAY_HEADER_LEN;
	return 0;
}

/* ---- the table: storage and indexes ---- */

int mg_relay_table_init(struct mg_relay_table *t)
{
	memset(t, 0, sizeof(*t));
	t->entries = calloc(MG_RELAY_MEMBERS_MAX, sizeof(*t->entries));
	t->by_id = calloc(MG_RELAY_BUCKETS, sizeof(*t->by_id));
	t->by_ep = calloc(MG_RELAY_BUCKETS, sizeof(*t->by_ep));
	if (!t->entries || !t->by_id || !t->by_ep) {
		mg_relay_table_free(t);
		return -ENOMEM;
	}
	mg_random_bytes(t->hash_key, sizeof(t->hash_key));
	/* Every entry starts on the free list, chained through next_id. */
	for (uint32_t i = 0; i + 1 < MG_RELAY_MEMBERS_MAX; i++)
		t->entries[i].next_id = i + 2;
	t->free_head = 1;
	return 0;
}

void mg_relay_table_free(struct mg_relay_table *t)
{
	free(t->entries);
	free(t->by_id);
	free(t->by_ep);
	memset(t, 0, sizeof(*t));
}

static uint32_t hash(const struct mg_relay_table *t, const uint8_t *in, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t k;

	crypto_shorthash(h, in, len, t->hash_key);
	memcpy(&k, h, sizeof(k));
	return (uint32_t)(k & (MG_RELAY_BUCKETS - 1));
}

static uint32_t *id_head(struct mg_relay_table *t, const uint8_t id[MG_MESH_KEY_ID_LEN])
{
	return &t->by_id[hash(t, id, MG_MESH_KEY_ID_LEN)];
}

/* By the remote address: family, port, address (the scope id only
 * narrows a bucket's matches, mg_endpoint_equal_remote compares it). */
static uint32_t *ep_head(struct mg_relay_table *t, const struct mg_endpoint *ep)
{
	uint8_t in[19] = { 0 };

	in[0] = ep->sa.sa_family == AF_INET ? 4 : 6;
	if (ep->sa.sa_family == AF_INET) {
		memcpy(in + 1, &ep->in4.sin_port, 2);
		memcpy(in + 3, &ep->in4.sin_addr, 4);
	} else {
		memcpy(in + 1, &ep->in6.sin6_port, 2);
		memcpy(in + 3, &ep->in6.sin6_addr, 16);
	}
	return &t->by_ep[hash(t, in, sizeof(in))];
}

static struct mg_relay_entry *at(struct mg_relay_table *t, uint32_t ref)
{
	return ref == NONE ? NULL : &t->entries[ref - 1];
}

static uint32_t ref_of(const struct mg_relay_table *t, const struct mg_relay_entry *e)
{
	return (uint32_t)(e - t->entries) + 1;
}

/* Removes e from the chain starting at *head, linked through the field at
 * offset off (next_id or next_ep). */
static void unlink_from(struct mg_relay_table *t, uint32_t *head, struct mg_relay_entry *e,
			size_t off)
{
	uint32_t want = ref_of(t, e);

	for (uint32_t *link = head; *link != NONE;) {
		uint32_t *next = (uint32_t *)((char *)at(t, *link) + off);
		if (*link == want) {
			*link = *next;
			*next = NONE;
			return;
		}
		link = next;
	}
}

static void drop_ep(struct mg_relay_table *t, struct mg_relay_entry *e)
{
	if (!e->has_ep)
		return;
	unlink_from(t, ep_head(t, &e->ep), e, offsetof(struct mg_relay_entry, next_ep));
	e->has_ep = false;
}

static void set_ep(struct mg_relay_table *t, struct mg_relay_entry *e, const struct mg_endpoint *ep)
{
	uint32_t *head;

	drop_ep(t, e);
	e->ep = *ep;
	head = ep_head(t, ep);
	e->next_ep = *head;
	*head = ref_of(t, e);
	e->has_ep = true;
}

static void release(struct mg_relay_table *t, struct mg_relay_entry *e)
{
	drop_ep(t, e);
	unlink_from(t, id_head(t, e->id), e, offsetof(struct mg_relay_entry, next_id));
	memset(e, 0, sizeof(*e));
	e->next_id = t->free_head;
	t->free_head = ref_of(t, e);
	t->used--;
}

static bool live(const struct mg_relay_entry *e, uint64_t now_ms)
{
	return now_ms < e->expires_ms;
}

static struct mg_relay_entry *find_ep(struct mg_relay_table *t, const struct mg_endpoint *ep)
{
	for (struct mg_relay_entry *e = at(t, *ep_head(t, ep)); e; e = at(t, e->next_ep))
		if (mg_endpoint_equal_remote(&e->ep, ep))
			return e;
	return NULL;
}

/* A live entry with id that has an endpoint: a destination. */
static struct mg_relay_entry *find_dest(struct mg_relay_table *t,
					const uint8_t id[MG_MESH_KEY_ID_LEN], uint64_t now_ms)
{
	for (struct mg_relay_entry *e = at(t, *id_head(t, id)); e; e = at(t, e->next_id))
		if (!memcmp(e->id, id, MG_MESH_KEY_ID_LEN) && e->has_ep && live(e, now_ms))
			return e;
	return NULL;
}

/* ---- registration ---- */

/* The entry of key, or NULL; -EEXIST in *err when a live entry of another
 * key has its id. Expired entries of other keys with the id are released
 * on the way. */
static struct mg_relay_entry *find_key(struct mg_relay_table *t,
				       const uint8_t key[MG_ED25519_PUB_LEN],
				       const uint8_t id[MG_MESH_KEY_ID_LEN], uint64_t now_ms,
				       int *err)
{
	struct mg_relay_entry *e = at(t, *id_head(t, id)), *next;

	*err = 0;
	for (; e; e = next) {
		next = at(t, e->next_id);
		if (memcmp(e->id, id, MG_MESH_KEY_ID_LEN) != 0)
			continue;
		if (!memcmp(e->key, key, MG_ED25519_PUB_LEN))
			return e;
		if (live(e, now_ms)) {
			*err = -EEXIST;
			return NULL;
		}
		release(t, e);
	}
	return NULL;
}

/* A fresh entry: from the free list, else an expired one (a full table
 * costs a scan per registration, never per packet). */
static struct mg_relay_entry *take(struct mg_relay_table *t, uint64_t now_ms)
{
	struct mg_relay_entry *e = at(t, t->free_head);

	if (!e) {
		for (size_t i = 0; i < MG_RELAY_MEMBERS_MAX && !e; i++)
			if (!live(&t->entries[i], now_ms))
				e = &t->entries[i];
		if (!e)
			return NULL;
		release(t, e);
	}
	t->free_head = e->next_id;
	memset(e, 0, sizeof(*e));
	t->used++;
	return e;
}

static struct mg_relay_entry *add(struct mg_relay_table *t, const uint8_t key[MG_ED25519_PUB_LEN],
				  const uint8_t id[MG_MESH_KEY_ID_LEN], uint64_t now_ms)
{
	struct mg_relay_entry *e = take(t, now_ms);
	uint32_t *head;

	if (!e)
		return NULL;
	memcpy(e->key, key, MG_ED25519_PUB_LEN);
	memcpy(e->id, id, MG_MESH_KEY_ID_LEN);
	head = id_head(t, id);
	e->next_id = *head;
	*head = ref_of(t, e);
	e->pkt_tokens = PKT_MAX;
	e->byte_tokens = BYTE_MAX;
	e->refilled_ms = now_ms;
	return e;
}

int mg_relay_register(struct mg_relay_table *t, const uint8_t member_pk[MG_ED25519_PUB_LEN],
		      const struct mg_endpoint *from, uint64_t msg_time_ms, uint64_t now_ms)
{
	uint8_t id[MG_MESH_KEY_ID_LEN];
	struct mg_relay_entry *e, *holder;
	int err;

	if (!mg_endpoint_usable(from))
		return -EINVAL;
	mg_mesh_key_id(id, member_pk);
	e = find_key(t, member_pk, id, now_ms, &err);
	if (err < 0)
		return err;
	/* An expired entry needs no check: its last REGISTER was accepted
	 * more than MG_RELAY_TTL_MS ago, so any as old lies outside the
	 * probe window, which verify enforced. */
	if (e && live(e, now_ms) && msg_time_ms <= e->last_time_ms)
		return -EALREADY;
	if (!e && !(e = add(t, member_pk, id, now_ms)))
		return -ENOSPC;
	holder = find_ep(t, from);
	if (holder != e) {
		if (holder)
			drop_ep(t, holder);
		set_ep(t, e, from);
	} else {
		e->ep = *from; /* the same remote address; the local part may move */
	}
	e->expires_ms = now_ms + MG_RELAY_TTL_MS;
	e->last_time_ms = msg_time_ms;
	return 0;
}

void mg_relay_forget(struct mg_relay_table *t, const uint8_t member_pk[MG_ED25519_PUB_LEN])
{
	uint8_t id[MG_MESH_KEY_ID_LEN];

	mg_mesh_key_id(id, member_pk);
	for (struct mg_relay_entry *e = at(t, *id_head(t, id)); e; e = at(t, e->next_id)) {
		if (!memcmp(e->key, member_pk, MG_ED25519_PUB_LEN)) {
			release(t, e);
			return;
		}
	}
}

/* ---- forwarding ---- */

static uint64_t refill(uint64_t tokens, uint64_t per_ms, uint64_t elapsed, uint64_t max)
{
	tokens += elapsed * per_ms;
	return tokens > max ? max : tokens;
}

static bool spend(struct mg_relay_entry *s, size_t len, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > s->refilled_ms ? now_ms - s->refilled_ms : 0;
	uint64_t bytes = (uint64_t)len * BYTE_COST;

	if (elapsed > MG_RELAY_BURST_MS)
		elapsed = MG_RELAY_BURST_MS; /* the buckets are full by then; no overflow */
	s->pkt_tokens = refill(s->pkt_tokens, MG_RELAY_RATE_PACKETS, elapsed, PKT_MAX);
	s->byte_tokens = refill(s->byte_tokens, MG_RELAY_RATE_BYTES, elapsed, BYTE_MAX);
	if (now_ms > s->refilled_ms)
		s->refilled_ms = now_ms;
	if (s->pkt_tokens < PKT_COST || s->byte_tokens < bytes)
		return false;
	s->pkt_tokens -= PKT_COST;
	s->byte_tokens -= bytes;
	return true;
}

int mg_relay_route(struct mg_relay_table *t, const struct mg_endpoint *from,
		   const uint8_t dest_id[MG_MESH_KEY_ID_LEN], size_t len, uint64_t now_ms,
		   struct mg_endpoint *to, uint8_t src_id[MG_MESH_KEY_ID_LEN])
{
	struct mg_relay_entry *s, *d;

	if (len == 0 || len > MG_RELAY_DATA_MAX)
		return -MG_MESH_EMALFORMED;
	if (!mg_endpoint_usable(from))
		return -EPERM;
	s = find_ep(t, from);
	if (!s || !live(s, now_ms))
		return -EPERM;
	d = find_dest(t, dest_id, now_ms);
	if (!d)
		return -ENOENT;
	if (!spend(s, len, now_ms))
		return -EAGAIN;
	*to = d->ep;
	memcpy(src_id, s->id, MG_MESH_KEY_ID_LEN);
	return 0;
}
