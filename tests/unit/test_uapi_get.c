/* "get=1\n\n" answers exactly what wireguard-go 0.0.20220316 answers: field
 * order, which fields are left out, netip's address forms, "errno=0\n\n". */
#include "check.h"
#include "crypto/primitives.h"
#include "tunnel/uapi.h"
#include "uapi_fixture.h"

#include <arpa/inet.h>
#include <errno.h>

/* Runs one request that must be whole; returns the reply (static). */
static const char *run(struct mg_device *dev, struct sockets *s, const char *req)
{
	static struct mg_uapi_buf out;

	mg_uapi_buf_free(&out);
	CHECK_EQ(mg_uapi_handle(dev, &hooks, s, req, strlen(req), &out, NULL),
		 (long long)strlen(req));
	CHECK(mg_uapi_buf_append(&out, "", 1) == 0);
	return out.data;
}

static void expect(const char *got, const char *want)
{
	if (strcmp(got, want)) {
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
		exit(1);
	}
}

static struct mg_peer *peer_of(struct mg_device *dev, uint8_t fill)
{
	uint8_t key[MG_KEY_SIZE];
	struct mg_peer *p;

	memset(key, fill, sizeof(key));
	CHECK(mg_device_add_peer(dev, key, &p) == 0);
	return p;
}

static void allow(struct mg_peer *p, const char *cidr)
{
	struct mg_prefix pfx;

	CHECK(mg_prefix_parse(&pfx, cidr, true) == 0);
	CHECK(mg_device_peer_add_allowed_ip(p, &pfx) == 0);
}

static void empty_device(void)
{
	struct mg_device dev;
	struct sockets s = { 0 };

	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	/* No key, no port, no mark: nothing but the status. */
	expect(run(&dev, &s, "get=1\n\n"), "errno=0\n\n");
	mg_device_free(&dev);
}

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static void full_device(void)
{
	struct mg_device dev;
	struct sockets s = { .port = 51820, .mark = 0x1234 };
	uint8_t priv[MG_KEY_SIZE], psk[MG_KEY_SIZE];
	struct mg_endpoint ep;
	struct mg_peer *a, *b, *c;

	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	memset(priv, 0x48, sizeof(priv)); /* already clamped: reads back as is */
	mg_device_set_private_key(&dev, priv);
	a = peer_of(&dev, 0x11);
	b = peer_of(&dev, 0xee);
	c = peer_of(&dev, 0x22);

	memset(psk, 0xab, sizeof(psk));
	mg_device_peer_set_preshared_key(a, psk);
	CHECK(mg_endpoint_parse(&ep, "192.0.2.1:51820") == 0);
	mg_device_peer_set_endpoint(a, &ep);
	a->last_handshake.tv_sec = 1700000000;
	a->last_handshake.tv_nsec = 123456789;
	a->tx_bytes = 1428;
	a->rx_bytes = 1372;
	a->persistent_keepalive_interval = 25;
	allow(a, "10.0.0.0/24");
	allow(a, "fd00::/64");
	allow(a, "10.9.9.9/32");

	CHECK(mg_endpoint_parse(&ep, "[2001:db8:0:0:1:0:0:1]:443") == 0);
	mg_device_peer_set_endpoint(b, &ep);
	allow(b, "::ffff:192.0.2.7/128");
	allow(b, "::1.2.3.4/128"); /* netip prints ::102:304, not inet_ntop's ::1.2.3.4 */
	allow(b, "2001:db8::/32");
	allow(b, "0.0.0.0/0");

	/* c: no endpoint, no allowed IPs, nothing ever happened. */
	(void)c;

	expect(run(&dev, &s, "get=1\n\n"),
	       "private_key=" K(
		       "48") "\n"
			     "listen_port=51820\n"
			     "fwmark=4660\n"
			     "public_key=" K(
				     "11") "\n"
					   "preshared_key=" K(
						   "ab") "\n"
							 "protocol_version=1\n"
							 "endpoint=192.0.2.1:51820\n"
							 "last_handshake_time_sec=1700000000\n"
							 "last_handshake_time_nsec=123456789\n"
							 "tx_bytes=1428\n"
							 "rx_bytes=1372\n"
							 "persistent_keepalive_interval=25\n"
							 "allowed_ip=10.0.0.0/24\n"
							 "allowed_ip=fd00::/64\n"
							 "allowed_ip=10.9.9.9/32\n"
							 "public_key=" K(
								 "ee") "\n"
								       "preshared_key=" K(
									       "00") "\n"
										     "protocol_"
										     "version=1\n"
										     "endpoint=["
										     "2001:db8::1:"
										     "0:0:1]:443\n"
										     "last_"
										     "handshake_"
										     "time_sec=0\n"
										     "last_"
										     "handshake_"
										     "time_nsec=0\n"
										     "tx_bytes=0\n"
										     "rx_bytes=0\n"
										     "persistent_"
										     "keepalive_"
										     "interval=0\n"
										     "allowed_ip=::"
										     "ffff:192.0.2."
										     "7/128\n"
										     "allowed_ip=::"
										     "102:304/128\n"
										     "allowed_ip="
										     "2001:db8::/"
										     "32\n"
										     "allowed_ip=0."
										     "0.0.0/0\n"
										     "public_"
										     "key=" K(
											     "22") "\n"
												   "preshared_key=" K(
													   "00") "\n"
														 "protocol_version=1\n"
														 "last_handshake_time_sec=0\n"
														 "last_handshake_time_nsec=0\n"
														 "tx_bytes=0\n"
														 "rx_bytes=0\n"
														 "persistent_keepalive_interval=0\n"
														 "errno=0\n\n");
	mg_device_free(&dev);
}

