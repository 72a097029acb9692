/* Drives the STUN codec and responder with arbitrary datagrams, twice: as
 * they are, and wrapped in a well-formed header (with a correct FINGERPRINT
 * when the first byte is odd) so the attribute walk is reached often.
 * Checked: a STUN message never looks like a WireGuard message; whatever
 * parses yields IPv4 or IPv6 addresses that our encoder writes back to the
 * same values; the responder answers only well-formed Binding requests with
 * no unknown comprehension-required attribute, never with an error, with a
 * success response that parses, carries the request's transaction id and
 * the source, has FINGERPRINT exactly when the request had one, and is no
 * larger than MG_STUN_SERVER_ANSWER_MAX nor than the request plus 24 bytes
 * (an IPv6 XOR-MAPPED-ADDRESS). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "nat/stun.h"
#include "nat/stun_server.h"
#include "tunnel/messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t ticking_now(const struct mg_clock *c)
{
	static uint64_t now;
	(void)c;
	return now += MG_NSEC_PER_SEC; /* never rate-limited */
}

static const struct mg_clock ticking = { .monotonic_ns = ticking_now };

struct answer {
	unsigned count;
	uint8_t buf[MG_STUN_ERROR_MAX];
	size_t len;
};

static int record(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct answer *a = ctx;

	(void)to;
	if (len > sizeof(a->buf))
		abort();
	a->count++;
	memcpy(a->buf, buf, len);
	a->len = len;
	return 0;
}

static void check_wireguard_apart(const uint8_t *buf, size_t len)
{
	bool wg_header = len >= 4 && buf[0] >= MG_MSG_INITIATION && buf[0] <= MG_MSG_DATA &&
			 !buf[1] && !buf[2] && !buf[3];
	if (mg_stun_is_stun(buf, len) && wg_header && len != MG_STUN_HEADER_SIZE)
		abort();
}

static void check_reencode(const struct mg_stun_message *m)
{
	uint8_t out[MG_STUN_ERROR_MAX];
	struct mg_stun_message again;
	size_t n;

	for (unsigned i = 0; i < m->unknown_count && i < MG_STUN_UNKNOWN_MAX; i++)
		if (m->unknown[i] >= 0x8000)
			abort(); /* only comprehension-required ones are listed */
	if (!(m->present & (MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_MAPPED)))
		return;
	if (m->mapped.sa.sa_family != AF_INET && m->mapped.sa.sa_family != AF_INET6)
		abort();
	n = mg_stun_build_response(out, m->txid, &m->mapped, m->present & MG_STUN_HAS_FINGERPRINT);
	if (!n || n > MG_STUN_RESPONSE_MAX || mg_stun_parse(&again, out, n) < 0)
		abort();
	if (!mg_endpoint_equal(&again.mapped, &m->mapped) || memcmp(again.txid, m->txid, 12))
		abort();
	n = mg_stun_build_error(out, m->txid, MG_STUN_ERROR_UNKNOWN_ATTRIBUTE, m->unknown,
				m->unknown_count < MG_STUN_UNKNOWN_MAX ? m->unknown_count
								       : MG_STUN_UNKNOWN_MAX);
	if (n > MG_STUN_ERROR_MAX || mg_stun_parse(&again, out, n) < 0 || again.error_code != 420)
		abort();
}

/* Sources alternate between IPv4 and IPv6, the larger answer. */
static void source(struct mg_endpoint *from)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static unsigned n;

	memset(from, 0, sizeof(*from));
	if (n++ & 1) {
		from->in6.sin6_family = AF_INET6;
		from->in6.sin6_port = htons(51820);
		memcpy(&from->in6.sin6_addr, v6, sizeof(v6));
		return;
	}
	from->in4.sin_family = AF_INET;
	from->in4.sin_port = htons(51820);
	from->in4.sin_addr.s_addr = htonl(0xC6336401);
}

