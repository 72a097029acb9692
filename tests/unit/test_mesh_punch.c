/* PUNCH (punch.h): a genuine one round-trips with its candidates; a forged,
 * tampered, misaddressed, stale or replayed one is refused, so that the
 * path manager (which acts only on mg_punch_check's 0) does nothing with
 * it; every byte changed, every truncation and an extra byte are refused;
 * the maker refuses what it cannot encode. */
#include "path_fixture.h"
#include "mesh/punch.h"

static struct member a, b, c;

/* What the path manager does on receipt, minus the probing: parse, check
 * against the last accepted time, keep the new one. 0 or the error. */
static int receive(const uint8_t *msg, size_t len, uint64_t *last, uint64_t now)
{
	struct mg_punch p;
	int err = mg_punch_parse(&p, msg, len);

	if (err == 0)
		err = mg_punch_check(&p, a.pk, b.pk, *last, now);
	if (err == 0)
		*last = p.time_ms;
	return err;
}

static void roundtrip(const struct mg_endpoint *cands, size_t n)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN], msg[MG_PUNCH_LEN];
	struct mg_punch p;

	mg_random_bytes(nonce, sizeof(nonce));
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, cands, n), MG_PUNCH_LEN);
	CHECK_EQ(mg_punch_parse(&p, msg, sizeof(msg)), 0);
	CHECK(!memcmp(p.sender, a.pk, sizeof(a.pk)));
	CHECK(!memcmp(p.nonce, nonce, sizeof(nonce)));
	CHECK_EQ(p.time_ms, NOW_MS);
	CHECK_EQ(p.n, n);
	for (size_t i = 0; i < n; i++)
		CHECK(mg_endpoint_equal_remote(&p.cands[i], &cands[i]));
	CHECK_EQ(mg_punch_check(&p, a.pk, b.pk, 0, NOW_MS), 0);
}

/* Forged and misaddressed: the wrong signer, a key that is not the
 * claimed sender's, a PUNCH made for c. */
static void forged(void)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN] = { 1 }, msg[MG_PUNCH_LEN];
	struct mg_punch p;

	CHECK_EQ(mg_punch_make(msg, c.sk, b.pk, nonce, NOW_MS, NULL, 0), MG_PUNCH_LEN);
	memcpy(msg + 4, a.pk, sizeof(a.pk)); /* c claims to be a */
	CHECK_EQ(mg_punch_parse(&p, msg, sizeof(msg)), 0);
	CHECK_EQ(mg_punch_check(&p, a.pk, b.pk, 0, NOW_MS), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_punch_make(msg, a.sk, c.pk, nonce, NOW_MS, NULL, 0), MG_PUNCH_LEN);
	CHECK_EQ(mg_punch_parse(&p, msg, sizeof(msg)), 0);
	CHECK_EQ(mg_punch_check(&p, a.pk, b.pk, 0, NOW_MS), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_punch_check(&p, c.pk, b.pk, 0, NOW_MS), -MG_MESH_ESIGNATURE);
}

/* Replayed: the same PUNCH twice, an older one after a newer one, and one
 * outside the window either way. */
static void replayed(void)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN] = { 2 }, m1[MG_PUNCH_LEN], m2[MG_PUNCH_LEN];
	uint64_t last = 0;

	CHECK_EQ(mg_punch_make(m1, a.sk, b.pk, nonce, NOW_MS, NULL, 0), MG_PUNCH_LEN);
	CHECK_EQ(mg_punch_make(m2, a.sk, b.pk, nonce, NOW_MS + 1, NULL, 0), MG_PUNCH_LEN);
	CHECK_EQ(receive(m1, sizeof(m1), &last, NOW_MS), 0);
	CHECK_EQ(last, NOW_MS);
	CHECK_EQ(receive(m1, sizeof(m1), &last, NOW_MS + 5), -EALREADY);
	CHECK_EQ(receive(m2, sizeof(m2), &last, NOW_MS + 5), 0);
	CHECK_EQ(receive(m1, sizeof(m1), &last, NOW_MS + 6), -EALREADY);
	CHECK_EQ(receive(m2, sizeof(m2), &last, NOW_MS + 6), -EALREADY);
	CHECK_EQ(last, NOW_MS + 1);
	last = 0; /* as after a restart: the window still holds */
	CHECK_EQ(receive(m1, sizeof(m1), &last, NOW_MS + MG_PROBE_WINDOW_MS + 1),
		 -MG_MESH_EEXPIRED);
	CHECK_EQ(receive(m1, sizeof(m1), &last, NOW_MS - MG_PROBE_WINDOW_MS - 1), -MG_MESH_ENOTYET);
	CHECK_EQ(last, 0);
}

static bool ok(const uint8_t *msg, size_t len)
{
	uint64_t last = 0;

	return receive(msg, len, &last, NOW_MS) == 0;
}

static void tamper(const uint8_t *msg, size_t len)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	uint8_t copy[MG_PUNCH_LEN + 1];

	memcpy(copy, msg, len);
	CHECK(ok(copy, len));
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			copy[i] ^= flips[f];
			CHECK(!ok(copy, len));
			copy[i] ^= flips[f];
		}
	}
	for (size_t n = 0; n < len; n++)
		CHECK(!ok(copy, n));
	copy[len] = 0;
	CHECK(!ok(copy, len + 1));
}

static void unmakeable(void)
{
	uint8_t nonce[MG_PROBE_NONCE_LEN] = { 3 }, msg[MG_PUNCH_LEN];
	struct mg_endpoint eps[MG_PUNCH_CANDS_MAX + 1], none;

	for (size_t i = 0; i <= MG_PUNCH_CANDS_MAX; i++)
		eps[i] = px_ep("198.51.100.1:4000");
	memset(&none, 0, sizeof(none));
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, eps, MG_PUNCH_CANDS_MAX + 1),
		 -MG_MESH_EMALFORMED);
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, &none, 1), -MG_MESH_EMALFORMED);
	eps[0] = px_ep("198.51.100.1:0");
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, eps, 1), -MG_MESH_EMALFORMED);
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, MG_PROBE_TIME_MAX, NULL, 0),
		 -MG_MESH_EMALFORMED);
}

int main(void)
{
	struct mg_endpoint cands[MG_PUNCH_CANDS_MAX] = { px_ep("203.0.113.11:51820"),
							 px_ep("10.0.1.2:51820"),
							 px_ep("[2001:db8::11]:51820"),
							 px_ep("198.51.100.7:1024") };
	uint8_t nonce[MG_PROBE_NONCE_LEN] = { 4 }, msg[MG_PUNCH_LEN];
	struct mg_probe probe;

	px_init(&a, &b, &c);
	for (size_t n = 0; n <= MG_PUNCH_CANDS_MAX; n++)
		roundtrip(cands, n);
	forged();
	replayed();
	for (size_t n = 0; n <= MG_PUNCH_CANDS_MAX; n += 2) {
		CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, cands, n), MG_PUNCH_LEN);
		tamper(msg, sizeof(msg));
	}
	/* Another type's bytes are not a PUNCH, nor a PUNCH a PROBE. */
	CHECK_EQ(mg_probe_make(msg, a.sk, b.pk, nonce, NOW_MS), MG_PROBE_LEN);
	CHECK(!ok(msg, MG_PROBE_LEN));
	CHECK_EQ(mg_punch_make(msg, a.sk, b.pk, nonce, NOW_MS, NULL, 0), MG_PUNCH_LEN);
	CHECK(mg_probe_parse(&probe, msg, sizeof(msg)) < 0);
	unmakeable();
	return 0;
}
