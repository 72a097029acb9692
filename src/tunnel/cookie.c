#include "tunnel/cookie.h"
#include "crypto/blake2s.h"
#include "crypto/primitives.h"

#include <endian.h>
#include <string.h>

static void derive_key(uint8_t key[MG_KEY_SIZE], const char *label, const uint8_t pub[MG_KEY_SIZE])
{
	struct mg_blake2s_state s;
	mg_blake2s_init(&s, MG_KEY_SIZE, NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)label, strlen(label));
	mg_blake2s_update(&s, pub, MG_KEY_SIZE);
	mg_blake2s_final(&s, key);
}

static void compute_mac1(uint8_t mac1[MG_MAC_SIZE], const uint8_t *msg, size_t len,
			 const uint8_t key[MG_KEY_SIZE])
{
	mg_blake2s(mac1, MG_MAC_SIZE, msg, len - sizeof(struct mg_msg_macs), key, MG_KEY_SIZE);
}

static void compute_mac2(uint8_t mac2[MG_MAC_SIZE], const uint8_t *msg, size_t len,
			 const uint8_t cookie[MG_COOKIE_SIZE])
{
	mg_blake2s(mac2, MG_MAC_SIZE, msg, len - MG_MAC_SIZE, cookie, MG_COOKIE_SIZE);
}

static bool expired(uint64_t birth, uint64_t age, uint64_t now)
{
	return now >= birth + age;
}

void mg_cookie_checker_init(struct mg_cookie_checker *c, const uint8_t our_public[MG_KEY_SIZE])
{
	mg_wipe(c, sizeof(*c));
	derive_key(c->mac1_key, MG_LABEL_MAC1, our_public);
	derive_key(c->cookie_key, MG_LABEL_COOKIE, our_public);
}

void mg_cookie_checker_wipe(struct mg_cookie_checker *c)
{
	mg_wipe(c, sizeof(*c));
}

void mg_cookie_maker_init(struct mg_cookie_maker *m, const uint8_t peer_public[MG_KEY_SIZE])
{
	mg_wipe(m, sizeof(*m));
	derive_key(m->mac1_key, MG_LABEL_MAC1, peer_public);
	derive_key(m->cookie_key, MG_LABEL_COOKIE, peer_public);
}

static size_t source_bytes(uint8_t out[MG_COOKIE_SOURCE_MAX], const struct mg_endpoint *src)
{
	if (src->sa.sa_family == AF_INET) {
		memcpy(out, &src->in4.sin_addr, 4);
		memcpy(out + 4, &src->in4.sin_port, 2);
		return 6;
	}
	memcpy(out, &src->in6.sin6_addr, 16);
	memcpy(out + 16, &src->in6.sin6_port, 2);
	return 18;
}

/* The cookie binds the source address and port, under a secret that
 * rotates every two minutes so old cookies stop working. */
static void make_cookie(struct mg_cookie_checker *c, uint8_t cookie[MG_COOKIE_SIZE],
			const struct mg_endpoint *src, uint64_t now)
{
	uint8_t source[MG_COOKIE_SOURCE_MAX];
	size_t len = source_bytes(source, src);

	if (!c->secret_valid || expired(c->secret_birth, COOKIE_SECRET_MAX_AGE, now)) {
		mg_random_bytes(c->secret, sizeof(c->secret));
		c->secret_birth = now;
		c->secret_valid = true;
		c->cached_len = 0;
	}
	if (c->cached_len != len || memcmp(c->cached_source, source, len)) {
		mg_blake2s(c->cached_cookie, MG_COOKIE_SIZE, source, len, c->secret,
			   sizeof(c->secret));
		memcpy(c->cached_source, source, len);
		c->cached_len = (uint8_t)len;
	}
	memcpy(cookie, c->cached_cookie, MG_COOKIE_SIZE);
}

enum mg_cookie_mac_state mg_cookie_validate(struct mg_cookie_checker *c, const uint8_t *msg,
					    size_t len, const struct mg_endpoint *src,
					    bool check_cookie, uint64_t now)
{
	const struct mg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t computed[MG_MAC_SIZE];
	uint8_t cookie[MG_COOKIE_SIZE];
	enum mg_cookie_mac_state ret = MG_COOKIE_INVALID_MAC;

	compute_mac1(computed, msg, len, c->mac1_key);
	if (!mg_equal(computed, macs->mac1, MG_MAC_SIZE))
		goto out;
	ret = MG_COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(c, cookie, src, now);
	compute_mac2(computed, msg, len, cookie);
	if (mg_equal(computed, macs->mac2, MG_MAC_SIZE))
		ret = MG_COOKIE_VALID_MAC_WITH_COOKIE;
out:
	mg_wipe(cookie, sizeof(cookie));
	return ret;
}

/* A fresh random nonce, from the pool (refilled when empty). */
static void take_nonce(struct mg_cookie_checker *c, uint8_t nonce[MG_XNONCE_SIZE])
{
	if (!c->nonces_left) {
		mg_random_bytes(c->nonces, sizeof(c->nonces));
		c->nonces_left = MG_COOKIE_NONCE_POOL;
	}
	c->nonces_left--;
	memcpy(nonce, c->nonces[c->nonces_left], MG_XNONCE_SIZE);
	/* Never handed out twice. */
	memset(c->nonces[c->nonces_left], 0, MG_XNONCE_SIZE);
}

void mg_cookie_reply_create(struct mg_cookie_checker *c, struct mg_msg_cookie_reply *dst,
			    const uint8_t *msg, size_t len, uint32_t sender_index,
			    const struct mg_endpoint *src, uint64_t now)
{
	const struct mg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t cookie[MG_COOKIE_SIZE];

	dst->type = htole32(MG_MSG_COOKIE_REPLY);
	dst->receiver_index = sender_index;
	take_nonce(c, dst->nonce);
	make_cookie(c, cookie, src, now);
	mg_xaead_seal(dst->encrypted_cookie, cookie, MG_COOKIE_SIZE, macs->mac1, MG_MAC_SIZE,
		      dst->nonce, c->cookie_key);
	mg_wipe(cookie, sizeof(cookie));
}

void mg_cookie_add_macs(struct mg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now)
{
	struct mg_msg_macs *macs = (void *)(msg + len - sizeof(*macs));

	compute_mac1(macs->mac1, msg, len, m->mac1_key);
	memcpy(m->last_mac1, macs->mac1, MG_MAC_SIZE);
	m->have_sent_mac1 = true;
	if (m->cookie_valid &&
	    !expired(m->cookie_birth, COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now))
		compute_mac2(macs->mac2, msg, len, m->cookie);
	else
		memset(macs->mac2, 0, MG_MAC_SIZE);
}

bool mg_cookie_reply_consume(struct mg_cookie_maker *m, const struct mg_msg_cookie_reply *src,
			     uint64_t now)
{
	uint8_t cookie[MG_COOKIE_SIZE];

	if (!m->have_sent_mac1)
		return false;
	if (!mg_xaead_open(cookie, src->encrypted_cookie, sizeof(src->encrypted_cookie),
			   m->last_mac1, MG_MAC_SIZE, src->nonce, m->cookie_key))
		return false;
	memcpy(m->cookie, cookie, MG_COOKIE_SIZE);
	m->cookie_birth = now;
	m->cookie_valid = true;
	m->have_sent_mac1 = false;
	mg_wipe(cookie, sizeof(cookie));
	return true;
}
