/* The public mg_wgquick_* calls, used as a program outside the library
 * would: a file parses into a handle whose port and fwmark are the file's
 * (a full tunnel's mark when a peer routes everything), a bad line comes
 * back as file:line text, a missing file as -ENOENT. */
#include "check.h"
#include "meshguard.h"

#include <errno.h>

#define IFACE "[Interface]\nPrivateKey = sNQuc1XJIaFJMoMwvwBiY5BPhCpM5KhH0vnQmS1YrX8=\n"
#define PEER  "[Peer]\nPublicKey = mHHkRpTrK6KAT8vzeFBtnOmDh4VuZ37koE1y/JJnSFs=\n"

static const struct {
	const char *text;
	uint16_t port;
	uint32_t fwmark;
} files[] = {
	{ IFACE, 0, 0 },
	{ IFACE "ListenPort = 51820\nFwMark = 9\n", 51820, 9 },
	{ IFACE PEER "AllowedIPs = 0.0.0.0/0\n", 0, 51820 },
	{ IFACE "FwMark = 9\n" PEER "AllowedIPs = ::/0\n", 0, 9 },
};

int main(void)
{
	struct mg_wgquick *q = NULL;
	char err[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		CHECK_EQ(mg_wgquick_parse("t.conf", files[i].text, strlen(files[i].text), &q, err,
					  sizeof(err)),
			 0);
		CHECK_EQ(mg_wgquick_listen_port(q), files[i].port);
		CHECK_EQ(mg_wgquick_fwmark(q), files[i].fwmark);
		CHECK_EQ(mg_wgquick_resolve(q, err, sizeof(err)), 0);
		mg_wgquick_free(q);
	}

	q = NULL;
	CHECK_EQ(mg_wgquick_parse("t.conf", IFACE "MTU = 1\n", strlen(IFACE) + 8, &q, err,
				  sizeof(err)),
		 -EINVAL);
	CHECK(q == NULL);
	CHECK(!strcmp(err, "t.conf:3: MTU \"1\" is not an MTU (expected 576-65535)"));
	CHECK_EQ(mg_wgquick_load("/nonexistent/wg0.conf", &q, err, sizeof(err)), -ENOENT);
	CHECK(q == NULL);
	CHECK(strstr(err, "/nonexistent/wg0.conf") != NULL);
	mg_wgquick_free(NULL);
	mg_test_pass("test_api_wgquick");
	return 0;
}
