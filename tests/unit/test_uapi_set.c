/* "set=1" does what wireguard-go 0.0.20220316 does with the same lines (each
 * case here was also run against the real wireguard-go): what wg setconf
 * sends, partial updates, peers removed and added back, allowed IPs moving
 * between peers in line order, our own key as a peer, keepalives. */
#include "check.h"
#include "crypto/primitives.h"
#include "tunnel/uapi.h"
#include "uapi_fixture.h"

#include <errno.h>
#include <net/if.h>

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define A    K("a1")
#define B    K("b2")
#define N    K("d4")

static struct mg_device dev;
static struct sockets socks = { .picked_port = 43210 };

static void fresh(void)
{
	mg_device_free(&dev);
	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	socks = (struct sockets){ .picked_port = 43210 };
	datagrams_sent = 0;
}

static const char *run(const char *req)
{
	static struct mg_uapi_buf out;

	mg_uapi_buf_free(&out);
	CHECK_EQ(mg_uapi_handle(&dev, &hooks, &socks, req, strlen(req), &out, NULL),
		 (long long)strlen(req));
	CHECK(mg_uapi_buf_append(&out, "", 1) == 0);
	return out.data;
}

static void ok(const char *req)
{
	const char *reply = run(req);

	if (strcmp(reply, "errno=0\n\n")) {
		fprintf(stderr, "request:\n%sreply: %s", req, reply);
		exit(1);
	}
}

static struct mg_peer *peer(const char *hex)
{
	uint8_t key[MG_KEY_SIZE];

	CHECK(mg_key_from_hex(key, hex) == 0);
	return mg_peer_table_lookup(&dev.peers, key);
}

/* The peer's allowed IPs in walk order, "a b c". */
static int add_ip(void *ctx, const struct mg_prefix *p)
{
	char *s = ctx, buf[MG_PREFIX_STRLEN];

	mg_prefix_format(buf, sizeof(buf), p);
	if (*s)
		strcat(s, " ");
	strcat(s, buf);
	return 0;
}

static const char *ips(const char *hex)
{
	static char s[1024];

	s[0] = '\0';
	mg_allowedips_walk_by_peer(&dev.allowedips, peer(hex), add_ip, s);
	return s;
}

static void expect_ips(const char *hex, const char *want)
{
	const char *got = ips(hex);

	if (strcmp(got, want)) {
		fprintf(stderr, "allowed IPs: got \"%s\", want \"%s\"\n", got, want);
		exit(1);
	}
}

/* Everything wg setconf sends, with a keepalive turned on. */
static void setconf(void)
{
	char ep[MG_ENDPOINT_STRLEN];

	fresh();
	ok("set=1\nprivate_key=" K(
		"48") "\nlisten_port=51820\nfwmark=7\nreplace_peers=true\n"
		      "public_key=" A "\npreshared_key=" K(
			      "55") "\nendpoint=192.0.2.1:5\n"
				    "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
				    "allowed_ip=10.0.0.1/24\nallowed_ip=fd00::1/64\n"
				    "public_key=" B
				    "\nreplace_allowed_ips=true\nallowed_ip=10.1.0.0/16\n\n");
	CHECK(dev.identity.has_identity);
	CHECK_EQ(socks.port, 51820);
	CHECK_EQ(socks.mark, 7);
	CHECK_EQ(dev.peers.count, 2);
	CHECK(dev.peers.first == peer(A) && dev.peers.last == peer(B));
	CHECK(peer(A)->handshake.preshared_key[0] == 0x55);
	mg_endpoint_format(ep, sizeof(ep), &peer(A)->endpoint);
	CHECK(!strcmp(ep, "192.0.2.1:5"));
	CHECK_EQ(peer(A)->persistent_keepalive_interval, 25);
	expect_ips(A, "10.0.0.0/24 fd00::/64"); /* host bits cleared */
	expect_ips(B, "10.1.0.0/16");
	/* Turning the keepalive on sent something at once (an initiation). */
	CHECK_EQ(datagrams_sent, 1);

	/* The same again: the same port and mark need no rebind. */
	ok("set=1\nlisten_port=51820\nfwmark=7\n\n");
	CHECK_EQ(socks.rebinds, 1);
	CHECK_EQ(socks.marks, 1);
	/* Port 0 asks for a new random port, as in wireguard-go. */
	ok("set=1\nlisten_port=0\n\n");
	CHECK_EQ(socks.rebinds, 2);
	CHECK_EQ(socks.port, 43210);
}

