/* Punch requests (see punch.h). */
#include "mesh/punch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define COUNT_OFF  60
#define SLOTS_OFF  61
#define ADDR_LEN   16
#define SIGNED_LEN (sizeof(ctx) - 1 + MG_ED25519_PUB_LEN + MG_PUNCH_BODY_LEN)

static const char ctx[] = "mg-punch-v1";

static void put_slot(uint8_t slot[MG_PUNCH_SLOT_LEN], const struct mg_endpoint *e)
{
	bool v4 = e->sa.sa_family == AF_INET;
	uint16_t port = ntohs(v4 ? e->in4.sin_port : e->in6.sin6_port);

	memset(slot, 0, MG_PUNCH_SLOT_LEN);
	slot[0] = v4 ? 4 : 6;
	if (v4)
		memcpy(slot + 1, &e->in4.sin_addr, 4);
	else
		memcpy(slot + 1, &e->in6.sin6_addr, ADDR_LEN);
	slot[1 + ADDR_LEN] = (uint8_t)(port >> 8);
	slot[2 + ADDR_LEN] = (uint8_t)port;
}

/* The body before the signature; false for a field out of range. */
static bool put_body(uint8_t out[MG_PUNCH_BODY_LEN], const uint8_t sender[MG_ED25519_PUB_LEN],
		     const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t time_ms,
		     const struct mg_endpoint *cands, size_t n)
{
	struct mg_mesh_buf b = { .p = out, .left = COUNT_OFF };

	if (time_ms >= MG_PROBE_TIME_MAX || n > MG_PUNCH_CANDS_MAX)
		return false;
	mg_mesh_put_u8(&b, MG_CTL_MAGIC);
	mg_mesh_put_u8(&b, MG_CTL_VERSION);
	mg_mesh_put_u8(&b, MG_CTL_PUNCH);
	mg_mesh_put_u8(&b, 0);
	mg_mesh_put(&b, sender, MG_ED25519_PUB_LEN);
	mg_mesh_put(&b, nonce, MG_PROBE_NONCE_LEN);
	mg_mesh_put_u64(&b, time_ms);
	out[COUNT_OFF] = (uint8_t)n;
	memset(out + SLOTS_OFF, 0, MG_PUNCH_BODY_LEN - SLOTS_OFF);
	for (size_t i = 0; i < n; i++) {
		if (!mg_endpoint_usable(&cands[i]))
			return false;
		put_slot(out + SLOTS_OFF + i * MG_PUNCH_SLOT_LEN, &cands[i]);
	}
	return !b.bad && b.left == 0;
}

/* ctx || recipient key || body: what the signature covers. */
static void signed_bytes(uint8_t out[SIGNED_LEN], const uint8_t recipient[MG_ED25519_PUB_LEN],
			 const uint8_t body[MG_PUNCH_BODY_LEN])
{
	memcpy(out, ctx, sizeof(ctx) - 1);
	memcpy(out + sizeof(ctx) - 1, recipient, MG_ED25519_PUB_LEN);
	memcpy(out + sizeof(ctx) - 1 + MG_ED25519_PUB_LEN, body, MG_PUNCH_BODY_LEN);
}

int mg_punch_make(uint8_t *out, const uint8_t sender_sk[MG_ED25519_SECRET_LEN],
		  const uint8_t recipient_pk[MG_ED25519_PUB_LEN],
		  const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms,
		  const struct mg_endpoint *cands, size_t n)
{
	uint8_t pk[MG_ED25519_PUB_LEN], msg[SIGNED_LEN];

	mg_ed25519_public(pk, sender_sk);
	if (!put_body(out, pk, nonce, now_ms, cands, n))
		return -MG_MESH_EMALFORMED;
	signed_bytes(msg, recipient_pk, out);
	mg_ed25519_sign(out + MG_PUNCH_BODY_LEN, msg, sizeof(msg), sender_sk);
	return MG_PUNCH_LEN;
}

