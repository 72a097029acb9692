/* Drives the real configuration parser with arbitrary bytes: it must return
 * either a tree or an error message, never crash, leak or read past size. */
#include "node/wgquick.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_config c;
	char err[MG_CONFIG_ERR_LEN];
	int ret;

	ret = mg_config_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	/* Every failure explains itself; success hands back a valid tree. */
	if (ret == -EINVAL && strncmp(err, "fuzz.conf:", 10))
		abort();
	if (ret == 0 && (!c.name || !(c.flags & MG_CONFIG_HAS_PRIVATE_KEY)))
		abort();
	if (ret == 0)
		mg_config_free(&c);
	return 0;
}