/* Only what is named changes; a keepalive goes out only when it turns on. */
static void partial_update(void)
{
	fresh();
	ok("set=1\nprivate_key=" K("48") "\npublic_key=" A "\nendpoint=192.0.2.1:5\n"
					 "allowed_ip=10.0.0.0/8\npreshared_key=" K("55") "\n\n");
	CHECK_EQ(datagrams_sent, 0);
	ok("set=1\npublic_key=" A "\npersistent_keepalive_interval=5\n\n");
	CHECK_EQ(datagrams_sent, 1);
	ok("set=1\npublic_key=" A "\npersistent_keepalive_interval=6\n\n");
	CHECK_EQ(datagrams_sent, 1);
	CHECK_EQ(peer(A)->persistent_keepalive_interval, 6);
	CHECK(peer(A)->handshake.preshared_key[0] == 0x55);
	expect_ips(A, "10.0.0.0/8");
	ok("set=1\npublic_key=" A "\nallowed_ip=10.1.0.0/16\n\n");
	expect_ips(A, "10.0.0.0/8 10.1.0.0/16");
	ok("set=1\npublic_key=" A "\npreshared_key=" K("00") "\n\n");
	CHECK(mg_is_zero(peer(A)->handshake.preshared_key, MG_KEY_SIZE));
	/* Upper-case hex is fine; keys always print in lower case. */
	ok("set=1\npublic_key=" K("B2") "\n\n");
	CHECK(peer(B) != NULL);
}

/* Each allowed_ip takes its prefix from whoever had it, in line order. */
static void allowed_ips_move(void)
{
	fresh();
	ok("set=1\npublic_key=" A "\nallowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\n"
	   "public_key=" B "\nallowed_ip=10.0.0.0/8\n\n");
	expect_ips(A, "10.1.0.0/16");
	expect_ips(B, "10.0.0.0/8");
	/* Taken by B, then dropped with all of B's: A does not get it back. */
	ok("set=1\npublic_key=" B "\nallowed_ip=10.1.0.0/16\nreplace_allowed_ips=true\n"
	   "allowed_ip=10.7.0.0/16\n\n");
	expect_ips(A, "");
	expect_ips(B, "10.7.0.0/16");
	/* Odd but valid prefix lengths (strconv.Atoi). */
	ok("set=1\npublic_key=" A "\nallowed_ip=10.1.0.0/+16\nallowed_ip=10.2.0.0/016\n"
	   "allowed_ip=10.3.0.0/-0\n\n");
	expect_ips(A, "10.1.0.0/16 10.2.0.0/16 0.0.0.0/0");
}

/* remove and update_only on peers that are there and peers that are not. */
static void remove_and_update_only(void)
{
	fresh();
	ok("set=1\npublic_key=" A "\nallowed_ip=10.9.0.0/16\nallowed_ip=10.8.0.0/16\n\n");
	ok("set=1\npublic_key=" N "\nupdate_only=true\nendpoint=1.1.1.1:1\n\n");
	CHECK(peer(N) == NULL);
	ok("set=1\npublic_key=" A "\nupdate_only=true\nendpoint=1.1.1.1:1\n\n");
	CHECK(peer(A)->endpoint.sa.sa_family == AF_INET);
	/* A new peer dropped by update_only (or remove) still took the
	 * prefixes listed before that line: wireguard-go inserts, then drops. */
	ok("set=1\npublic_key=" N "\nallowed_ip=10.9.0.0/16\nupdate_only=true\n"
	   "allowed_ip=10.8.0.0/16\n\n");
	CHECK(peer(N) == NULL);
	expect_ips(A, "10.8.0.0/16");
	ok("set=1\npublic_key=" B "\nremove=true\n\n");
	CHECK_EQ(dev.peers.count, 1);
	ok("set=1\npublic_key=" A "\nremove=true\nendpoint=2.2.2.2:2\n\n");
	CHECK_EQ(dev.peers.count, 0);
	CHECK_EQ(mg_allowedips_count(&dev.allowedips), 0);
}

/* Removed and added back in one request: a fresh peer, as in wireguard-go
 * (and the kernel), which is why wg setconf resets counters. */