/* One slot into e; false when it is not a valid candidate's encoding. */
static bool get_slot(const uint8_t slot[MG_PUNCH_SLOT_LEN], struct mg_endpoint *e)
{
	static const uint8_t zeros[ADDR_LEN];
	uint16_t port = (uint16_t)(slot[1 + ADDR_LEN] << 8 | slot[2 + ADDR_LEN]);

	memset(e, 0, sizeof(*e));
	if (slot[0] == 4 && !memcmp(slot + 5, zeros, ADDR_LEN - 4)) {
		e->in4.sin_family = AF_INET;
		memcpy(&e->in4.sin_addr, slot + 1, 4);
		e->in4.sin_port = htons(port);
	} else if (slot[0] == 6) {
		e->in6.sin6_family = AF_INET6;
		memcpy(&e->in6.sin6_addr, slot + 1, ADDR_LEN);
		e->in6.sin6_port = htons(port);
	} else {
		return false;
	}
	return port != 0;
}

static bool get_slots(struct mg_punch *p, const uint8_t *buf)
{
	static const uint8_t zeros[MG_PUNCH_SLOT_LEN];

	p->n = buf[COUNT_OFF];
	if (p->n > MG_PUNCH_CANDS_MAX)
		return false;
	for (unsigned i = 0; i < MG_PUNCH_CANDS_MAX; i++) {
		const uint8_t *slot = buf + SLOTS_OFF + i * MG_PUNCH_SLOT_LEN;

		if (i < p->n ? !get_slot(slot, &p->cands[i])
			     : memcmp(slot, zeros, MG_PUNCH_SLOT_LEN) != 0)
			return false;
	}
	return true;
}

int mg_punch_parse(struct mg_punch *p, const uint8_t *buf, size_t len)
{
	struct mg_mesh_buf b = { .r = buf + MG_CTL_HEADER_LEN,
				 .left = COUNT_OFF - MG_CTL_HEADER_LEN };
	int t = mg_ctl_parse_header(buf, len);

	memset(p, 0, sizeof(*p));
	if (t < 0)
		return t;
	if (t != MG_CTL_PUNCH)
		return -ENOMSG;
	if (len != MG_PUNCH_LEN)
		return -MG_MESH_EMALFORMED;
	mg_mesh_get(&b, p->sender, MG_ED25519_PUB_LEN);
	mg_mesh_get(&b, p->nonce, MG_PROBE_NONCE_LEN);
	p->time_ms = mg_mesh_get_u64(&b);
	if (b.bad || p->time_ms >= MG_PROBE_TIME_MAX || !get_slots(p, buf)) {
		memset(p, 0, sizeof(*p));
		return -MG_MESH_EMALFORMED;
	}
	memcpy(p->signature, buf + MG_PUNCH_BODY_LEN, MG_ED25519_SIG_LEN);
	return 0;
}

int mg_punch_check(const struct mg_punch *p, const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		   const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t last_ms, uint64_t now_ms)
{
	uint8_t body[MG_PUNCH_BODY_LEN], msg[SIGNED_LEN];

	if (memcmp(p->sender, sender_pk, MG_ED25519_PUB_LEN) != 0 ||
	    !put_body(body, p->sender, p->nonce, p->time_ms, p->cands, p->n))
		return -MG_MESH_ESIGNATURE;
	if (now_ms > p->time_ms && now_ms - p->time_ms > MG_PROBE_WINDOW_MS)
		return -MG_MESH_EEXPIRED;
	if (p->time_ms > now_ms && p->time_ms - now_ms > MG_PROBE_WINDOW_MS)
		return -MG_MESH_ENOTYET;
	signed_bytes(msg, our_pk, body);
	if (!mg_ed25519_verify(p->signature, msg, sizeof(msg), sender_pk))
		return -MG_MESH_ESIGNATURE;
	/* Checked last: only a genuine message may tell us it is a replay. */
	return p->time_ms > last_ms ? 0 : -EALREADY;
}
