/* Placeholder for the embedding example of issue 10, until the real one
 * (two nodes on one loop, a handshake over caller-supplied I/O) lands: uses
 * only the public header, so the install test can build it against an
 * installed libmeshguard through pkg-config alone.
 *
 *   cc embed.c $(pkg-config --cflags --libs meshguard) -o embed && ./embed */
#include <meshguard.h>

#include <stdio.h>

int main(void)
{
	uint8_t private_key[MG_KEY_BYTES], public_key[MG_KEY_BYTES];
	char text[MG_KEY_BASE64_CHARS + 1];
	unsigned v = mg_api_version();
	int err;

	printf("meshguard %s, API %u.%u (built against %u.%u)\n", mg_version_string(), v >> 16,
	       v & 0xffff, MG_API_VERSION_MAJOR, MG_API_VERSION_MINOR);
	if ((err = mg_key_generate_private(private_key)) < 0 ||
	    (err = mg_key_public_from_private(public_key, private_key)) < 0) {
		fprintf(stderr, "embed: key generation failed (%d)\n", err);
		return 1;
	}
	mg_key_encode_base64(text, public_key);
	printf("public key %s\n", text);
	return 0;
}