static void check_server(const uint8_t *buf, size_t len, const struct mg_stun_message *m,
			 bool parsed)
{
	static struct mg_stun_server server;
	static struct answer answer;
	static bool ready;
	struct mg_endpoint from;
	struct mg_stun_message reply;
	bool taken;

	if (!ready) {
		if (mg_crypto_init() < 0)
			abort();
		mg_stun_server_init(&server, &ticking, record, &answer, NULL);
		ready = true;
	}
	source(&from);
	answer.count = 0;
	taken = mg_stun_server_receive(&server, &from, buf, len);
	if (answer.count > 1 || (answer.count && !(parsed && m->type == MG_STUN_BINDING_REQUEST)))
		abort();
	if (taken != (mg_stun_is_stun(buf, len) && buf[0] == 0 && buf[1] == 1))
		abort();
	if (!answer.count)
		return;
	if (mg_stun_parse(&reply, answer.buf, answer.len) < 0 || memcmp(reply.txid, m->txid, 12))
		abort();
	if (reply.type != MG_STUN_BINDING_SUCCESS || m->unknown_count ||
	    !mg_endpoint_equal(&reply.mapped, &from))
		abort();
	if (answer.len > MG_STUN_SERVER_ANSWER_MAX || answer.len > len + 24)
		abort();
	if (!(reply.present & MG_STUN_HAS_FINGERPRINT) != !(m->present & MG_STUN_HAS_FINGERPRINT))
		abort();
}

static void one(const uint8_t *buf, size_t len)
{
	struct mg_stun_message m;
	int ret;

	check_wireguard_apart(buf, len);
	ret = mg_stun_parse(&m, buf, len);
	if (ret == 0 && !mg_stun_is_stun(buf, len))
		abort();
	if (ret == 0)
		check_reencode(&m);
	check_server(buf, len, &m, ret == 0);
}

/* data[0]: bit 0 adds a FINGERPRINT, bits 1-2 pick the message type; the
 * rest becomes the attributes (cut to a multiple of 4). */
static size_t wrap(uint8_t *out, const uint8_t *data, size_t size)
{
	static const uint16_t types[4] = { 0x0001, 0x0101, 0x0111, 0x0011 };
	size_t body = (size - 1) & ~(size_t)3, len;

	if (body > MG_STUN_MAX_SIZE - MG_STUN_HEADER_SIZE - MG_STUN_FINGERPRINT_SIZE)
		body = MG_STUN_MAX_SIZE - MG_STUN_HEADER_SIZE - MG_STUN_FINGERPRINT_SIZE;
	len = MG_STUN_HEADER_SIZE + body + (data[0] & 1 ? MG_STUN_FINGERPRINT_SIZE : 0);
	out[0] = (uint8_t)(types[(data[0] >> 1) & 3] >> 8);
	out[1] = (uint8_t)types[(data[0] >> 1) & 3];
	out[2] = (uint8_t)((len - MG_STUN_HEADER_SIZE) >> 8);
	out[3] = (uint8_t)(len - MG_STUN_HEADER_SIZE);
	out[4] = 0x21, out[5] = 0x12, out[6] = 0xA4, out[7] = 0x42;
	memset(out + 8, 0x5A, MG_STUN_TXID_SIZE);
	memcpy(out + MG_STUN_HEADER_SIZE, data + 1, body);
	if (data[0] & 1) {
		uint8_t *fp = out + MG_STUN_HEADER_SIZE + body;
		uint32_t crc =
			mg_stun_crc32(out, MG_STUN_HEADER_SIZE + body) ^ MG_STUN_FINGERPRINT_XOR;
		fp[0] = 0x80, fp[1] = 0x28, fp[2] = 0, fp[3] = 4;
		fp[4] = (uint8_t)(crc >> 24), fp[5] = (uint8_t)(crc >> 16);
		fp[6] = (uint8_t)(crc >> 8), fp[7] = (uint8_t)crc;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MG_STUN_MAX_SIZE];

	one(data, size);
	if (size >= 1)
		one(buf, wrap(buf, data, size));
	return 0;
}
