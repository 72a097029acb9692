/* Drives the state directory's two parsers with the same arbitrary bytes:
 * mg_mesh_config_parse (mesh.json) and mg_invite_record_decode (invites/).
 * Whatever the config parser accepts must format to text that parses back
 * to the same value; whatever the record decoder accepts must encode back
 * to exactly the input (one encoding per value). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void config(const uint8_t *data, size_t size)
{
	static char text[MG_MESH_CONFIG_TEXT_MAX];
	struct mg_mesh_config c, d;
	int n;

	if (mg_mesh_config_parse(&c, (const char *)data, size) < 0)
		return;
	n = mg_mesh_config_format(text, sizeof(text), &c);
	if (n < 0 || mg_mesh_config_parse(&d, text, (size_t)n) < 0 ||
	    memcmp(&c, &d, sizeof(c)) != 0)
		abort();
}

static void record(const uint8_t *data, size_t size)
{
	uint8_t out[MG_INVITE_RECORD_MAX_LEN];
	struct mg_invite_record r;
	int n;

	if (mg_invite_record_decode(&r, data, size) < 0)
		return;
	n = mg_invite_record_encode(out, sizeof(out), &r);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort();
	mg_invite_record_wipe(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (mg_crypto_init() < 0)
		abort();
	config(data, size);
	record(data, size);
	return 0;
}
