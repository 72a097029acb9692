/* BLAKE2s (RFC 7693) with keyed mode, HMAC-BLAKE2s (RFC 2104, 64-byte block)
 * and the WireGuard KDF (HKDF over HMAC-BLAKE2s). libsodium has no BLAKE2s. */
#ifndef MG_CRYPTO_BLAKE2S_H
#define MG_CRYPTO_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

#define MG_BLAKE2S_BLOCK_LEN 64
#define MG_BLAKE2S_HASH_LEN  32
#define MG_BLAKE2S_KEY_LEN   32

struct mg_blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[MG_BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* outlen is 1..32; keylen is 0..32 (0: unkeyed). */
void mg_blake2s_init(struct mg_blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen);
void mg_blake2s_update(struct mg_blake2s_state *s, const uint8_t *in, size_t inlen);
/* Writes s->outlen bytes and wipes the state. */
void mg_blake2s_final(struct mg_blake2s_state *s, uint8_t *out);
/* One shot: out gets outlen bytes of BLAKE2s(key, in). */
void mg_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key,
		size_t keylen);

/* HMAC-BLAKE2s-256. Any key length. */
void mg_hmac_blake2s(uint8_t out[MG_BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
		     const uint8_t *in, size_t inlen);

/* KDF_n(key, in) of the WireGuard paper: t1 always, t2 and t3 may be NULL
 * (KDF1, KDF2, KDF3). Each output is 32 bytes. Intermediates are wiped. */
void mg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t *key, size_t keylen,
	    const uint8_t *in, size_t inlen);

#endif
