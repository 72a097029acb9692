/* Thin wrappers over libsodium for the primitives WireGuard uses, named and
 * sized as the protocol needs them, plus TAI64N. Call mg_crypto_init()
 * before anything else.
 *
 * Global state, and nothing else is: libsodium's and libgcrypt's process-wide
 * initialisation, done once (pthread_once) by the first mg_crypto_init() of
 * any thread; libgcrypt is left as it is when the program set it up itself.
 * Per thread: the ChaCha20-Poly1305 handle and the last key it was given,
 * opened on the thread's first use and closed when the thread exits. Every
 * function here may be called from any thread; none aborts. */
#ifndef MG_CRYPTO_PRIMITIVES_H
#define MG_CRYPTO_PRIMITIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MG_KEY_LEN	   32
#define MG_AEAD_TAG_LEN	   16
#define MG_XAEAD_NONCE_LEN 24
#define MG_TAI64N_LEN	   12
#define MG_KEY_BASE64_LEN  44 /* without the terminating NUL */
#define MG_KEY_HEX_LEN	   64

/* Ed25519 (RFC 8032) as libsodium keeps it: the secret key is the 32-byte
 * seed followed by the public key. */
#define MG_ED25519_PUB_LEN    32
#define MG_ED25519_SEED_LEN   32
#define MG_ED25519_SECRET_LEN 64
#define MG_ED25519_SIG_LEN    64

/* Thread-safe and idempotent. 0; -ENOTSUP when libgcrypt cannot give
 * ChaCha20-Poly1305 (too old, or FIPS mode, which bars ChaCha20); -ENOMEM;
 * -EIO when libsodium cannot initialise. */
int mg_crypto_init(void);

/* X25519. mg_x25519 returns false when the shared secret is all zeros (a
 * low-order point), which must abort whatever uses it. */
void mg_x25519_clamp(uint8_t key[MG_KEY_LEN]);
void mg_x25519_generate(uint8_t priv[MG_KEY_LEN], uint8_t pub[MG_KEY_LEN]);
void mg_x25519_public(uint8_t pub[MG_KEY_LEN], const uint8_t priv[MG_KEY_LEN]);
bool mg_x25519(uint8_t out[MG_KEY_LEN], const uint8_t priv[MG_KEY_LEN],
	       const uint8_t pub[MG_KEY_LEN]) __attribute__((warn_unused_result));

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes then the
 * 64-bit little-endian counter. dst has room for srclen + 16; src and dst may
 * be the same buffer. False (dst wiped) only when this thread's cipher
 * cannot be opened (libgcrypt out of memory): that one message fails. */
bool mg_aead_seal(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[MG_KEY_LEN])
	__attribute__((warn_unused_result));
/* srclen includes the tag; dst gets srclen - 16 bytes. False if forged. */
bool mg_aead_open(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[MG_KEY_LEN])
	__attribute__((warn_unused_result));

/* The calling thread's cipher keeps the last key it used, to skip setting
 * it again for the next packet; when a key's life ends (its keypair or
 * handshake is wiped), this erases it there too if it is the one kept. */
void mg_aead_forget(const uint8_t key[MG_KEY_LEN]);

/* XChaCha20-Poly1305 with a 24-byte nonce (cookie replies). */
void mg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[MG_XAEAD_NONCE_LEN], const uint8_t key[MG_KEY_LEN]);
bool mg_xaead_open(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[MG_XAEAD_NONCE_LEN], const uint8_t key[MG_KEY_LEN])
	__attribute__((warn_unused_result));

/* Ed25519 for the mesh's certificates, invitations and member messages;
 * never for WireGuard, whose keys are X25519. The caller wipes secret keys
 * with mg_wipe. */
void mg_ed25519_generate(uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t pk[MG_ED25519_PUB_LEN]);
void mg_ed25519_from_seed(uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t pk[MG_ED25519_PUB_LEN],
			  const uint8_t seed[MG_ED25519_SEED_LEN]);
void mg_ed25519_public(uint8_t pk[MG_ED25519_PUB_LEN], const uint8_t sk[MG_ED25519_SECRET_LEN]);
void mg_ed25519_sign(uint8_t sig[MG_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
		     const uint8_t sk[MG_ED25519_SECRET_LEN]);
/* False for a forged or malformed signature or a non-canonical key. */
bool mg_ed25519_verify(const uint8_t sig[MG_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
		       const uint8_t pk[MG_ED25519_PUB_LEN]) __attribute__((warn_unused_result));

/* URL-safe base64 without padding (RFC 4648 section 5). out has room for
 * mg_base64url_len(len) + 1. Decoding refuses any character outside the
 * alphabet, padding and non-zero leftover bits: 0, or -EINVAL; -EMSGSIZE
 * when more than outmax bytes would come out. */
size_t mg_base64url_len(size_t len);
void mg_base64url_encode(char *out, const uint8_t *in, size_t len);
int mg_base64url_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t inlen);

void mg_random_bytes(void *buf, size_t len);
uint32_t mg_random_u32(void);
/* Uniform in [0, upper). */
uint32_t mg_random_uniform(uint32_t upper);

void mg_wipe(void *buf, size_t len);
/* Constant time; true when equal. */
bool mg_equal(const void *a, const void *b, size_t len);
bool mg_is_zero(const void *buf, size_t len);

/* TAI64N label of a wall-clock time, with the low 24 bits of the nanoseconds
 * cleared as wireguard-go and the kernel do (limits timing leaks). */
void mg_tai64n(uint8_t out[MG_TAI64N_LEN], const struct timespec *wall);

/* Keys as wg prints them: 44 characters of standard base64 ending in '='.
 * out has room for MG_KEY_BASE64_LEN + 1. Decoding returns 0 or -EINVAL. */
void mg_key_to_base64(char *out, const uint8_t key[MG_KEY_LEN]);
int mg_key_from_base64(uint8_t key[MG_KEY_LEN], const char *in);
/* Lower-case hex (UAPI); decoding accepts either case. */
void mg_key_to_hex(char *out, const uint8_t key[MG_KEY_LEN]);
int mg_key_from_hex(uint8_t key[MG_KEY_LEN], const char *in);

#endif
