/* libsodium wrappers shaped for WireGuard, plus TAI64N and key encodings.
 * ChaCha20-Poly1305 alone comes from libgcrypt: per 1420-byte packet it costs
 * about 1.05 us here against libsodium 1.0.18's 1.35 us, and 0.23 us against
 * 0.29 us per 64-byte one (bench_crypto; see the README). Sealing and opening
 * are most of the data path's CPU time. */
#include "crypto/primitives.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

_Static_assert(MG_KEY_LEN == crypto_scalarmult_curve25519_BYTES, "X25519 key size");
_Static_assert(MG_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "AEAD key size");
_Static_assert(MG_AEAD_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "AEAD tag size");
_Static_assert(MG_AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "XAEAD tag size");
_Static_assert(MG_XAEAD_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "XAEAD nonce size");
_Static_assert(MG_KEY_BASE64_LEN + 1 ==
		       sodium_base64_ENCODED_LEN(MG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL),
	       "base64 key length");

/* One cipher handle per thread, opened on first use and closed when the
 * thread exits: giving it a new nonce per packet costs far less than opening
 * one, and no packet allocates. It keeps the last key it was given (a batch
 * of packets mostly shares one), and a copy of it to tell; mg_aead_forget()
 * clears both when that key's session ends. */
static _Thread_local gcry_cipher_hd_t aead_handle;
static _Thread_local uint8_t aead_loaded_key[MG_KEY_LEN];
static _Thread_local bool aead_key_loaded;

/* The process-wide part, done once by init_process(). */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;
static pthread_key_t handle_key; /* closes a thread's handle at its exit */

static void close_thread_handle(void *hd)
{
	gcry_cipher_close(hd);
	mg_wipe(aead_loaded_key, MG_KEY_LEN);
	aead_key_loaded = false;
	aead_handle = NULL;
}

/* libgcrypt wants its version check before anything else, once. Its secure
 * memory is not used: secrets live in our own buffers, wiped with
 * sodium_memzero, and the handle wipes its key copy on close. A program
 * that set libgcrypt up itself keeps its own settings. FIPS mode bars
 * ChaCha20. */
static int gcrypt_init(void)
{
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (!gcry_check_version(GCRYPT_VERSION))
			return -ENOTSUP;
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	return gcry_fips_mode_active() ? -ENOTSUP : 0;
}

static void init_process(void)
{
	/* sodium_init returns 1 when someone else initialised it: fine. */
	if (sodium_init() < 0) {
		init_result = -EIO;
		return;
	}
	init_result = gcrypt_init();
	if (!init_result)
		init_result = -pthread_key_create(&handle_key, close_thread_handle);
}

static int process_ready(void)
{
	int err = pthread_once(&init_once, init_process);

	return err ? -err : init_result;
}

/* Opens the calling thread's handle if it has none yet. */
static int open_aead_handle(void)
{
	gcry_error_t gerr;
	int err;

	if (aead_handle)
		return 0;
	err = process_ready();
	if (err < 0)
		return err;
	gerr = gcry_cipher_open(&aead_handle, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305, 0);
	if (gerr) {
		aead_handle = NULL;
		return gcry_err_code_to_errno(gcry_err_code(gerr)) == ENOMEM ? -ENOMEM : -ENOTSUP;
	}
	err = pthread_setspecific(handle_key, aead_handle);
	if (err) {
		gcry_cipher_close(aead_handle);
		aead_handle = NULL;
		return -err;
	}
	return 0;
}

int mg_crypto_init(void)
{
	/* The calling thread's handle opens now, so a libgcrypt that cannot
	 * give us ChaCha20-Poly1305 shows at start-up, not on a packet. */
	return open_aead_handle();
}