static void remove_and_readd(void)
{
	fresh();
	ok("set=1\npublic_key=" A "\nendpoint=1.1.1.1:1\nallowed_ip=10.9.0.0/16\n\n");
	peer(A)->rx_bytes = 1000;
	ok("set=1\npublic_key=" A "\nremove=true\npublic_key=" A "\nallowed_ip=10.5.0.0/16\n\n");
	CHECK_EQ(peer(A)->rx_bytes, 0);
	CHECK_EQ(peer(A)->endpoint.sa.sa_family, 0);
	expect_ips(A, "10.5.0.0/16");
	peer(A)->rx_bytes = 1000;
	ok("set=1\nreplace_peers=true\npublic_key=" A "\n\n");
	CHECK_EQ(peer(A)->rx_bytes, 0);
	expect_ips(A, "");
	/* The same key in two blocks: both apply, in order. */
	ok("set=1\npublic_key=" A "\nendpoint=1.1.1.1:1\npublic_key=" B "\npublic_key=" A
	   "\nendpoint=2.2.2.2:2\n\n");
	CHECK_EQ(ntohl(peer(A)->endpoint.in4.sin_addr.s_addr), 0x02020202);
	CHECK(dev.peers.first == peer(A));
}

/* Public key of private key 48..48 (wg pubkey). */
#define OWN "9177b23278cbf0f3d17c36f2acc9b55e9c85f87b220a5386ec370d663e20e337"

static void own_key(void)
{
	fresh();
	/* Setting the private key drops the peer that has its public key. */
	ok("set=1\npublic_key=" OWN "\nallowed_ip=10.0.0.0/8\npublic_key=" A "\n\n");
	ok("set=1\nprivate_key=" K("48") "\n\n");
	CHECK(peer(OWN) == NULL);
	CHECK(peer(A) != NULL);
	CHECK_EQ(mg_allowedips_count(&dev.allowedips), 0);
	/* And a block for our own key is ignored. */
	ok("set=1\npublic_key=" OWN "\nendpoint=1.1.1.1:1\nallowed_ip=10.0.0.0/8\n\n");
	CHECK(peer(OWN) == NULL);
	CHECK_EQ(dev.peers.count, 1);
	/* Clamping shows: ff..ff reads back as f8ff..ff7f. */
	ok("set=1\nprivate_key=" K("ff") "\n\n");
	CHECK_EQ(dev.identity.private_key[0], 0xf8);
	CHECK_EQ(dev.identity.private_key[31], 0x7f);
	ok("set=1\nprivate_key=" K("00") "\n\n");
	CHECK(!dev.identity.has_identity);
}

/* Lines may end in "\r\n" (the scanner drops the '\r'); an IPv6 zone is
 * an interface name or number. */
static void line_forms(void)
{
	fresh();
	ok("set=1\npublic_key=" A "\r\nendpoint=[fe80::1%lo]:0080\r\n\r\n");
	CHECK_EQ(peer(A)->endpoint.in6.sin6_scope_id, if_nametoindex("lo"));
	CHECK_EQ(ntohs(peer(A)->endpoint.in6.sin6_port), 80);
	ok("set=1\npublic_key=" A "\nendpoint=[fe80::1%9]:1\n\n");
	CHECK_EQ(peer(A)->endpoint.in6.sin6_scope_id, 9);
	ok("set=1\npublic_key=" A "\nprotocol_version=1\n\n");
	ok("set=1\n\n");
}

/* A stream of requests: each call takes one and says how long it was. */
static void several(void)
{
	const char reqs[] = "set=1\npublic_key=" A "\n\nget=1\n\nset=1\npublic_key=" B "\n\n";
	struct mg_uapi_buf out = { 0 };
	size_t pos = 0;
	int n, count = 0;

	fresh();
	while (pos < sizeof(reqs) - 1) {
		n = mg_uapi_handle(&dev, &hooks, &socks, reqs + pos, sizeof(reqs) - 1 - pos, &out,
				   NULL);
		CHECK(n > 0);
		pos += (size_t)n;
		count++;
	}
	CHECK_EQ(count, 3);
	CHECK_EQ(dev.peers.count, 2);
	mg_uapi_buf_free(&out);
}

int main(void)
{
	CHECK(mg_crypto_init() == 0);
	CHECK(mg_device_init(&dev, &mg_clock_system, &ops, NULL) == 0);
	setconf();
	partial_update();
	allowed_ips_move();
	remove_and_update_only();
	remove_and_readd();
	own_key();
	line_forms();
	several();
	mg_device_free(&dev);
	mg_test_pass("uapi_set");
	return 0;
}
