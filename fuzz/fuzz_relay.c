/* Drives the relay's table with a script of registrations, forgets, routes
 * and clock steps over 8 fixed members and 16 endpoints, against a model of
 * relay.h's rules (one endpoint per member and member per endpoint, newer
 * times only while live, expiry, members only): every answer of
 * mg_relay_route must be the model's (-EAGAIN may stand for a forward: the
 * model has no rate). mg_relay_parse gets what follows a parse step.
 *
 * Script: steps of 3 bytes, op (low 3 bits), x, y:
 *   0 register  member x & 7 at endpoint x >> 4, time base + y
 *   1 forget    member x & 7
 *   2 route     from endpoint x & 15 to member x >> 4 & 7 (or an id no
 *               member has when x & 0x80), length 8y + 1 (too long
 *               past y = 195)
 *   3 clock     now += 1000 x + y
 *   4 parse     the input after the op byte as a RELAY_DATA datagram;
 *               ends the script */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBERS 8
#define EPS	16

static uint8_t pk[MEMBERS][32], ids[MEMBERS][8];
static struct mg_endpoint eps[EPS];

struct model {
	int ep_owner[EPS], m_ep[MEMBERS];
	bool in_use[MEMBERS];
	uint64_t expires[MEMBERS], last[MEMBERS];
};

static void setup(void)
{
	static int done;
	uint8_t sk[64], seed[32];
	char text[64];

	if (done)
		return;
	if (mg_crypto_init() < 0)
		abort();
	for (int i = 0; i < MEMBERS; i++) {
		memset(seed, i + 1, sizeof(seed));
		mg_ed25519_from_seed(sk, pk[i], seed);
		mg_mesh_key_id(ids[i], pk[i]);
	}
	for (int i = 0; i < EPS; i++) {
		if (i % 2)
			snprintf(text, sizeof(text), "[fd00::%d]:%d", i, 2000 + i % 4);
		else
			snprintf(text, sizeof(text), "10.0.0.%d:%d", i, 1000 + i % 4);
		if (mg_endpoint_parse(&eps[i], text) < 0)
			abort();
	}
	done = 1;
}

static void do_register(struct mg_relay_table *t, struct model *m, int who, int e, uint64_t time,
			uint64_t now)
{
	int err = mg_relay_register(t, pk[who], &eps[e], time, now);
	bool live = m->in_use[who] && now < m->expires[who];

	if (live && time <= m->last[who]) {
		if (err != -EALREADY)
			abort();
		return;
	}
	if (err != 0)
		abort();
	if (m->ep_owner[e] >= 0 && m->ep_owner[e] != who)
		m->m_ep[m->ep_owner[e]] = -1;
	if (m->m_ep[who] >= 0)
		m->ep_owner[m->m_ep[who]] = -1;
	m->ep_owner[e] = who;
	m->m_ep[who] = e;
	m->in_use[who] = true;
	m->expires[who] = now + MG_RELAY_TTL_MS;
	m->last[who] = time;
}

static void do_forget(struct mg_relay_table *t, struct model *m, int who)
{
	mg_relay_forget(t, pk[who]);
	if (m->m_ep[who] >= 0)
		m->ep_owner[m->m_ep[who]] = -1;
	m->m_ep[who] = -1;
	m->in_use[who] = false;
}

static void do_route(struct mg_relay_table *t, const struct model *m, uint8_t x, size_t len,
		     uint64_t now)
{
	static const uint8_t nobody[8] = { 0xee };
	int e = x & 15, dest = (x >> 4) & 7, src = m->ep_owner[e], want;
	bool raw = x & 0x80;
	struct mg_endpoint to;
	uint8_t src_id[8];
	int err = mg_relay_route(t, &eps[e], raw ? nobody : ids[dest], len, now, &to, src_id);

	if (len > MG_RELAY_DATA_MAX)
		want = -MG_MESH_EMALFORMED;
	else if (src < 0 || now >= m->expires[src])
		want = -EPERM;
	else if (raw || m->m_ep[dest] < 0 || now >= m->expires[dest])
		want = -ENOENT;
	else
		want = 0;
	if (err != want && !(want == 0 && err == -EAGAIN))
		abort();
	if (err == 0 &&
	    (!mg_endpoint_equal(&to, &eps[m->m_ep[dest]]) || memcmp(src_id, ids[src], 8)))
		abort();
}

static void do_parse(const uint8_t *buf, size_t len)
{
	const uint8_t *payload;
	uint8_t id[8];
	size_t plen;

	if (mg_relay_parse(buf, len, id, &payload, &plen) < 0)
		return;
	if (len <= MG_RELAY_HEADER_LEN || len > MG_RELAY_DATA_MAX || payload != buf + 12 ||
	    plen != len - 12 || memcmp(id, buf + 4, 8) != 0 || buf[2] != MG_CTL_RELAY_DATA)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_relay_table t;
	struct model m;
	uint64_t now = 0;
	size_t i = 0;

	setup();
	memset(&m, 0, sizeof(m));
	memset(m.ep_owner, 0xff, sizeof(m.ep_owner));
	memset(m.m_ep, 0xff, sizeof(m.m_ep));
	if (mg_relay_table_init(&t) < 0)
		abort();
	for (; i + 3 <= size; i += 3) {
		uint8_t op = data[i] & 7, x = data[i + 1], y = data[i + 2];
		if (op == 0)
			do_register(&t, &m, x & 7, x >> 4, UINT64_C(1800000000000) + y, now);
		else if (op == 1)
			do_forget(&t, &m, x & 7);
		else if (op == 2)
			do_route(&t, &m, x, (size_t)y * 8 + 1, now);
		else if (op == 3)
			now += 1000 * (uint64_t)x + y;
		else if (op == 4) {
			do_parse(data + i + 1, size - i - 1);
			break;
		}
	}
	mg_relay_table_free(&t);
	return 0;
}
