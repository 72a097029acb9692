/* The library-wide part of include/meshguard.h: versions, process-wide
 * initialisation, keys and log levels. The key functions are thin wrappers
 * over crypto/primitives.h, whose names (mg_key_to_base64, MG_KEY_LEN...)
 * stay internal. */
#include "meshguard.h"

#include "crypto/primitives.h"

#include <errno.h>
#include <string.h>

#ifndef MG_VERSION
#define MG_VERSION "0.1.0" /* kept in step with project(VERSION) unless CMake passes it */
#endif

_Static_assert(MG_KEY_BYTES == MG_KEY_LEN, "public and internal key sizes");
_Static_assert(MG_KEY_BASE64_CHARS == MG_KEY_BASE64_LEN, "public and internal base64 sizes");

unsigned mg_api_version(void)
{
	return MG_API_VERSION;
}

const char *mg_version_string(void)
{
	return MG_VERSION;
}

/* mg_crypto_init does the process-wide part once (pthread_once) and opens
 * the calling thread's cipher handle, so calling it again from any thread
 * is safe and cheap. -ENOTSUP, -ENOMEM or -EIO pass through. */
int mg_library_init(void)
{
	return mg_crypto_init();
}

int mg_key_generate_private(uint8_t private_key[MG_KEY_BYTES])
{
	int err = mg_library_init();

	if (err < 0)
		return err;
	mg_random_bytes(private_key, MG_KEY_BYTES);
	mg_x25519_clamp(private_key);
	return 0;
}

/* A preshared key is 32 random bytes with no structure: no clamping. */
int mg_key_generate_preshared(uint8_t psk[MG_KEY_BYTES])
{
	int err = mg_library_init();

	if (err < 0)
		return err;
	mg_random_bytes(psk, MG_KEY_BYTES);
	return 0;
}

/* X25519 clamps the scalar itself, so an unclamped key (a genpsk output)
 * gets the public key wg(8) computes for it. A clamped scalar never gives
 * the all-zero point; checked anyway, as the header promises. */
int mg_key_public_from_private(uint8_t public_key[MG_KEY_BYTES],
			       const uint8_t private_key[MG_KEY_BYTES])
{
	uint8_t pub[MG_KEY_BYTES];
	int err = mg_library_init();

	if (err < 0)
		return err;
	mg_x25519_public(pub, private_key);
	if (mg_is_zero(pub, sizeof(pub)))
		return -EINVAL;
	memcpy(public_key, pub, sizeof(pub));
	return 0;
}

void mg_key_encode_base64(char *out, const uint8_t key[MG_KEY_BYTES])
{
	mg_key_to_base64(out, key);
}

int mg_key_decode_base64(uint8_t key[MG_KEY_BYTES], const char *s)
{
	return mg_key_from_base64(key, s);
}

void mg_secret_wipe(void *buf, size_t len)
{
	mg_wipe(buf, len);
}
