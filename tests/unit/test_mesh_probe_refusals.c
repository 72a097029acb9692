/* A forged, misdirected, replayed or late probe or answer cannot move a
 * path: each refusal of probe.h's security argument, one check each. */
#include "path_fixture.h"

static struct member a, b, c;
static const char *cand_text = "198.51.100.7:51820";

/* B's answer to a probe from prober with nonce, made by signer for
 * prober_pk (normally B for A). */
static struct mg_probe_ack answer(const struct member *signer, const uint8_t prober_pk[32],
				  const uint8_t nonce[16])
{
	struct mg_endpoint seen = px_ep("203.0.113.9:40001");
	uint8_t msg[MG_PROBE_ACK_MAX];
	struct mg_probe_ack pa;
	int n = mg_probe_ack_make(msg, signer->sk, prober_pk, nonce, &seen);

	CHECK(n > 0);
	CHECK_EQ(mg_probe_ack_parse(&pa, msg, (size_t)n), 0);
	return pa;
}

static void setup(struct mg_probe_pending *p, uint8_t nonce[16], uint64_t now)
{
	struct mg_endpoint cand = px_ep(cand_text);

	mg_random_bytes(nonce, 16);
	mg_probe_pending_init(p, b.pk);
	mg_probe_pending_add(p, nonce, &cand, now);
}

static void ack_refusals(void)
{
	struct mg_endpoint cand = px_ep(cand_text), other = px_ep("198.51.100.7:51821"), path;
	struct mg_probe_pending p;
	struct mg_probe_ack pa;
	uint8_t nonce[16], stranger[16];
	uint64_t rtt;

	/* A nonce we never sent. */
	setup(&p, nonce, 1000);
	mg_random_bytes(stranger, sizeof(stranger));
	pa = answer(&b, a.pk, stranger);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), 0);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1001, &path, &rtt), -ENOENT);

	/* Replayed: the second copy finds the nonce used. */
	pa = answer(&b, a.pk, nonce);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1001, &path, &rtt), 0);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1002, &path, &rtt), -ENOENT);

	/* Expired: just in time passes, a ms later fails and is dropped. */
	setup(&p, nonce, 1000);
	pa = answer(&b, a.pk, nonce);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1000 + MG_PROBE_TIMEOUT_MS, &path, &rtt),
		 0);
	setup(&p, nonce, 1000);
	pa = answer(&b, a.pk, nonce);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1001 + MG_PROBE_TIMEOUT_MS, &path, &rtt),
		 -ETIMEDOUT);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1002, &path, &rtt), -ENOENT);

	/* From another source than the candidate: refused, nonce kept. */
	setup(&p, nonce, 1000);
	pa = answer(&b, a.pk, nonce);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &other, 1001, &path, &rtt), -EADDRNOTAVAIL);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1002, &path, &rtt), 0);

	/* Signed by another member C: fails under B's key; under C's own
	 * key it verifies but cannot match B's pending set. */
	setup(&p, nonce, 1000);
	pa = answer(&c, a.pk, nonce);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), -MG_MESH_ESIGNATURE);
	memcpy(pa.responder, b.pk, 32);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), -MG_MESH_ESIGNATURE);
	pa = answer(&c, a.pk, nonce);
	CHECK_EQ(mg_probe_ack_verify(&pa, c.pk, a.pk), 0);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cand, 1001, &path, &rtt), -EPERM);

	/* Made by B for another prober C: A refuses it. */
	pa = answer(&b, c.pk, nonce);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, c.pk), 0);
}

static void probe_refusals(void)
{
	uint8_t nonce[16], msg[MG_PROBE_LEN];
	struct mg_probe p;

	mg_random_bytes(nonce, sizeof(nonce));
	CHECK_EQ(mg_probe_make(msg, a.sk, b.pk, nonce, NOW_MS), MG_PROBE_LEN);
	CHECK_EQ(mg_probe_parse(&p, msg, sizeof(msg)), 0);

	/* A probe for B replayed to C. */
	CHECK_EQ(mg_probe_verify(&p, a.pk, c.pk, NOW_MS), -MG_MESH_ESIGNATURE);
	/* The directory's key for the claimed sender is another. */
	CHECK_EQ(mg_probe_verify(&p, c.pk, b.pk, NOW_MS), -MG_MESH_ESIGNATURE);

	/* The window, both ways, with its edges. */
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, NOW_MS + MG_PROBE_WINDOW_MS), 0);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, NOW_MS + MG_PROBE_WINDOW_MS + 1),
		 -MG_MESH_EEXPIRED);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, NOW_MS - MG_PROBE_WINDOW_MS), 0);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, NOW_MS - MG_PROBE_WINDOW_MS - 1),
		 -MG_MESH_ENOTYET);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, 0), -MG_MESH_ENOTYET);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, UINT64_MAX), -MG_MESH_EEXPIRED);

	/* Times past the limit cannot be made. */
	CHECK_EQ(mg_probe_make(msg, a.sk, b.pk, nonce, MG_PROBE_TIME_MAX), -MG_MESH_EMALFORMED);
}

