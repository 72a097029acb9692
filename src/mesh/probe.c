/* Direct-path probes (see probe.h). */
#include "mesh/probe.h"

#include <arpa/inet.h>
#include <string.h>

#define PAD_OFF	       60
#define PAD_LEN	       (MG_PROBE_BODY_LEN - PAD_OFF)
#define CTX_MAX	       32
#define SIGNED_MAX     (CTX_MAX + MG_ED25519_PUB_LEN + MG_PROBE_ACK_MAX)
#define ACK_FIXED_BODY (MG_CTL_HEADER_LEN + MG_ED25519_PUB_LEN + MG_PROBE_NONCE_LEN)

static const char probe_ctx[] = "mg-probe-v1";
static const char ack_ctx[] = "mg-probe-ack-v1";

static struct mg_mesh_buf writer(uint8_t *out, size_t len)
{
	return (struct mg_mesh_buf){ .p = out, .left = len };
}

static struct mg_mesh_buf reader(const uint8_t *in, size_t len)
{
	return (struct mg_mesh_buf){ .r = in, .left = len };
}

static void put_header(struct mg_mesh_buf *b, uint8_t type)
{
	mg_mesh_put_u8(b, MG_CTL_MAGIC);
	mg_mesh_put_u8(b, MG_CTL_VERSION);
	mg_mesh_put_u8(b, type);
	mg_mesh_put_u8(b, 0);
}

/* The header of a message of the wanted type, or its error. */
static int check_header(const uint8_t *buf, size_t len, uint8_t type)
{
	int t = mg_ctl_parse_header(buf, len);

	if (t < 0)
		return t;
	return t == type ? 0 : -ENOMSG;
}

/* ctx || peer key || body: what both signatures cover. 0 or -1 (a context
 * too long, a programming error). */
static int signed_bytes(uint8_t out[SIGNED_MAX], size_t *outlen, const char *ctx,
			const uint8_t peer_pk[MG_ED25519_PUB_LEN], const uint8_t *body,
			size_t bodylen)
{
	size_t n = strlen(ctx);

	if (n > CTX_MAX || bodylen > MG_PROBE_ACK_MAX)
		return -1;
	memcpy(out, ctx, n);
	memcpy(out + n, peer_pk, MG_ED25519_PUB_LEN);
	memcpy(out + n + MG_ED25519_PUB_LEN, body, bodylen);
	*outlen = n + MG_ED25519_PUB_LEN + bodylen;
	return 0;
}

static int sign(uint8_t *out, size_t bodylen, const char *ctx,
		const uint8_t sk[MG_ED25519_SECRET_LEN], const uint8_t peer_pk[MG_ED25519_PUB_LEN])
{
	uint8_t msg[SIGNED_MAX];
	size_t n;

	if (signed_bytes(msg, &n, ctx, peer_pk, out, bodylen) < 0)
		return -MG_MESH_EMALFORMED;
	mg_ed25519_sign(out + bodylen, msg, n, sk);
	return (int)(bodylen + MG_ED25519_SIG_LEN);
}

static bool verify(const uint8_t *body, size_t bodylen, const uint8_t sig[MG_ED25519_SIG_LEN],
		   const char *ctx, const uint8_t signer_pk[MG_ED25519_PUB_LEN],
		   const uint8_t peer_pk[MG_ED25519_PUB_LEN])
{
	uint8_t msg[SIGNED_MAX];
	size_t n;

	if (signed_bytes(msg, &n, ctx, peer_pk, body, bodylen) < 0)
		return false;
	return mg_ed25519_verify(sig, msg, n, signer_pk);
}

/* ---- PROBE (and RELAY_REGISTER) ---- */

