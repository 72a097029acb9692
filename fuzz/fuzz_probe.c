/* Drives the five parsers of the signed path messages (PROBE, PROBE_ACK,
 * RELAY_REGISTER, RELAY_REGISTERED, PUNCH) and their verifiers with
 * arbitrary bytes. Two fixed member keys, A (prober, registrant) and B (responder,
 * relay), sign the corpus seeds, so that verification succeeds on them and
 * the harness can check what follows: a message that verifies re-encodes
 * to exactly its bytes (one encoding per message), a time outside the
 * window is refused, an answer's nonce matches a pending probe once, and a
 * PUNCH accepted once is refused as a replay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/probe.h"
#include "mesh/punch.h"
#include "mesh/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t a_sk[64], a_pk[32], b_sk[64], b_pk[32];

static void keys(void)
{
	static int done;
	uint8_t seed[32];

	if (done)
		return;
	if (mg_crypto_init() < 0)
		abort();
	memset(seed, 0x0a, sizeof(seed));
	mg_ed25519_from_seed(a_sk, a_pk, seed);
	memset(seed, 0x0b, sizeof(seed));
	mg_ed25519_from_seed(b_sk, b_pk, seed);
	done = 1;
}

static void probe(const uint8_t *data, size_t size, bool relay)
{
	uint8_t out[MG_PROBE_LEN];
	struct mg_probe p;
	int err;

	err = relay ? mg_relay_register_parse(&p, data, size) : mg_probe_parse(&p, data, size);
	if (err < 0)
		return;
	if (size != MG_PROBE_LEN || p.time_ms >= MG_PROBE_TIME_MAX)
		abort();
	err = relay ? mg_relay_register_verify(&p, p.sender, b_pk, p.time_ms)
		    : mg_probe_verify(&p, p.sender, b_pk, p.time_ms);
	if (err != 0 && err != -MG_MESH_ESIGNATURE)
		abort();
	if (err == 0 && !memcmp(p.sender, a_pk, 32)) {
		err = relay ? mg_relay_register_make(out, a_sk, b_pk, p.nonce, p.time_ms)
			    : mg_probe_make(out, a_sk, b_pk, p.nonce, p.time_ms);
		if (err != MG_PROBE_LEN || memcmp(out, data, size) != 0)
			abort();
	}
	err = relay ? mg_relay_register_verify(&p, p.sender, b_pk,
					       p.time_ms + MG_PROBE_WINDOW_MS + 1)
		    : mg_probe_verify(&p, p.sender, b_pk, p.time_ms + MG_PROBE_WINDOW_MS + 1);
	if (err != -MG_MESH_EEXPIRED)
		abort();
}

/* The pending set's rules hold for whatever the answer holds. */
static void match(const struct mg_probe_ack *a)
{
	struct mg_probe_pending pend;
	struct mg_endpoint ep;
	uint64_t rtt;

	mg_probe_pending_init(&pend, a->responder);
	mg_probe_pending_add(&pend, a->nonce, &a->seen, 10);
	if (mg_probe_pending_match(&pend, a, &a->seen, 12, &ep, &rtt) != 0 || rtt != 2 ||
	    !mg_endpoint_equal(&ep, &a->seen))
		abort();
	if (mg_probe_pending_match(&pend, a, &a->seen, 12, &ep, &rtt) != -ENOENT)
		abort();
}

static void ack(const uint8_t *data, size_t size, bool relay)
{
	uint8_t out[MG_PROBE_ACK_MAX];
	struct mg_probe_ack a;
	int err;

	err = relay ? mg_relay_registered_parse(&a, data, size)
		    : mg_probe_ack_parse(&a, data, size);
	if (err < 0)
		return;
	if (size != MG_PROBE_ACK_V4_LEN && size != MG_PROBE_ACK_MAX)
		abort();
	err = relay ? mg_relay_registered_verify(&a, a.responder, a_pk)
		    : mg_probe_ack_verify(&a, a.responder, a_pk);
	if (err != 0 && err != -MG_MESH_ESIGNATURE)
		abort();
	if (err == 0 && !memcmp(a.responder, b_pk, 32)) {
		err = relay ? mg_relay_registered_make(out, b_sk, a_pk, a.nonce, &a.seen)
			    : mg_probe_ack_make(out, b_sk, a_pk, a.nonce, &a.seen);
		if (err != (int)size || memcmp(out, data, size) != 0)
			abort();
	}
	match(&a);
}

static void punch(const uint8_t *data, size_t size)
{
	uint8_t out[MG_PUNCH_LEN];
	struct mg_punch p;
	int err;

	if (mg_punch_parse(&p, data, size) < 0)
		return;
	if (size != MG_PUNCH_LEN || p.n > MG_PUNCH_CANDS_MAX || p.time_ms >= MG_PROBE_TIME_MAX)
		abort();
	err = mg_punch_check(&p, p.sender, b_pk, 0, p.time_ms);
	if (err != 0 && err != -MG_MESH_ESIGNATURE && err != -EALREADY)
		abort();
	if (err == 0 && !memcmp(p.sender, a_pk, 32)) {
		if (mg_punch_make(out, a_sk, b_pk, p.nonce, p.time_ms, p.cands, p.n) !=
			    MG_PUNCH_LEN ||
		    memcmp(out, data, size) != 0)
			abort();
	}
	if (err == 0 && mg_punch_check(&p, p.sender, b_pk, p.time_ms, p.time_ms) != -EALREADY)
		abort();
	err = mg_punch_check(&p, p.sender, b_pk, 0, p.time_ms + MG_PROBE_WINDOW_MS + 1);
	if (err != -MG_MESH_EEXPIRED && err != -MG_MESH_ESIGNATURE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys();
	punch(data, size);
	probe(data, size, false);
	probe(data, size, true);
	ack(data, size, false);
	ack(data, size, true);
	return 0;
}
