/* Drives mg_bootstrap_decode (the payload a new member receives when it is
 * admitted) with arbitrary bytes. Whatever it accepts must encode back to
 * exactly the same bytes, item pointers must lie inside the input, and the
 * decoder must never read past it (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/bootstrap.h"
#include "mesh/join.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[MG_JOIN_PAYLOAD_MAX + 64];
	struct mg_bootstrap_writer w;
	struct mg_bootstrap bs;

	if (mg_bootstrap_decode(&bs, data, size) < 0)
		return 0;
	mg_bootstrap_start(&w, out, sizeof(out), bs.mesh_name, &bs.prefix4, &bs.prefix6);
	for (unsigned i = 0; i < bs.n_items; i++) {
		if (bs.items[i] < data || bs.items[i] + bs.item_len[i] > data + size)
			abort();
		if (size <= sizeof(out) && mg_bootstrap_add(&w, bs.items[i], bs.item_len[i]) < 0)
			abort();
	}
	if (size <= sizeof(out) && (sizeof(out) - w.b.left != size || memcmp(out, data, size)))
		abort();
	return 0;
}
