/* BLAKE2s as specified in RFC 7693 sections 2 and 3, HMAC over it (RFC 2104)
 * and the HKDF-style KDF of the WireGuard paper. Portable, no SIMD; the rounds
 * are unrolled (see compress) because every handshake message's mac1 goes
 * through here, flood or not. */
#include "crypto/blake2s.h"

#include <string.h>

#include <sodium.h>

/* RFC 7693 section 2.6: the SHA-256 initial values. */
static const uint32_t blake2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

/* RFC 7693 section 2.7: message word schedule, 10 rounds for BLAKE2s. */
static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* RFC 7693 section 3.1, with BLAKE2s rotations R1..R4 = 16, 12, 8, 7. A
 * macro over named words, and every round spelled out, so that all indices
 * are constants and the compiler keeps v in registers: mac1 is computed for
 * every handshake message, so under a flood this is the responder's hottest
 * code (as in the kernel's blake2s-generic.c). */
#define G(r, i, a, b, c, d)                                \
	do {                                               \
		a += b + m[blake2s_sigma[r][2 * (i)]];     \
		d = ror32(d ^ a, 16);                      \
		c += d;                                    \
		b = ror32(b ^ c, 12);                      \
		a += b + m[blake2s_sigma[r][2 * (i) + 1]]; \
		d = ror32(d ^ a, 8);                       \
		c += d;                                    \
		b = ror32(b ^ c, 7);                       \
	} while (0)

#define ROUND(r)                                   \
	do {                                       \
		G(r, 0, v[0], v[4], v[8], v[12]);  \
		G(r, 1, v[1], v[5], v[9], v[13]);  \
		G(r, 2, v[2], v[6], v[10], v[14]); \
		G(r, 3, v[3], v[7], v[11], v[15]); \
		G(r, 4, v[0], v[5], v[10], v[15]); \
		G(r, 5, v[1], v[6], v[11], v[12]); \
		G(r, 6, v[2], v[7], v[8], v[13]);  \
		G(r, 7, v[3], v[4], v[9], v[14]);  \
	} while (0)

/* RFC 7693 section 3.2: F. The caller has already added this block's length
 * to the counter t and set f[0] for the last block. */
static void compress(struct mg_blake2s_state *s, const uint8_t block[MG_BLAKE2S_BLOCK_LEN])
{
	uint32_t v[16], m[16];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];
	ROUND(0);
	ROUND(1);
	ROUND(2);
	ROUND(3);
	ROUND(4);
	ROUND(5);
	ROUND(6);
	ROUND(7);
	ROUND(8);
	ROUND(9);
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	sodium_memzero(v, sizeof(v));
	sodium_memzero(m, sizeof(m));
}

#undef ROUND
#undef G

/* The byte counter is 64 bits split over two words. */
static void count(struct mg_blake2s_state *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void mg_blake2s_init(struct mg_blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1.
	 * The rest of the block is zero for sequential hashing. */
	s->h[0] ^= 0x01010000 ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen > 0) {
		uint8_t block[MG_BLAKE2S_BLOCK_LEN] = { 0 };

		memcpy(block, key, keylen);
		mg_blake2s_update(s, block, sizeof(block));
		sodium_memzero(block, sizeof(block));
	}
}

/* The last block must be compressed with the final flag set, so a full
 * buffer is only compressed once more input shows it is not the last. */
void mg_blake2s_update(struct mg_blake2s_state *s, const uint8_t *in, size_t inlen)
{
	size_t fill = MG_BLAKE2S_BLOCK_LEN - s->buflen;

	if (inlen == 0)
		return;
	if (inlen > fill) {
		memcpy(s->buf + s->buflen, in, fill);
		count(s, MG_BLAKE2S_BLOCK_LEN);
		compress(s, s->buf);
		s->buflen = 0;
		in += fill;
		inlen -= fill;
		while (inlen > MG_BLAKE2S_BLOCK_LEN) {
			count(s, MG_BLAKE2S_BLOCK_LEN);
			compress(s, in);
			in += MG_BLAKE2S_BLOCK_LEN;
			inlen -= MG_BLAKE2S_BLOCK_LEN;
		}
	}
	memcpy(s->buf + s->buflen, in, inlen);
	s->buflen += inlen;
}

