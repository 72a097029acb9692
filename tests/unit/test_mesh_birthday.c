/* A birthday round (mesh/birthday.h) selects a path only from where one of
 * its probes went, over the socket it left from: each rule, one check each,
 * and the bounds of what a round records. */
#include "path_fixture.h"
#include "mesh/birthday.h"

static struct member a, b, c;

/* B's answer to A's round nonce, as B signs it. */
static struct mg_probe_ack answer(const struct member *signer, const uint8_t nonce[16])
{
	struct mg_endpoint seen = px_ep("203.0.113.11:51820");
	uint8_t msg[MG_PROBE_ACK_MAX];
	struct mg_probe_ack pa;
	int n = mg_probe_ack_make(msg, signer->sk, a.pk, nonce, &seen);

	CHECK(n > 0);
	CHECK_EQ(mg_probe_ack_parse(&pa, msg, (size_t)n), 0);
	return pa;
}

static struct mg_endpoint on_sock(const char *text, uint16_t sock)
{
	struct mg_endpoint e = px_ep(text);

	e.local.sock = sock;
	return e;
}

static struct mg_endpoint ep; /* what the last match selected */

static int match(const struct mg_bday_round *r, const struct mg_probe_ack *pa, const char *from,
		 uint16_t sock)
{
	struct mg_endpoint f = on_sock(from, sock);

	return mg_bday_match(r, pa, &f, &ep);
}

static void bounds(void)
{
	struct mg_bday_round r;
	struct mg_endpoint v6 = px_ep("[2001:db8::1]:51820"), e;
	uint8_t nonce[16] = { 1 };

	CHECK_EQ(mg_bday_init(&r, b.pk, nonce, &v6), -EAFNOSUPPORT);
	e = px_ep("203.0.113.12:40000");
	e.local.sock = 9; /* the target's local part is not kept */
	CHECK_EQ(mg_bday_init(&r, b.pk, nonce, &e), 0);
	CHECK_EQ(r.target.local.sock, 0);
	CHECK_EQ(mg_bday_add_port(&r, 1023), -EINVAL);
	CHECK_EQ(mg_bday_add_port(&r, 1024), 0);
	CHECK_EQ(mg_bday_add_port(&r, 1024), -EEXIST);
	for (unsigned i = 1; i < MG_BDAY_PORTS_MAX; i++)
		CHECK_EQ(mg_bday_add_port(&r, (uint16_t)(2000 + i)), 0);
	CHECK_EQ(mg_bday_add_port(&r, 65535), -ENOSPC);
	e = mg_bday_port_endpoint(&r, 1);
	CHECK(mg_endpoint_equal(&e,
				&(struct mg_endpoint){ .in4 = px_ep("203.0.113.12:2001").in4 }));
	for (unsigned i = 0; i < MG_BDAY_SOCKS_MAX; i++)
		CHECK_EQ(mg_bday_add_sock(&r, (uint16_t)(i + 1)), 0);
	CHECK_EQ(mg_bday_add_sock(&r, 1), -ENOSPC);
}

static void matching(void)
{
	struct mg_bday_round r;
	struct mg_endpoint target = px_ep("203.0.113.11:51820");
	struct mg_probe_ack pa;
	uint8_t nonce[16], stranger[16];

	mg_random_bytes(nonce, sizeof(nonce));
	mg_random_bytes(stranger, sizeof(stranger));
	CHECK_EQ(mg_bday_init(&r, b.pk, nonce, &target), 0);
	CHECK_EQ(mg_bday_add_port(&r, 40000), 0);
	CHECK_EQ(mg_bday_add_sock(&r, 7), 0);

	/* The spray: a sprayed port answers to the WireGuard socket. */
	pa = answer(&b, nonce);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), 0);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:40000", 0), 0);
	CHECK_EQ(ntohs(ep.in4.sin_port), 40000);
	CHECK_EQ(ep.local.sock, 0);
	/* ... not a port never sprayed, nor another address, nor on a socket
	 * of the round (a sprayed probe left from socket 0). */
	CHECK_EQ(match(&r, &pa, "203.0.113.11:40001", 0), -EADDRNOTAVAIL);
	CHECK_EQ(match(&r, &pa, "203.0.113.99:40000", 0), -EADDRNOTAVAIL);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:40000", 7), -EADDRNOTAVAIL);

	/* The sockets: the target answers to one of the round's sockets,
	 * which the path keeps. */
	CHECK_EQ(match(&r, &pa, "203.0.113.11:51820", 7), 0);
	CHECK_EQ(ep.local.sock, 7);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:51820", 8), -EADDRNOTAVAIL);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:51821", 7), -EADDRNOTAVAIL);
	/* The target on socket 0 was never probed by the round. */
	CHECK_EQ(match(&r, &pa, "203.0.113.11:51820", 0), -EADDRNOTAVAIL);

	/* Another nonce (another round's, or a guess), another member. */
	pa = answer(&b, stranger);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:40000", 0), -ENOENT);
	pa = answer(&c, nonce);
	CHECK_EQ(match(&r, &pa, "203.0.113.11:40000", 0), -EPERM);
}

int main(void)
{
	px_init(&a, &b, &c);
	bounds();
	matching();
	mg_test_pass("mesh_birthday");
	return 0;
}