static void put_probe_body(uint8_t out[MG_PROBE_BODY_LEN], uint8_t type,
			   const uint8_t sender[MG_ED25519_PUB_LEN],
			   const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t time_ms)
{
	struct mg_mesh_buf b = writer(out, MG_PROBE_BODY_LEN);
	static const uint8_t pad[PAD_LEN];

	put_header(&b, type);
	mg_mesh_put(&b, sender, MG_ED25519_PUB_LEN);
	mg_mesh_put(&b, nonce, MG_PROBE_NONCE_LEN);
	mg_mesh_put_u64(&b, time_ms);
	mg_mesh_put(&b, pad, PAD_LEN);
}

int mg_probe__make(uint8_t *out, uint8_t type, const char *ctx,
		   const uint8_t sk[MG_ED25519_SECRET_LEN],
		   const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		   const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms)
{
	uint8_t pk[MG_ED25519_PUB_LEN];

	if (now_ms >= MG_PROBE_TIME_MAX)
		return -MG_MESH_EMALFORMED;
	mg_ed25519_public(pk, sk);
	put_probe_body(out, type, pk, nonce, now_ms);
	return sign(out, MG_PROBE_BODY_LEN, ctx, sk, peer_pk);
}

int mg_probe__parse(struct mg_probe *p, uint8_t type, const uint8_t *buf, size_t len)
{
	static const uint8_t zeros[PAD_LEN];
	struct mg_mesh_buf b = reader(buf, len);
	uint8_t hdr[MG_CTL_HEADER_LEN], pad[PAD_LEN];
	int err;

	memset(p, 0, sizeof(*p));
	err = check_header(buf, len, type);
	if (err < 0)
		return err;
	if (len != MG_PROBE_LEN)
		return -MG_MESH_EMALFORMED;
	mg_mesh_get(&b, hdr, sizeof(hdr));
	mg_mesh_get(&b, p->sender, MG_ED25519_PUB_LEN);
	mg_mesh_get(&b, p->nonce, MG_PROBE_NONCE_LEN);
	p->time_ms = mg_mesh_get_u64(&b);
	mg_mesh_get(&b, pad, PAD_LEN);
	mg_mesh_get(&b, p->signature, MG_ED25519_SIG_LEN);
	if (b.bad || b.left != 0 || p->time_ms >= MG_PROBE_TIME_MAX ||
	    memcmp(pad, zeros, PAD_LEN) != 0) {
		memset(p, 0, sizeof(*p));
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

static int check_window(uint64_t time_ms, uint64_t now_ms)
{
	if (now_ms > time_ms && now_ms - time_ms > MG_PROBE_WINDOW_MS)
		return -MG_MESH_EEXPIRED;
	if (time_ms > now_ms && time_ms - now_ms > MG_PROBE_WINDOW_MS)
		return -MG_MESH_ENOTYET;
	return 0;
}

int mg_probe__verify(const struct mg_probe *p, uint8_t type, const char *ctx,
		     const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		     const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t now_ms)
{
	uint8_t body[MG_PROBE_BODY_LEN];
	int err;

	if (memcmp(p->sender, sender_pk, MG_ED25519_PUB_LEN) != 0 ||
	    p->time_ms >= MG_PROBE_TIME_MAX)
		return -MG_MESH_ESIGNATURE;
	err = check_window(p->time_ms, now_ms);
	if (err < 0)
		return err;
	put_probe_body(body, type, p->sender, p->nonce, p->time_ms);
	if (!verify(body, sizeof(body), p->signature, ctx, sender_pk, our_pk))
		return -MG_MESH_ESIGNATURE;
	return 0;
}

/* ---- PROBE_ACK (and RELAY_REGISTERED) ---- */

/* The body before the signature; its length, or 0 for a bad endpoint. */
static size_t put_ack_body(uint8_t out[MG_PROBE_ACK_MAX], uint8_t type,
			   const uint8_t responder[MG_ED25519_PUB_LEN],
			   const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *seen)
{
	struct mg_mesh_buf b = writer(out, MG_PROBE_ACK_MAX - MG_ED25519_SIG_LEN);
	bool v4 = seen->sa.sa_family == AF_INET;

	if (!mg_endpoint_usable(seen))
		return 0;
	put_header(&b, type);
	mg_mesh_put(&b, responder, MG_ED25519_PUB_LEN);
	mg_mesh_put(&b, nonce, MG_PROBE_NONCE_LEN);
	mg_mesh_put_u8(&b, v4 ? 4 : 6);
	if (v4)
		mg_mesh_put(&b, &seen->in4.sin_addr, 4);
	else
		mg_mesh_put(&b, &seen->in6.sin6_addr, 16);
	mg_mesh_put_u16(&b, ntohs(v4 ? seen->in4.sin_port : seen->in6.sin6_port));
	return b.bad ? 0 : (size_t)(b.p - out);
}

int mg_probe__ack_make(uint8_t *out, uint8_t type, const char *ctx,
		       const uint8_t sk[MG_ED25519_SECRET_LEN],
		       const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		       const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *seen)
{
	uint8_t pk[MG_ED25519_PUB_LEN];
	size_t n;

	mg_ed25519_public(pk, sk);
	n = put_ack_body(out, type, pk, nonce, seen);
	if (n == 0)
		return -MG_MESH_EMALFORMED;
	return sign(out, n, ctx, sk, peer_pk);
}

static void get_endpoint(struct mg_mesh_buf *b, struct mg_endpoint *e)
{
	uint8_t fam = mg_mesh_get_u8(b);

	memset(e, 0, sizeof(*e));
	if (fam == 4) {
		e->in4.sin_family = AF_INET;
		mg_mesh_get(b, &e->in4.sin_addr, 4);
		e->in4.sin_port = htons(mg_mesh_get_u16(b));
	} else if (fam == 6) {
		e->in6.sin6_family = AF_INET6;
		mg_mesh_get(b, &e->in6.sin6_addr, 16);
		e->in6.sin6_port = htons(mg_mesh_get_u16(b));
	} else {
		b->bad = true;
	}
	if (!b->bad && !mg_endpoint_usable(e))
		b->bad = true;
}

int mg_probe__ack_parse(struct mg_probe_ack *a, uint8_t type, const uint8_t *buf, size_t len)
{
	struct mg_mesh_buf b = reader(buf, len);
	uint8_t hdr[MG_CTL_HEADER_LEN];
	int err;

	memset(a, 0, sizeof(*a));
	err = check_header(buf, len, type);
	if (err < 0)
		return err;
	mg_mesh_get(&b, hdr, sizeof(hdr));
	mg_mesh_get(&b, a->responder, MG_ED25519_PUB_LEN);
	mg_mesh_get(&b, a->nonce, MG_PROBE_NONCE_LEN);
	get_endpoint(&b, &a->seen);
	mg_mesh_get(&b, a->signature, MG_ED25519_SIG_LEN);
	if (b.bad || b.left != 0) {
		memset(a, 0, sizeof(*a));
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

int mg_probe__ack_verify(const struct mg_probe_ack *a, uint8_t type, const char *ctx,
			 const uint8_t responder_pk[MG_ED25519_PUB_LEN],
			 const uint8_t our_pk[MG_ED25519_PUB_LEN])
{
	uint8_t body[MG_PROBE_ACK_MAX];
	size_t n;

	if (memcmp(a->responder, responder_pk, MG_ED25519_PUB_LEN) != 0)
		return -MG_MESH_ESIGNATURE;
	n = put_ack_body(body, type, a->responder, a->nonce, &a->seen);
	if (n == 0 || !verify(body, n, a->signature, ctx, responder_pk, our_pk))
		return -MG_MESH_ESIGNATURE;
	return 0;
}

/* ---- the public wrappers ---- */

int mg_probe_make(uint8_t *out, const uint8_t sender_sk[MG_ED25519_SECRET_LEN],
		  const uint8_t recipient_pk[MG_ED25519_PUB_LEN],
		  const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms)
{
	return mg_probe__make(out, MG_CTL_PROBE, probe_ctx, sender_sk, recipient_pk, nonce, now_ms);
}

int mg_probe_parse(struct mg_probe *p, const uint8_t *buf, size_t len)
{
	return mg_probe__parse(p, MG_CTL_PROBE, buf, len);
}

int mg_probe_verify(const struct mg_probe *p, const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		    const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t now_ms)
{
	return mg_probe__verify(p, MG_CTL_PROBE, probe_ctx, sender_pk, our_pk, now_ms);
}

int mg_probe_ack_make(uint8_t *out, const uint8_t responder_sk[MG_ED25519_SECRET_LEN],
		      const uint8_t prober_pk[MG_ED25519_PUB_LEN],
		      const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *seen)
{
	return mg_probe__ack_make(out, MG_CTL_PROBE_ACK, ack_ctx, responder_sk, prober_pk, nonce,
				  seen);
}

int mg_probe_ack_parse(struct mg_probe_ack *a, const uint8_t *buf, size_t len)
{
	return mg_probe__ack_parse(a, MG_CTL_PROBE_ACK, buf, len);
}

int mg_probe_ack_verify(const struct mg_probe_ack *a,
			const uint8_t responder_pk[MG_ED25519_PUB_LEN],
			const uint8_t our_pk[MG_ED25519_PUB_LEN])
{
	return mg_probe__ack_verify(a, MG_CTL_PROBE_ACK, ack_ctx, responder_pk, our_pk);
}

/* ---- the pending set ---- */

void mg_probe_pending_init(struct mg_probe_pending *p, const uint8_t peer_pk[MG_ED25519_PUB_LEN])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->peer, peer_pk, MG_ED25519_PUB_LEN);
}

void mg_probe_pending_add(struct mg_probe_pending *p, const uint8_t nonce[MG_PROBE_NONCE_LEN],
			  const struct mg_endpoint *candidate, uint64_t now_ms)
{
	struct mg_probe_sent *slot = &p->sent[0];

	/* A free slot, else the oldest: it is the first to have expired. */
	for (size_t i = 0; i < MG_PROBE_PENDING_MAX; i++) {
		struct mg_probe_sent *s = &p->sent[i];
		if (!s->live) {
			slot = s;
			break;
		}
		if (s->sent_ms < slot->sent_ms)
			slot = s;
	}
	memcpy(slot->nonce, nonce, MG_PROBE_NONCE_LEN);
	slot->candidate = *candidate;
	slot->sent_ms = now_ms;
	slot->live = true;
}

/* The live entry with nonce, or NULL. Every slot is compared in constant
 * time, so timing tells nothing about which nonces are pending. */
static struct mg_probe_sent *find(struct mg_probe_pending *p,
				  const uint8_t nonce[MG_PROBE_NONCE_LEN])
{
	struct mg_probe_sent *hit = NULL;

	for (size_t i = 0; i < MG_PROBE_PENDING_MAX; i++) {
		bool eq = mg_equal(p->sent[i].nonce, nonce, MG_PROBE_NONCE_LEN);
		if (eq && p->sent[i].live)
			hit = &p->sent[i];
	}
	return hit;
}

int mg_probe_pending_match(struct mg_probe_pending *p, const struct mg_probe_ack *ack,
			   const struct mg_endpoint *from, uint64_t now_ms,
			   struct mg_endpoint *endpoint, uint64_t *rtt_ms)
{
	struct mg_probe_sent *s;
	uint64_t rtt;

	if (memcmp(ack->responder, p->peer, MG_ED25519_PUB_LEN) != 0)
		return -EPERM;
	s = find(p, ack->nonce);
	if (!s)
		return -ENOENT;
	rtt = now_ms >= s->sent_ms ? now_ms - s->sent_ms : 0;
	if (rtt > MG_PROBE_TIMEOUT_MS) {
		memset(s, 0, sizeof(*s));
		return -ETIMEDOUT;
	}
	if (!mg_endpoint_usable(from) || !mg_endpoint_equal_remote(from, &s->candidate))
		return -EADDRNOTAVAIL;
	*endpoint = s->candidate;
	*rtt_ms = rtt;
	memset(s, 0, sizeof(*s));
	return 0;
}
