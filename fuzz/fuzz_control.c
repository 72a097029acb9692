/* Drives mg_control_parse (requests on the local control socket) with
 * arbitrary bytes: an accepted request's length lies within the input and
 * ends with its empty line, every pair points inside it with a valid key,
 * and mg_control_get finds every pair's value again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	static char value[MG_CONTROL_VALUE_MAX + 1];
	struct mg_control_request r;
	int n = mg_control_parse(&r, buf, size);

	if (n < 0)
		return 0;
	if ((size_t)n > size || n < 2 || buf[n - 1] != '\n' || buf[n - 2] != '\n' ||
	    !r.command[0] || r.n_pairs > MG_CONTROL_PAIRS_MAX)
		abort();
	for (size_t i = 0; i < r.n_pairs; i++) {
		const struct mg_control_pair *p = &r.pairs[i];
		char key[MG_CONTROL_NAME_MAX + 1];
		size_t from = i;

		if (p->key < buf || p->value + p->value_len > buf + n || !p->key_len ||
		    p->key_len > MG_CONTROL_NAME_MAX)
			abort();
		memcpy(key, p->key, p->key_len);
		key[p->key_len] = '\0';
		if (!mg_control_get(&r, key, &from, value, sizeof(value)) ||
		    strlen(value) != p->value_len || memcmp(value, p->value, p->value_len))
			abort();
	}
	return 0;
}
