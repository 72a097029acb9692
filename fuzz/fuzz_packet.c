/* Feeds arbitrary datagrams to a meshguard device that has a live session
 * with another device on the in-memory wire (tests/unit/wire.h): the input
 * as it is, then retyped as each WireGuard message (first byte 1..4, reserved
 * bytes zero, the size that type needs), and as a data message under the
 * session's real receiver index so decryption is attempted. Nothing may
 * crash, every datagram must be counted once (a stats field or the
 * other-protocol handler), and the session must still carry data after each
 * input.
 *
 * With MG_FUZZ_PACKET_SEEDS=<dir> in the environment, the first call also
 * writes real captured messages of every type into <dir> (how the seeds in
 * fuzz/corpus/packet/ were made). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/wire_extra.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire w;
static unsigned other_calls;
static uint8_t buf[65536];

static void count_other(void *ctx, const struct mg_endpoint *from, uint8_t *b, size_t len)
{
	(void)ctx, (void)from, (void)b, (void)len;
	other_calls++;
}

static void teardown(void)
{
	wire_free(&w);
}

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len) {
		fprintf(stderr, "fuzz_packet: cannot write seed '%s'\n", path);
		exit(1);
	}
	fclose(f);
}

static void pop_seed(struct wire *s, const char *dir, const char *name, struct datagram *d)
{
	if (!wire_pop(s, d))
		abort();
	write_seed(dir, name, d->buf, d->len);
}

/* Real messages of every type, from a scratch wire so the fuzzing devices
 * keep their state. */
static void dump_seeds(const char *dir)
{
	static struct wire s;
	static const uint8_t stun[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
					  3,	4,    5,    6,	  7,	8,    9,    10,	  11, 12 };
	struct datagram d;

	wire_init(&s, 2);
	wire_pair(&s, 0, 1, NULL, NULL);
	s.nodes[0].dev.force_under_load = true; /* the response gets a cookie reply */
	wire_send_ip(&s, 0, 1, 84);
	pop_seed(&s, dir, "initiation", &d);
	wire_inject(&s, &d);
	pop_seed(&s, dir, "response", &d);
	wire_inject(&s, &d);
	pop_seed(&s, dir, "cookie_reply", &d);
	wire_inject(&s, &d);
	s.nodes[0].dev.force_under_load = false;
	wire_advance(&s, 6000, 100); /* the retransmission completes it */
	if (s.nodes[1].delivered != 1)
		abort();
	wire_send_ip(&s, 1, 0, 84);
	pop_seed(&s, dir, "data_84", &d);
	wire_send_ip(&s, 1, 0, 1420);
	pop_seed(&s, dir, "data_1420", &d);
	mg_device_send_keepalive(wire_peer(&s, 1, 0));
	pop_seed(&s, dir, "keepalive", &d);
	write_seed(dir, "stun_binding_request", stun, sizeof(stun));
	wire_free(&s);
}

static void setup(void)
{
	const char *seeds = getenv("MG_FUZZ_PACKET_SEEDS");

	mg_log_default()->threshold = MG_LOG_ERROR;
	if (seeds)
		dump_seeds(seeds);
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_send_ip(&w, 0, 1, 84);
	wire_pump(&w);
	wire_send_ip(&w, 1, 0, 84);
	wire_pump(&w);
	if (w.nodes[1].delivered != 1 || w.nodes[0].delivered != 1)
		abort();
	mg_device_set_other_handler(&w.nodes[1].dev, count_other, NULL);
	atexit(teardown);
}

static uint64_t accounted(void)
{
	const struct mg_device_stats *s = &w.nodes[1].dev.stats;

	return s->rx_invalid + s->rx_bad_mac1 + s->rx_handshake_failed + s->rx_cookie_sent +
	       s->rx_ratelimited + s->rx_bad_cookie + s->rx_unknown_index + s->rx_expired_key +
	       s->rx_decrypt_failed + s->rx_replayed + s->rx_bad_ip + s->rx_not_allowed +
	       s->rx_not_wireguard + other_calls;
}

/* One datagram to node 1 from node 0's address; it must be refused and
 * counted exactly once (a fuzzer cannot forge an authentic message). */
static void feed(size_t len)
{
	uint64_t before = accounted();
	unsigned delivered = w.nodes[1].delivered;

	mg_device_receive(&w.nodes[1].dev, &w.nodes[0].addr, buf, len);
	if (accounted() != before + 1 || w.nodes[1].delivered != delivered)
		abort();
}

static size_t as_type(const uint8_t *data, size_t size, uint8_t type)
{
	static const size_t sizes[] = { 0, sizeof(struct mg_msg_initiation),
					sizeof(struct mg_msg_response),
					sizeof(struct mg_msg_cookie_reply) };
	size_t len = type == MG_MSG_DATA ? (size < MG_DATA_MIN_SIZE ? MG_DATA_MIN_SIZE : size)
					 : sizes[type];

	memset(buf, 0, len);
	memcpy(buf, data, size < len ? size : len);
	buf[0] = type;
	buf[1] = buf[2] = buf[3] = 0;
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct mg_keypair *kp;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);

	memcpy(buf, data, size);
	feed(size);
	for (uint8_t t = MG_MSG_INITIATION; t <= MG_MSG_DATA; t++)
		feed(as_type(data, size, t));
	kp = wire_peer(&w, 1, 0)->keypairs.current;
	if (kp) {
		size_t len = as_type(data, size, MG_MSG_DATA);
		uint32_t idx = htole32(kp->entry.index);
		memcpy(buf + 4, &idx, sizeof(idx));
		feed(len);
	}
	wire_pump(&w);

	/* The session still works, and time moves on a little. */
	unsigned delivered = w.nodes[1].delivered;
	wire_send_ip(&w, 0, 1, 60);
	wire_pump(&w);
	if (w.nodes[1].delivered != delivered + 1)
		abort();
	wire_advance(&w, 10, 10);
	return 0;
}
