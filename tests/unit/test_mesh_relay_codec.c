/* RELAY_DATA: wrapped and parsed in place, with its bounds (at least one
 * payload byte, at most MG_RELAY_DATA_MAX in all, beyond MG_CTL_MAX_LEN),
 * and the relay's rewrite that names the source; the registration
 * exchange, with the member matching the answer as a probe's. */
#include "path_fixture.h"

static void data(void)
{
	uint8_t buf[MG_RELAY_DATA_MAX + 1], id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, got[8];
	const uint8_t *payload;
	size_t plen;

	memset(buf, 0xab, sizeof(buf));
	mg_relay_wrap_header(buf, id);
	CHECK(mg_ctl_is_control(buf, 12));
	CHECK_EQ(mg_relay_parse(buf, 13, got, &payload, &plen), 0);
	CHECK_MEM(got, id, 8);
	CHECK(payload == buf + 12);
	CHECK_EQ(plen, 1);
	CHECK_EQ(mg_relay_parse(buf, MG_RELAY_DATA_MAX, got, &payload, &plen), 0);
	CHECK_EQ(plen, MG_RELAY_PAYLOAD_MAX);
	CHECK(MG_RELAY_DATA_MAX > MG_CTL_MAX_LEN);
	CHECK_EQ(mg_relay_parse(buf, MG_RELAY_DATA_MAX + 1, got, &payload, &plen),
		 -MG_MESH_EMALFORMED);
	for (size_t n = 0; n <= 12; n++)
		CHECK_EQ(mg_relay_parse(buf, n, got, &payload, &plen), -MG_MESH_EMALFORMED);

	buf[1] = 2;
	CHECK_EQ(mg_relay_parse(buf, 100, got, &payload, &plen), -MG_MESH_EVERSION);
	buf[1] = MG_CTL_VERSION;
	buf[3] = 1;
	CHECK_EQ(mg_relay_parse(buf, 100, got, &payload, &plen), -MG_MESH_EMALFORMED);
	buf[3] = 0;
	buf[2] = MG_CTL_PROBE;
	CHECK_EQ(mg_relay_parse(buf, 100, got, &payload, &plen), -ENOMSG);
	buf[2] = 0;
	CHECK_EQ(mg_relay_parse(buf, 100, got, &payload, &plen), -MG_MESH_EMALFORMED);
	buf[2] = MG_CTL_RELAY_DATA;
	buf[0] = 1; /* a WireGuard initiation */
	CHECK_EQ(mg_relay_parse(buf, 100, got, &payload, &plen), -MG_MESH_EMALFORMED);
}

/* M registers with R, R answers, M matches; then a datagram M -> P is
 * forwarded by rewriting its header in place. */
static void exchange(void)
{
	struct member m, r, p;
	struct mg_endpoint r_ep = px_ep("203.0.113.1:51820"), m_ep = px_ep("198.51.100.4:4000");
	struct mg_endpoint p_ep = px_ep("198.51.100.5:5000"), path, to;
	uint8_t nonce[16], msg[MG_PROBE_ACK_MAX], dgram[64], src[8], id[8];
	struct mg_probe_pending pending;
	struct mg_relay_table t;
	struct mg_probe reg;
	struct mg_probe_ack ok;
	const uint8_t *payload;
	size_t plen;
	uint64_t rtt;
	int n;

	px_init(&m, &r, &p);
	CHECK_EQ(mg_relay_table_init(&t), 0);
	mg_random_bytes(nonce, sizeof(nonce));
	CHECK_EQ(mg_relay_register_make(msg, m.sk, r.pk, nonce, NOW_MS), MG_PROBE_LEN);
	mg_probe_pending_init(&pending, r.pk);
	mg_probe_pending_add(&pending, nonce, &r_ep, 0);

	CHECK_EQ(mg_relay_register_parse(&reg, msg, MG_PROBE_LEN), 0);
	CHECK_EQ(mg_relay_register_verify(&reg, m.pk, r.pk, NOW_MS), 0);
	CHECK_EQ(mg_relay_register_verify(&reg, m.pk, p.pk, NOW_MS), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_relay_register(&t, reg.sender, &m_ep, reg.time_ms, 0), 0);
	CHECK_EQ(mg_relay_register(&t, p.pk, &p_ep, NOW_MS, 0), 0);
	n = mg_relay_registered_make(msg, r.sk, reg.sender, reg.nonce, &m_ep);
	CHECK_EQ(n, MG_PROBE_ACK_V4_LEN);

	CHECK_EQ(mg_relay_registered_parse(&ok, msg, (size_t)n), 0);
	CHECK_EQ(mg_relay_registered_verify(&ok, r.pk, m.pk), 0);
	CHECK_EQ(mg_relay_registered_verify(&ok, r.pk, p.pk), -MG_MESH_ESIGNATURE);
	CHECK(mg_endpoint_equal_remote(&ok.seen, &m_ep));
	CHECK_EQ(mg_probe_pending_match(&pending, &ok, &r_ep, 30, &path, &rtt), 0);
	CHECK_EQ(mg_probe_pending_match(&pending, &ok, &r_ep, 31, &path, &rtt), -ENOENT);

	/* M -> R naming P; R rewrites to name M, same length. */
	mg_relay_wrap_header(dgram, p.id);
	memset(dgram + 12, 4, sizeof(dgram) - 12);
	CHECK_EQ(mg_relay_parse(dgram, sizeof(dgram), id, &payload, &plen), 0);
	CHECK_EQ(mg_relay_route(&t, &m_ep, id, sizeof(dgram), 1, &to, src), 0);
	mg_relay_wrap_header(dgram, src);
	CHECK(mg_endpoint_equal(&to, &p_ep));
	CHECK_EQ(mg_relay_parse(dgram, sizeof(dgram), id, &payload, &plen), 0);
	CHECK_MEM(id, m.id, 8);
	CHECK_EQ(plen, sizeof(dgram) - 12);
	CHECK_EQ(payload[0], 4);
	mg_relay_table_free(&t);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	data();
	exchange();
	mg_test_pass("mesh_relay_codec");
	return 0;
}