void mg_x25519_clamp(uint8_t key[MG_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

void mg_x25519_generate(uint8_t priv[MG_KEY_LEN], uint8_t pub[MG_KEY_LEN])
{
	randombytes_buf(priv, MG_KEY_LEN);
	mg_x25519_clamp(priv);
	mg_x25519_public(pub, priv);
}

void mg_x25519_public(uint8_t pub[MG_KEY_LEN], const uint8_t priv[MG_KEY_LEN])
{
	/* Fails only for a zero scalar after libsodium's own clamping, which
	 * cannot happen since clamping sets bit 254. */
	(void)crypto_scalarmult_curve25519_base(pub, priv);
}

bool mg_x25519(uint8_t out[MG_KEY_LEN], const uint8_t priv[MG_KEY_LEN],
	       const uint8_t pub[MG_KEY_LEN])
{
	/* libsodium returns -1 exactly when the shared secret is all zeros. */
	return crypto_scalarmult_curve25519(out, priv, pub) == 0;
}

/* WireGuard's 96-bit nonce: 32 zero bits, then the counter little-endian. */
static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* Constant time like mg_equal, in four words rather than libsodium's
 * byte-by-byte volatile loop: this runs for every packet. */
static bool same_key(const uint8_t a[MG_KEY_LEN], const uint8_t b[MG_KEY_LEN])
{
	uint64_t diff = 0;

	for (size_t i = 0; i < MG_KEY_LEN; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	return diff == 0;
}

static bool aead_load_key(gcry_cipher_hd_t hd, const uint8_t key[MG_KEY_LEN])
{
	if (aead_key_loaded && same_key(aead_loaded_key, key))
		return true;
	aead_key_loaded = false;
	if (gcry_cipher_setkey(hd, key, MG_KEY_LEN))
		return false;
	memcpy(aead_loaded_key, key, MG_KEY_LEN);
	aead_key_loaded = true;
	return true;
}

/* One handle serves every keypair: the key is set again only when it
 * changes (that saves about 5 % of a 64-byte packet's cost). */
static gcry_cipher_hd_t aead_start(const uint8_t key[MG_KEY_LEN], uint64_t counter,
				   const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	gcry_cipher_hd_t hd;

	/* Fails only in a thread whose first packet finds libgcrypt out of
	 * memory: that one operation fails. */
	if (open_aead_handle() < 0)
		return NULL;
	hd = aead_handle;
	make_nonce(nonce, counter);
	if (!aead_load_key(hd, key) || gcry_cipher_setiv(hd, nonce, sizeof(nonce)) ||
	    (adlen && gcry_cipher_authenticate(hd, ad, adlen)) || gcry_cipher_final(hd))
		return NULL;
	return hd;
}

void mg_aead_forget(const uint8_t key[MG_KEY_LEN])
{
	static const uint8_t zero[MG_KEY_LEN];

	if (!aead_key_loaded || !same_key(aead_loaded_key, key))
		return;
	/* The handle's ChaCha20 state holds the key: overwrite it. */
	(void)gcry_cipher_setkey(aead_handle, zero, MG_KEY_LEN);
	mg_wipe(aead_loaded_key, MG_KEY_LEN);
	aead_key_loaded = false;
}

/* libgcrypt works in place when given no input buffer. */
static gcry_error_t aead_crypt(gcry_cipher_hd_t hd, bool encrypt, uint8_t *dst, const uint8_t *src,
			       size_t len)
{
	const uint8_t *in = dst == src ? NULL : src;
	size_t inlen = dst == src ? 0 : len;

	if (!len)
		return 0;
	return encrypt ? gcry_cipher_encrypt(hd, dst, len, in, inlen)
		       : gcry_cipher_decrypt(hd, dst, len, in, inlen);
}

bool mg_aead_seal(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[MG_KEY_LEN])
{
	gcry_cipher_hd_t hd = aead_start(key, counter, ad, adlen);

	/* With a handle, a valid key and nonce, libgcrypt's ChaCha20-Poly1305
	 * cannot fail; the check keeps a broken library from sending garbage
	 * as if it were sealed, and dst from holding plaintext. */
	if (hd && !aead_crypt(hd, true, dst, src, srclen) &&
	    !gcry_cipher_gettag(hd, dst + srclen, MG_AEAD_TAG_LEN))
		return true;
	mg_wipe(dst, srclen + MG_AEAD_TAG_LEN);
	return false;
}

bool mg_aead_open(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[MG_KEY_LEN])
{
	gcry_cipher_hd_t hd;
	size_t len;

	if (srclen < MG_AEAD_TAG_LEN)
		return false;
	len = srclen - MG_AEAD_TAG_LEN;
	hd = aead_start(key, counter, ad, adlen);
	/* libgcrypt decrypts before it checks the tag (which sits after the
	 * len bytes written, so in place is safe): a forgery leaves zeros in
	 * dst, as libsodium would, never unauthenticated plaintext. */
	if (hd && !aead_crypt(hd, false, dst, src, len) &&
	    !gcry_cipher_checktag(hd, src + len, MG_AEAD_TAG_LEN))
		return true;
	mg_wipe(dst, len);
	return false;
}

void mg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[MG_XAEAD_NONCE_LEN], const uint8_t key[MG_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, srclen, ad, adlen, NULL, nonce,
						   key);
}

bool mg_xaead_open(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[MG_XAEAD_NONCE_LEN], const uint8_t key[MG_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, srclen, ad, adlen,
							  nonce, key) == 0;
}

void mg_ed25519_generate(uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t pk[MG_ED25519_PUB_LEN])
{
	crypto_sign_ed25519_keypair(pk, sk);
}

void mg_ed25519_from_seed(uint8_t sk[MG_ED25519_SECRET_LEN], uint8_t pk[MG_ED25519_PUB_LEN],
			  const uint8_t seed[MG_ED25519_SEED_LEN])
{
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}

void mg_ed25519_public(uint8_t pk[MG_ED25519_PUB_LEN], const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	crypto_sign_ed25519_sk_to_pk(pk, sk);
}

void mg_ed25519_sign(uint8_t sig[MG_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
		     const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	crypto_sign_ed25519_detached(sig, NULL, msg, len, sk);
}

bool mg_ed25519_verify(const uint8_t sig[MG_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
		       const uint8_t pk[MG_ED25519_PUB_LEN])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0;
}

size_t mg_base64url_len(size_t len)
{
	return sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

void mg_base64url_encode(char *out, const uint8_t *in, size_t len)
{
	sodium_bin2base64(out, mg_base64url_len(len) + 1, in, len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static bool base64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int mg_base64url_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t inlen)
{
	const char *end = NULL;

	/* libsodium's decoder takes some bytes outside the alphabet (found by
	 * fuzzing: the byte 0xc4 read as '_'), which would give one token
	 * two spellings. */
	for (size_t i = 0; i < inlen; i++)
		if (!base64url_char(in[i]))
			return -EINVAL;

	/* Every 4 characters make 3 bytes; checked first so that libsodium's
	 * "too long" and "bad character" stay apart. */
	if (inlen / 4 * 3 + (inlen % 4 ? inlen % 4 - 1 : 0) > outmax)
		return -EMSGSIZE;
	if (sodium_base642bin(out, outmax, in, inlen, NULL, outlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + inlen)
		return -EINVAL;
	return 0;
}

void mg_random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t mg_random_u32(void)
{
	return randombytes_random();
}

uint32_t mg_random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void mg_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

bool mg_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool mg_is_zero(const void *buf, size_t len)
{
	return sodium_is_zero(buf, len) == 1;
}

void mg_tai64n(uint8_t out[MG_TAI64N_LEN], const struct timespec *wall)
{
	/* TAI64 labels start at 2^62; the 10 is the TAI-UTC offset of 1970
	 * that every WireGuard implementation bakes in. */
	uint64_t secs = UINT64_C(0x400000000000000a) + (uint64_t)wall->tv_sec;
	uint32_t nsec = (uint32_t)wall->tv_nsec & ~UINT32_C(0xFFFFFF);
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void mg_key_to_base64(char *out, const uint8_t key[MG_KEY_LEN])
{
	sodium_bin2base64(out, MG_KEY_BASE64_LEN + 1, key, MG_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

/* Decodes into a local so a rejected input leaves key untouched. libsodium
 * also rejects non-zero bits in the unused tail of the last character,
 * matching wg's own decoder. */
int mg_key_from_base64(uint8_t key[MG_KEY_LEN], const char *in)
{
	uint8_t tmp[MG_KEY_LEN];
	const char *end = NULL;
	size_t len = 0;
	int ret = -EINVAL;

	if (strnlen(in, MG_KEY_BASE64_LEN + 1) != MG_KEY_BASE64_LEN)
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), in, MG_KEY_BASE64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    len == MG_KEY_LEN && end == in + MG_KEY_BASE64_LEN) {
		memcpy(key, tmp, MG_KEY_LEN);
		ret = 0;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}

void mg_key_to_hex(char *out, const uint8_t key[MG_KEY_LEN])
{
	sodium_bin2hex(out, MG_KEY_HEX_LEN + 1, key, MG_KEY_LEN);
}

int mg_key_from_hex(uint8_t key[MG_KEY_LEN], const char *in)
{
	uint8_t tmp[MG_KEY_LEN];
	const char *end = NULL;
	size_t len = 0;
	int ret = -EINVAL;

	if (strnlen(in, MG_KEY_HEX_LEN + 1) != MG_KEY_HEX_LEN)
		return -EINVAL;
	if (sodium_hex2bin(tmp, sizeof(tmp), in, MG_KEY_HEX_LEN, NULL, &len, &end) == 0 &&
	    len == MG_KEY_LEN && end == in + MG_KEY_HEX_LEN) {
		memcpy(key, tmp, MG_KEY_LEN);
		ret = 0;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}