/* A RELAY_REGISTER has PROBE's layout: it is another type, and with its
 * type byte changed it still fails (another context string). */
static void type_confusion(void)
{
	struct mg_endpoint seen = px_ep("203.0.113.9:40001"), unset;
	uint8_t nonce[16] = { 1 }, msg[MG_PROBE_ACK_MAX];
	struct mg_probe p;
	struct mg_probe_ack pa;
	int n;

	CHECK_EQ(mg_relay_register_make(msg, a.sk, b.pk, nonce, NOW_MS), MG_PROBE_LEN);
	CHECK_EQ(mg_probe_parse(&p, msg, MG_PROBE_LEN), -ENOMSG);
	CHECK_EQ(mg_probe_ack_parse(&pa, msg, MG_PROBE_LEN), -ENOMSG);
	msg[2] = MG_CTL_PROBE;
	CHECK_EQ(mg_probe_parse(&p, msg, MG_PROBE_LEN), 0);
	CHECK_EQ(mg_probe_verify(&p, a.pk, b.pk, NOW_MS), -MG_MESH_ESIGNATURE);

	n = mg_relay_registered_make(msg, b.sk, a.pk, nonce, &seen);
	CHECK_EQ(n, MG_PROBE_ACK_V4_LEN);
	CHECK_EQ(mg_probe_ack_parse(&pa, msg, (size_t)n), -ENOMSG);
	msg[2] = MG_CTL_PROBE_ACK;
	CHECK_EQ(mg_probe_ack_parse(&pa, msg, (size_t)n), 0);
	CHECK_EQ(mg_probe_ack_verify(&pa, b.pk, a.pk), -MG_MESH_ESIGNATURE);

	/* An answer needs an address and a port. */
	memset(&unset, 0, sizeof(unset));
	CHECK_EQ(mg_probe_ack_make(msg, b.sk, a.pk, nonce, &unset), -MG_MESH_EMALFORMED);
	seen.in4.sin_port = 0;
	CHECK_EQ(mg_probe_ack_make(msg, b.sk, a.pk, nonce, &seen), -MG_MESH_EMALFORMED);
}

/* Nine probes outstanding: the oldest gave way, the other eight match. */
static void pending_full(void)
{
	uint8_t nonces[MG_PROBE_PENDING_MAX + 1][16];
	struct mg_endpoint cands[MG_PROBE_PENDING_MAX + 1], path;
	struct mg_probe_pending p;
	struct mg_probe_ack pa;
	uint64_t rtt;

	mg_probe_pending_init(&p, b.pk);
	for (int i = 0; i <= MG_PROBE_PENDING_MAX; i++) {
		char text[32];
		snprintf(text, sizeof(text), "192.0.2.%d:5000", i + 1);
		cands[i] = px_ep(text);
		mg_random_bytes(nonces[i], 16);
		mg_probe_pending_add(&p, nonces[i], &cands[i], 1000 + (uint64_t)i);
	}
	pa = answer(&b, a.pk, nonces[0]);
	CHECK_EQ(mg_probe_pending_match(&p, &pa, &cands[0], 1100, &path, &rtt), -ENOENT);
	for (int i = MG_PROBE_PENDING_MAX; i >= 1; i--) {
		pa = answer(&b, a.pk, nonces[i]);
		CHECK_EQ(mg_probe_pending_match(&p, &pa, &cands[i], 1100, &path, &rtt), 0);
		CHECK(mg_endpoint_equal(&path, &cands[i]));
		CHECK_EQ(rtt, 100 - i);
	}
}

int main(void)
{
	px_init(&a, &b, &c);
	ack_refusals();
	probe_refusals();
	type_confusion();
	pending_full();
	mg_test_pass("mesh_probe_refusals");
	return 0;
}