/* netip's IPv6 text: the longest zero run (first of equals, two groups or
 * more) becomes "::"; an IPv4-mapped address keeps its dotted tail; a zone
 * given on set is not printed. */
static void address_forms(void)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "[::]:1", "[::]:1" },
		{ "[::1]:2", "[::1]:2" },
		{ "[1::]:3", "[1::]:3" },
		{ "[1:0:0:1:0:0:0:1]:4", "[1:0:0:1::1]:4" },
		{ "[1:0:0:1:0:0:1:1]:5", "[1::1:0:0:1:1]:5" },
		{ "[1:0:1:0:1:0:1:0]:6", "[1:0:1:0:1:0:1:0]:6" },
		{ "[::ffff:10.1.2.3]:7", "[::ffff:10.1.2.3]:7" },
		{ "[::10.1.2.3]:8", "[::a01:203]:8" },
		{ "[FE80::ABCD%lo]:0009", "[fe80::abcd]:9" },
		{ "0.0.0.0:0", "0.0.0.0:0" },
	};
	struct mg_device dev;
	struct sockets s = { 0 };
	char req[512], want[512];

	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(req, sizeof(req),
			 "set=1\nreplace_peers=true\npublic_key=" K("33") "\nendpoint=%s\n\n",
			 rows[i].in);
		expect(run(&dev, &s, req), "errno=0\n\n");
		snprintf(want, sizeof(want),
			 "public_key=" K("33") "\npreshared_key=" K(
				 "00") "\nprotocol_version=1\n"
				       "endpoint=%s\nlast_handshake_time_sec=0\nlast_handshake_"
				       "time_nsec=0\n"
				       "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval="
				       "0\nerrno=0\n\n",
			 rows[i].out);
		expect(run(&dev, &s, "get=1\n\n"), want);
	}
	mg_device_free(&dev);
}

/* wireguard-go reads one byte after "get=1\n" and wants the '\n'. */
static void framing(void)
{
	struct mg_device dev;
	struct sockets s = { .port = 7 };
	struct mg_uapi_buf out = { 0 };
	const char two[] = "get=1\n\nget=1\n\n";

	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	expect(run(&dev, &s, "get=1\nX"), "errno=-22\n\n");
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, "get=1\n", 6, &out, NULL), -ENODATA);
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, "get=", 4, &out, NULL), -ENODATA);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, "get=2\n\n", 7, &out, NULL), -EPROTO);
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, "get=1\r\n\n", 8, &out, NULL), -EPROTO);
	CHECK_EQ(out.len, 0);
	/* Two requests back to back: each call takes one. */
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, two, sizeof(two) - 1, &out, NULL), 7);
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &s, two + 7, sizeof(two) - 8, &out, NULL), 7);
	CHECK(mg_uapi_buf_append(&out, "", 1) == 0);
	expect(out.data, "listen_port=7\nerrno=0\n\nlisten_port=7\nerrno=0\n\n");
	mg_uapi_buf_free(&out);
	mg_device_free(&dev);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	empty_device();
	full_device();
	address_forms();
	framing();
	mg_test_pass("uapi_get");
	return 0;
}
