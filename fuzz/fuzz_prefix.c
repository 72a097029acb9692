/* Drives mg_prefix_parse and mg_endpoint_parse with arbitrary text. Whatever
 * they accept must format to text that parses back to the same value, fits
 * the documented buffer sizes, and (for masked prefixes) has no host bits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_prefix(const char *s, bool mask_host_bits)
{
	struct mg_prefix p, again, masked;
	char buf[2 * MG_PREFIX_STRLEN];

	if (mg_prefix_parse(&p, s, mask_host_bits) < 0)
		return;
	if (p.family != AF_INET && p.family != AF_INET6)
		abort();
	if (p.cidr > (p.family == AF_INET ? 32 : 128))
		abort();
	masked = p;
	mg_prefix_mask(&masked);
	if (mask_host_bits && memcmp(&masked, &p, sizeof(p)))
		abort();
	mg_prefix_format(buf, sizeof(buf), &p);
	if (strlen(buf) >= MG_PREFIX_STRLEN)
		abort();
	if (mg_prefix_parse(&again, buf, false) < 0 || memcmp(&again, &p, sizeof(p)))
		abort();
}

static void check_endpoint(const char *s)
{
	struct mg_endpoint ep, again;
	char buf[2 * MG_ENDPOINT_STRLEN];

	if (mg_endpoint_parse(&ep, s) < 0)
		return;
	if (mg_endpoint_len(&ep) == 0)
		abort();
	mg_endpoint_format(buf, sizeof(buf), &ep);
	if (strlen(buf) >= MG_ENDPOINT_STRLEN)
		abort();
	if (mg_endpoint_parse(&again, buf) < 0 || !mg_endpoint_equal(&ep, &again))
		abort();
	if (memcmp(&again, &ep, sizeof(ep)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_prefix(s, true);
	check_prefix(s, false);
	check_endpoint(s);
	free(s);
	return 0;
}
