/* Drives the bounded HTTP reader of UPnP answers (nat/upnp_http.h) on a
 * gateway's bytes, as they arrive in pieces: the first byte says where the
 * input is cut. What it accepts must lie inside the buffer and be
 * NUL-terminated; a prefix of an answer must never change the bytes (the
 * reader parses again when more arrive) unless it is complete. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/upnp_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(char *buf, size_t len, size_t cap, bool eof)
{
	struct mg_upnp_http_reply r;
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, buf, len);
	int ret = mg_upnp_http_parse(&r, buf, len, cap, eof);
	if (ret == 0) {
		if (r.body < buf || r.body + r.body_len >= buf + cap || r.body[r.body_len] != '\0')
			abort();
		if (r.status < 0 || r.status > 999)
			abort();
	} else if (memcmp(copy, buf, len)) {
		abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[MG_UPNP_HTTP_MAX];

	if (size < 1 || size - 1 >= sizeof(buf))
		return 0;
	size_t len = size - 1, cut = len * data[0] / 255;
	memcpy(buf, data + 1, len);
	parse(buf, cut, sizeof(buf), false);
	memcpy(buf, data + 1, len);
	parse(buf, len, sizeof(buf), data[0] & 1);
	memcpy(buf, data + 1, len);
	size_t cap = len + 1 + data[0] % 8;
	parse(buf, len, cap < sizeof(buf) ? cap : sizeof(buf), false);
	return 0;
}
