/* A probes B, B answers, A matches the answer: the path selected is the
 * candidate the probe went to, the round trip is measured, and A learns
 * its reflexive address as B saw it, over IPv4 and IPv6. */
#include "path_fixture.h"

static void round_trip(const struct member *a, const struct member *b, const char *cand,
		       const char *seen_text, int ack_len)
{
	struct mg_endpoint candidate = px_ep(cand), seen = px_ep(seen_text), path;
	uint8_t nonce[MG_PROBE_NONCE_LEN], msg[MG_PROBE_LEN], ack[MG_PROBE_ACK_MAX];
	struct mg_probe_pending pending;
	struct mg_probe p;
	struct mg_probe_ack pa;
	uint64_t rtt = 99;
	int n;

	/* A sends a probe to its candidate for B. */
	mg_random_bytes(nonce, sizeof(nonce));
	CHECK_EQ(mg_probe_make(msg, a->sk, b->pk, nonce, NOW_MS), MG_PROBE_LEN);
	mg_probe_pending_init(&pending, b->pk);
	mg_probe_pending_add(&pending, nonce, &candidate, 1000);

	/* B: parse, look the sender up, verify, answer to the source. */
	CHECK(mg_ctl_is_control(msg, sizeof(msg)));
	CHECK_EQ(mg_ctl_parse_header(msg, sizeof(msg)), MG_CTL_PROBE);
	CHECK_EQ(mg_probe_parse(&p, msg, sizeof(msg)), 0);
	CHECK_MEM(p.sender, a->pk, 32);
	CHECK_MEM(p.nonce, nonce, 16);
	CHECK_EQ(p.time_ms, NOW_MS);
	CHECK_EQ(mg_probe_verify(&p, a->pk, b->pk, NOW_MS + 1234), 0);
	n = mg_probe_ack_make(ack, b->sk, p.sender, p.nonce, &seen);
	CHECK_EQ(n, ack_len);
	CHECK(n <= MG_PROBE_LEN); /* no amplification */

	/* A: parse, verify, match. */
	CHECK_EQ(mg_probe_ack_parse(&pa, ack, (size_t)n), 0);
	CHECK_MEM(pa.responder, b->pk, 32);
	CHECK(mg_endpoint_equal_remote(&pa.seen, &seen));
	CHECK_EQ(mg_probe_ack_verify(&pa, b->pk, a->pk), 0);
	CHECK_EQ(mg_probe_pending_match(&pending, &pa, &candidate, 1042, &path, &rtt), 0);
	CHECK(mg_endpoint_equal(&path, &candidate));
	CHECK_EQ(rtt, 42);
}

int main(void)
{
	struct member a, b, c;

	px_init(&a, &b, &c);
	round_trip(&a, &b, "198.51.100.7:51820", "203.0.113.9:40001", MG_PROBE_ACK_V4_LEN);
	round_trip(&a, &b, "[2001:db8::7]:51820", "[2001:db8:1::9]:40001", MG_PROBE_ACK_MAX);
	round_trip(&b, &a, "192.0.2.1:1", "[2001:db8:1::9]:65535", MG_PROBE_ACK_MAX);
	mg_test_pass("mesh_probe_roundtrip");
	return 0;
}
