/* The input is a stream of UAPI requests, run one after another against a
 * device with a key and two peers, as a client connection would. Besides
 * memory errors it checks the promise a fuzzer can check: a get changes
 * nothing, and so does a set unless it answers errno=0 (including sets the
 * fake sockets refuse: port 1 is taken, mark 1 is not allowed). */
#include "crypto/primitives.h"
#include "tunnel/uapi.h"
#include "../tests/unit/uapi_fixture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char setup[] =
	"set=1\nprivate_key=4848484848484848484848484848484848484848484848484848484848484848\n"
	"listen_port=51820\n"
	"public_key=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n"
	"endpoint=192.0.2.1:51820\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"
	"public_key=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2\n"
	"persistent_keepalive_interval=25\nallowed_ip=10.1.0.0/16\n\n";

static void get(struct mg_device *dev, struct sockets *s, struct mg_uapi_buf *out)
{
	out->len = 0;
	if (mg_uapi_handle(dev, &hooks, s, "get=1\n\n", 7, out, NULL) != 7)
		abort();
}

static bool same(const struct mg_uapi_buf *a, const struct mg_uapi_buf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* Runs the request at data; returns its length, or 0 to stop. */
static size_t step(struct mg_device *dev, struct sockets *s, const char *data, size_t size,
		   struct mg_uapi_buf *before, struct mg_uapi_buf *after)
{
	struct mg_uapi_buf out = { 0 };
	int n;
	bool changed_ok;

	get(dev, s, before);
	n = mg_uapi_handle(dev, &hooks, s, data, size, &out, NULL);
	changed_ok = n > 0 && data[0] == 's' && out.len == 9 && !memcmp(out.data, "errno=0\n\n", 9);
	mg_uapi_buf_free(&out);
	get(dev, s, after);
	if (!changed_ok && !same(before, after))
		abort();
	return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct mg_uapi_buf before = { 0 }, after = { 0 }, out = { 0 };
	struct sockets s = { .picked_port = 40000, .busy_port = 1, .failing_mark = 1 };
	struct mg_device dev;
	size_t pos = 0, n;

	if (!ready && mg_crypto_init() < 0)
		abort();
	ready = true;
	if (mg_device_init(&dev, &mg_clock_system, &ops, NULL) < 0)
		abort();
	if (mg_uapi_handle(&dev, &hooks, &s, setup, sizeof(setup) - 1, &out, NULL) !=
	    (int)sizeof(setup) - 1)
		abort();
	while (pos < size &&
	       (n = step(&dev, &s, (const char *)data + pos, size - pos, &before, &after)))
		pos += n;
	mg_uapi_buf_free(&out);
	mg_uapi_buf_free(&before);
	mg_uapi_buf_free(&after);
	mg_device_free(&dev);
	return 0;
}
