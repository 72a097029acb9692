/* SSDP: the M-SEARCH we send, and which answers give a root description
 * URL: only plain http on the gateway's literal address. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "nat/ssdp.h"

struct row {
	const char *reply;
	int ret;
	const char *location;
};

static const struct row rows[] = {
	{ "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
	  "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	  "LOCATION: http://10.0.0.1:5555/rootDesc.xml\r\nSERVER: x\r\n\r\n",
	  0, "http://10.0.0.1:5555/rootDesc.xml" },
	{ "HTTP/1.1 200 OK\nlocation:   http://10.0.0.1/desc  \n\n", 0, "http://10.0.0.1/desc" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1:5555\r\n\r\n", 0, "http://10.0.0.1:5555" },
	/* elsewhere: another host, a name, https, userinfo */
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.2:5555/rootDesc.xml\r\n\r\n", -EPERM, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://router.lan:5555/r.xml\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: https://10.0.0.1/r.xml\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1@10.0.0.9/r\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1:99999/r\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1:0/r\r\n\r\n", -EBADMSG, "" },
	/* not an answer, no location, two locations, empty, control bytes */
	{ "NOTIFY * HTTP/1.1\r\nLOCATION: http://10.0.0.1/r\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nST: x\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/a\r\nLOCATION: http://10.0.0.1/b\r\n",
	  -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION:\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/a b\r\n\r\n", -EBADMSG, "" },
	{ "HTTP/1.1 404 Not Found\r\nLOCATION: http://10.0.0.1/r\r\n\r\n", -EBADMSG, "" },
};

int main(void)
{
	char loc[MG_SSDP_URL_MAX], msg[512];
	struct in_addr gw;

	inet_pton(AF_INET, "10.0.0.1", &gw);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret = mg_ssdp_parse_reply(loc, (const uint8_t *)rows[i].reply,
					      strlen(rows[i].reply), gw);
		if (ret != rows[i].ret || strcmp(loc, rows[i].location))
			fprintf(stderr, "row %zu: got %d '%s'\n", i, ret, loc);
		CHECK_EQ(ret, rows[i].ret);
		CHECK(!strcmp(loc, rows[i].location));
	}

	/* An overlong URL, and an overlong answer. */
	char big[MG_SSDP_MAX_REPLY + 64];
	int n = snprintf(big, sizeof(big),
			 "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/%0300d\r\n\r\n", 0);
	CHECK_EQ(mg_ssdp_parse_reply(loc, (const uint8_t *)big, (size_t)n, gw), -EBADMSG);
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	CHECK_EQ(mg_ssdp_parse_reply(loc, (const uint8_t *)big, sizeof(big), gw), -EBADMSG);

	size_t len = mg_ssdp_msearch(msg, sizeof(msg));
	CHECK(len > 0 && len == strlen(msg));
	CHECK(!strncmp(msg, "M-SEARCH * HTTP/1.1\r\n", 21));
	CHECK(strstr(msg, "ST: " MG_SSDP_IGD_ST "\r\n") != NULL);
	CHECK(strstr(msg, "MAN: \"ssdp:discover\"\r\n") != NULL);
	CHECK(!strcmp(msg + len - 4, "\r\n\r\n"));
	CHECK_EQ(mg_ssdp_msearch(msg, 20), 0);

	struct in_addr host;
	CHECK_EQ(mg_ssdp_url_host(&host, "http://192.168.1.1:5000/x"), 0);
	CHECK_EQ(ntohl(host.s_addr), 0xc0a80101);
	CHECK_EQ(mg_ssdp_url_host(&host, "http://192.168.1.1.5/x"), -EINVAL);
	CHECK_EQ(mg_ssdp_url_host(&host, "http://[::1]/x"), -EINVAL);
	mg_test_pass("ssdp");
	return 0;
}