void mg_blake2s_final(struct mg_blake2s_state *s, uint8_t *out)
{
	uint8_t digest[MG_BLAKE2S_HASH_LEN];
	int i;

	count(s, (uint32_t)s->buflen);
	s->f[0] = 0xFFFFFFFF;
	memset(s->buf + s->buflen, 0, MG_BLAKE2S_BLOCK_LEN - s->buflen);
	compress(s, s->buf);
	for (i = 0; i < 8; i++)
		store32(digest + 4 * i, s->h[i]);
	memcpy(out, digest, s->outlen);
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(s, sizeof(*s));
}

void mg_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key,
		size_t keylen)
{
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, outlen, key, keylen);
	mg_blake2s_update(&s, in, inlen);
	mg_blake2s_final(&s, out);
}

/* RFC 2104 with B = 64 and L = 32. out may alias key or in: both are
 * consumed before out is written. */
void mg_hmac_blake2s(uint8_t out[MG_BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
		     const uint8_t *in, size_t inlen)
{
	uint8_t pad[MG_BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t inner[MG_BLAKE2S_HASH_LEN];
	struct mg_blake2s_state s;
	int i;

	if (keylen > MG_BLAKE2S_BLOCK_LEN)
		mg_blake2s(pad, MG_BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
	else if (keylen > 0)
		memcpy(pad, key, keylen);

	for (i = 0; i < MG_BLAKE2S_BLOCK_LEN; i++)
		pad[i] ^= 0x36;
	mg_blake2s_init(&s, MG_BLAKE2S_HASH_LEN, NULL, 0);
	mg_blake2s_update(&s, pad, MG_BLAKE2S_BLOCK_LEN);
	mg_blake2s_update(&s, in, inlen);
	mg_blake2s_final(&s, inner);

	for (i = 0; i < MG_BLAKE2S_BLOCK_LEN; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	mg_blake2s_init(&s, MG_BLAKE2S_HASH_LEN, NULL, 0);
	mg_blake2s_update(&s, pad, MG_BLAKE2S_BLOCK_LEN);
	mg_blake2s_update(&s, inner, MG_BLAKE2S_HASH_LEN);
	mg_blake2s_final(&s, out);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

/* Outputs are computed into locals and copied out last, so any output may
 * alias key or in (noise code does kdf(ck, k, NULL, ck, ...)). */
void mg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t *key, size_t keylen,
	    const uint8_t *in, size_t inlen)
{
	uint8_t prk[MG_BLAKE2S_HASH_LEN];
	uint8_t t[3][MG_BLAKE2S_HASH_LEN + 1];
	uint8_t *outs[3] = { t1, t2, t3 };
	size_t n = t3 ? 3 : t2 ? 2 : 1;
	size_t i;

	mg_hmac_blake2s(prk, key, keylen, in, inlen);
	t[0][0] = 1;
	mg_hmac_blake2s(t[0], prk, sizeof(prk), t[0], 1);
	for (i = 1; i < n; i++) {
		/* T(i) = HMAC(prk, T(i-1) || i), counting from 1. */
		memcpy(t[i], t[i - 1], MG_BLAKE2S_HASH_LEN);
		t[i][MG_BLAKE2S_HASH_LEN] = (uint8_t)(i + 1);
		mg_hmac_blake2s(t[i], prk, sizeof(prk), t[i], MG_BLAKE2S_HASH_LEN + 1);
	}
	for (i = 0; i < n; i++) {
		if (outs[i])
			memcpy(outs[i], t[i], MG_BLAKE2S_HASH_LEN);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}
