/* Past the crypto: two engines with an established session, A (the
 * caller's UDP, its datagrams held by the harness) and B (a real UDP socket
 * on loopback, so what it reads comes in batches and its GRO coalesces), each
 * with a SOCK_SEQPACKET socketpair as a TUN device with virtio-net headers
 * and TSO. The input is a sequence of operations:
 *   0 len bytes...      a packet on A's TUN (GSO_NONE; flag bits fix up its
 *                       IP version, addresses, lengths and ask for a
 *                       NEEDS_CSUM transport checksum, so TCP segments GRO
 *                       can merge are within reach)
 *   1 len hdr bytes...  a super-packet on A's TUN (TCPV4/TCPV6/UDP_L4)
 *   2                   run the loop: A reads its TUN and seals
 *   3 order             hand A's datagrams to B (in order or reversed)
 *   4 len bytes...      a raw datagram to B from A's address (as is, or as a
 *                       data message under B's current receiver index)
 *   5 i                 replay one of the last datagrams A sent
 *   6 hi lo             advance the fake clock (ticks on the way)
 *   7                   lose A's queued datagrams
 * Invariants: every packet B writes to its TUN (each segment of a coalesced
 * one) is, byte for byte, one A was given in this input (as A's engine
 * segments it, zero-padded as WireGuard pads and cut to its IP length) and
 * comes from A's tunnel address, at most as often as it was given; B's TUN
 * writes add up;
 * no engine ever rejects a sealed datagram; and after each input the session
 * (or a new one) still carries a packet. Nothing may crash or leak. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tests/unit/offload_pkt.h"
#include "crypto/primitives.h"
#include "tunnel/engine.h"
#include "tunnel/tun.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QUEUE	 256
#define RING	 16
#define EXPECTED 4096 /* packets (segments) one input may give A */
/* Segments of one TUN read: at most what the engine sends in one batch;
 * of one GRO write, what 64 KiB of the smallest TCP segments make. */
#define MAX_SEGS 4096
#define SEG_ROOM (MAX_SEGS * MG_OFFLOAD_MAX_HDR + 2 * 65535)

struct held {
	size_t len;
	uint8_t buf[2048];
};

struct fake_clock {
	struct mg_clock clock;
	uint64_t mono;
};

static struct fake_clock clk;
static uv_loop_t loop;
static struct mg_engine a, b;
static int tun_a, tun_b; /* the harness's ends */
static int hs;		 /* A's address, as B sees it */
static struct mg_endpoint hs_addr, b_addr;
static struct mg_peer *b_peer; /* A, as B's peer */
static struct held queue[QUEUE], ring[RING];
static unsigned queued, ring_next;
static uint64_t b_frames; /* frames read from B's TUN */

/* A multiset of what A was given: hashes of the packets as B would hand
 * them on (trimmed to the IP length), with counts. */
static struct {
	uint64_t hash[EXPECTED];
	unsigned count[EXPECTED];
	unsigned n;
} expected;
static unsigned delivered; /* packets (segments) B handed its TUN */

static uint64_t fake_mono(const struct mg_clock *c)
{
	return ((const struct fake_clock *)c)->mono;
}

static void fake_wall(const struct mg_clock *c, struct timespec *ts)
{
	uint64_t m = ((const struct fake_clock *)c)->mono;
	ts->tv_sec = 1700000000 + (time_t)(m / MG_NSEC_PER_SEC);
	ts->tv_nsec = (long)(m % MG_NSEC_PER_SEC);
}

static uint64_t fnv(const uint8_t *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ len;
}

/* The length B's device keeps of a decrypted packet (device.c
 * inner_packet), or 0 if it drops it. */
static size_t ip_len(const uint8_t *p, size_t len)
{
	size_t n;

	if (len >= 20 && p[0] >> 4 == 4) {
		n = (size_t)p[2] << 8 | p[3];
		return n >= 20 && n <= len ? n : 0;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		n = ((size_t)p[4] << 8 | p[5]) + 40;
		return n <= len ? n : 0;
	}
	return 0;
}

/* The length A's device pads len to (device.c padded_length, as
 * wireguard-go pads): a packet whose IP header claims more than A was given
 * reaches B with some of that zero padding, as the kernel's would. */
static size_t padded(size_t len)
{
	size_t mtu = a.dev.mtu, last = len, p;

	if (mtu && last > mtu)
		last %= mtu;
	p = (last + 15) & ~(size_t)15;
	if (mtu && p > mtu)
		p = mtu;
	return p < last ? len : len + (p - last);
}

static void expect(const uint8_t *pkt, size_t len)
{
	static uint8_t p[65535 + 16];
	size_t n, plen = padded(len);
	uint64_t h;

	if (plen > sizeof(p))
		return;
	memcpy(p, pkt, len);
	memset(p + len, 0, plen - len);
	n = ip_len(p, plen);
	if (!n)
		return;
	h = fnv(p, n);
	for (unsigned i = 0; i < expected.n; i++)
		if (expected.hash[i] == h) {
			expected.count[i]++;
			return;
		}
	if (expected.n < EXPECTED) {
		expected.hash[expected.n] = h;
		expected.count[expected.n++] = 1;
	}
}

/* One packet B delivered: it must be one A was given, still owed. */
static void check_delivered(const uint8_t *p, size_t len)
{
	uint64_t h = fnv(p, len);

	if (ip_len(p, len) != len)
		abort();
	if (p[0] >> 4 == 4 ? memcmp(p + 12, ADDR4_A, 4) : memcmp(p + 8, ADDR6_A, 16))
		abort();
	for (unsigned i = 0; i < expected.n; i++)
		if (expected.hash[i] == h) {
			if (expected.count[i] == 0)
				abort(); /* delivered more often than sent */
			expected.count[i]--;
			delivered++;
			return;
		}
	fprintf(stderr, "fuzz_session: B delivered a packet A was never given:");
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", p[i]);
	fprintf(stderr, "\n");
	abort(); /* never sent */
}

/* What A's engine makes of a TUN read, done here on a copy: the segments
 * its device is given. */
static void expect_tun(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	static uint8_t out[SEG_ROOM];
	static size_t lens[MAX_SEGS];
	size_t off = 0;
	int n;

	n = mg_offload_segment(h, pkt, len, out, sizeof(out), 0, lens, MG_UDP_TX_MAX);
	for (int i = 0; i < n; off += lens[i++])
		expect(out + off, lens[i]);
}

static void drain_tun_b(void)
{
	static uint8_t frame[MG_OFFLOAD_VNET_HDR_LEN + 65535], out[SEG_ROOM];
	static size_t lens[MAX_SEGS];
	struct virtio_net_hdr h;
	ssize_t n;

	while ((n = read(tun_b, frame, sizeof(frame))) > 0) {
		b_frames++;
		if ((size_t)n <= MG_OFFLOAD_VNET_HDR_LEN)
			abort();
		memcpy(&h, frame, sizeof(h));
		n -= MG_OFFLOAD_VNET_HDR_LEN;
		int segs = mg_offload_segment(&h, frame + MG_OFFLOAD_VNET_HDR_LEN, (size_t)n, out,
					      sizeof(out), 0, lens, MAX_SEGS);
		if (segs < 1)
			abort(); /* GRO wrote what the kernel would refuse */
		size_t off = 0;
		for (int i = 0; i < segs; off += lens[i++])
			check_delivered(out + off, lens[i]);
	}
	/* A must never get anything: B sends it no data. */
	while ((n = read(tun_a, frame, sizeof(frame))) > 0)
		abort();
}

static int a_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct held *d;

	(void)ctx;
	if (!mg_endpoint_equal_remote(to, &b_addr))
		abort();
	if (queued == QUEUE || len > sizeof(d->buf))
		return -ENOBUFS;
	d = &queue[queued++];
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

static void to_b(const uint8_t *buf, size_t len)
{
	sendto(hs, buf, len, 0, &b_addr.sa, sizeof(b_addr.in4));
}

/* B's answers (handshake responses, keepalives) to A. */
static unsigned from_b(void)
{
	static uint8_t buf[65536];
	unsigned n = 0;
	ssize_t len;

	while ((len = recv(hs, buf, sizeof(buf), 0)) > 0) {
		if (mg_engine_udp_input(&a, &b_addr, buf, (size_t)len) < 0)
			abort();
		n++;
	}
	return n;
}

/* Sends A's queue to B, reversed on request, remembering the last few. */
static unsigned send_queue(bool reversed)
{
	unsigned n = queued;

	for (unsigned k = 0; k < n; k++) {
		struct held *d = &queue[reversed ? n - 1 - k : k];
		to_b(d->buf, d->len);
		ring[ring_next++ % RING] = *d;
	}
	queued = 0;
	return n;
}

/* Returns how much moved: datagrams sent either way or read by B (which
 * reads a bounded batch per wake-up, so a long queue takes several). */
static uint64_t round_trip(bool reversed)
{
	uint64_t moved, read_before = b.stats.udp_read_datagrams;

	uv_run(&loop, UV_RUN_NOWAIT);
	moved = send_queue(reversed);
	uv_run(&loop, UV_RUN_NOWAIT);
	moved += from_b();
	drain_tun_b();
	return moved + (b.stats.udp_read_datagrams - read_before);
}

static void pump(void)
{
	for (int i = 0; i < 64 && round_trip(false); i++)
		;
}

static void check_stats(void)
{
	if (a.stats.tx_rejected || b.stats.tx_rejected)
		abort();
	if (b.stats.tun_writes != b_frames + b.stats.tun_write_dropped)
		abort();
}

static void advance(uint64_t ms)
{
	while (ms) {
		uint64_t step = ms < 5000 ? ms : 5000;
		clk.mono += step * MG_NSEC_PER_MSEC;
		ms -= step;
		mg_device_tick(&a.dev);
		mg_device_tick(&b.dev);
		pump();
	}
}

static void tun_put(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	static uint8_t frame[MG_OFFLOAD_VNET_HDR_LEN + 65535];

	memcpy(frame, h, MG_OFFLOAD_VNET_HDR_LEN);
	memcpy(frame + MG_OFFLOAD_VNET_HDR_LEN, pkt, len);
	for (int tries = 0; tries < 2; tries++) {
		if (write(tun_a, frame, MG_OFFLOAD_VNET_HDR_LEN + len) >= 0) {
			expect_tun(h, pkt, len);
			return;
		}
		uv_run(&loop, UV_RUN_NOWAIT); /* A's TUN queue is full */
	}
}

/* A probe from A to B that must arrive: the session works, or a new one
 * comes up within a few retransmissions. */
static void check_alive(void)
{
	uint8_t pkt[64] = { 0x45, 0, 0, 64, 0, 0, 0x40, 0, 64, IPPROTO_UDP };
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	unsigned before = delivered;

	memcpy(pkt + 12, ADDR4_A, 4);
	memcpy(pkt + 16, ADDR4_B, 4);
	memcpy(pkt + 20, "probe", 5);
	wr16(pkt + 10, (uint16_t)~ref_sum(pkt, 20, 0));
	/* Sent again while it has not arrived: a datagram the kernel dropped
	 * (B's receive buffer full) is gone for good. */
	for (int i = 0; i < 8 && delivered == before; i++) {
		tun_put(&h, pkt, sizeof(pkt));
		pump();
		if (delivered == before)
			advance(6000);
	}
	if (delivered == before)
		abort();
}

static struct mg_peer *add_peer(struct mg_engine *e, const uint8_t *priv,
				const struct mg_endpoint *ep, const uint8_t *v4, const uint8_t *v6)
{
	struct mg_prefix p4 = { .family = AF_INET, .cidr = 32 };
	struct mg_prefix p6 = { .family = AF_INET6, .cidr = 128 };
	uint8_t pub[32];
	struct mg_peer *peer;

	mg_x25519_public(pub, priv);
	memcpy(p4.addr, v4, 4);
	memcpy(p6.addr, v6, 16);
	if (mg_device_add_peer(&e->dev, pub, &peer) < 0)
		abort();
	mg_device_peer_set_endpoint(peer, ep);
	if (mg_device_peer_add_allowed_ip(peer, &p4) < 0 ||
	    mg_device_peer_add_allowed_ip(peer, &p6) < 0)
		abort();
	return peer;
}

static int tun_pair(int *engine_end)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	*engine_end = sv[0];
	return sv[1];
}

static void teardown(void)
{
	/* MG_FUZZ_SESSION_STATS=1: what a replay reached. */
	if (getenv("MG_FUZZ_SESSION_STATS"))
		fprintf(stderr,
			"delivered %u, B tun writes %llu, A segments %llu, A bad %llu, "
			"handshakes %llu, B replayed %llu, B not allowed %llu, B bad ip %llu, "
			"B decrypt failed %llu\n",
			delivered, (unsigned long long)b.stats.tun_writes,
			(unsigned long long)a.stats.tun_segments,
			(unsigned long long)a.stats.tun_bad_packets,
			(unsigned long long)b.dev.stats.handshakes_completed,
			(unsigned long long)b.dev.stats.rx_replayed,
			(unsigned long long)b.dev.stats.rx_not_allowed,
			(unsigned long long)b.dev.stats.rx_bad_ip,
			(unsigned long long)b.dev.stats.rx_decrypt_failed);
	mg_engine_close(&a);
	mg_engine_close(&b);
	uv_run(&loop, UV_RUN_DEFAULT);
	mg_engine_free(&a);
	mg_engine_free(&b);
	uv_loop_close(&loop);
	close(tun_a);
	close(tun_b);
	close(hs);
}

static void setup(void)
{
	static uint8_t priv_a[32], priv_b[32];
	struct mg_engine_config ca = {
		.tun_offload = MG_TUN_VNET_HDR | MG_TUN_TSO,
		.clock = &clk.clock,
		.port = 51820,
		.udp_send = a_send,
	};
	struct mg_engine_config cb = ca;
	socklen_t alen = sizeof(hs_addr.in4);

	mg_log_default()->threshold = MG_LOG_ERROR;
	if (mg_crypto_init() < 0)
		abort();
	clk.clock.monotonic_ns = fake_mono;
	clk.clock.wall = fake_wall;
	clk.mono = 1000 * MG_NSEC_PER_SEC;
	/* Fixed keys: the same session set-up on every run. */
	for (int i = 0; i < 32; i++)
		priv_a[i] = (uint8_t)(i + 1), priv_b[i] = (uint8_t)(i + 101);
	mg_x25519_clamp(priv_a);
	mg_x25519_clamp(priv_b);

	hs = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	memset(&hs_addr, 0, sizeof(hs_addr));
	hs_addr.in4.sin_family = AF_INET;
	hs_addr.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (hs < 0 || bind(hs, &hs_addr.sa, alen) < 0 || getsockname(hs, &hs_addr.sa, &alen) < 0)
		abort();

	if (uv_loop_init(&loop) < 0)
		abort();
	tun_a = tun_pair(&ca.tun_fd);
	tun_b = tun_pair(&cb.tun_fd);
	cb.udp_send = NULL;
	cb.port = 0;
	if (mg_engine_init(&a, &loop, &ca) < 0 || mg_engine_init(&b, &loop, &cb) < 0)
		abort();
	memset(&b_addr, 0, sizeof(b_addr));
	b_addr.in4.sin_family = AF_INET;
	b_addr.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b_addr.in4.sin_port = htons(b.udp.port);
	mg_device_set_private_key(&a.dev, priv_a);
	mg_device_set_private_key(&b.dev, priv_b);
	add_peer(&a, priv_b, &b_addr, ADDR4_B, ADDR6_B);
	b_peer = add_peer(&b, priv_a, &hs_addr, ADDR4_A, ADDR6_A);
	if (mg_engine_start(&a) < 0 || mg_engine_start(&b) < 0)
		abort();
	atexit(teardown);
	check_alive();
}

/* ---- the input ---- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint8_t take(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static size_t take_len(struct cursor *c, size_t max)
{
	size_t n = (size_t)take(c) << 8 | take(c);
	n = n > max ? max : n;
	return n > c->left ? c->left : n;
}

static const uint8_t *take_bytes(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

enum {
	FIX_V6 = 1,    /* make it IPv6, else IPv4 */
	FIX_ADDR = 2,  /* A's address to B's */
	FIX_LEN = 4,   /* IP (and UDP) length fields match */
	FIX_CSUM = 8,  /* NEEDS_CSUM at the transport checksum */
	FIX_PROTO = 16 /* TCP if bit 5 clear, else UDP */
};

/* Rewrites the fields a fuzzer would take long to guess; returns the
 * transport header's offset, or 0 when there is none. */
static size_t fix_ip(uint8_t *p, size_t len, uint8_t flags)
{
	bool v6 = flags & FIX_V6;
	size_t l3;

	if (len < (v6 ? 40u : 20u))
		return 0;
	if (v6) {
		p[0] = (uint8_t)(0x60 | (p[0] & 0x0f));
		l3 = 40;
		if (flags & FIX_ADDR)
			memcpy(p + 8, ADDR6_A, 16), memcpy(p + 24, ADDR6_B, 16);
		if (flags & FIX_PROTO)
			p[6] = flags & 32 ? IPPROTO_UDP : IPPROTO_TCP;
		if (flags & FIX_LEN)
			wr16(p + 4, (uint16_t)(len - 40));
	} else {
		p[0] = 0x45;
		l3 = 20;
		if (flags & FIX_ADDR)
			memcpy(p + 12, ADDR4_A, 4), memcpy(p + 16, ADDR4_B, 4);
		if (flags & FIX_PROTO)
			p[9] = flags & 32 ? IPPROTO_UDP : IPPROTO_TCP;
		if (flags & FIX_LEN)
			wr16(p + 2, (uint16_t)len);
		p[6] &= 0x40; /* no fragments */
		p[7] = 0;
		wr16(p + 10, 0);
		wr16(p + 10, (uint16_t)~ref_sum(p, 20, 0));
	}
	if (ref_proto(p) == IPPROTO_TCP && len >= l3 + 20) {
		p[l3 + 12] = (uint8_t)(5 << 4 | (p[l3 + 12] & 0x0f));
		return l3;
	}
	if (ref_proto(p) == IPPROTO_UDP && len >= l3 + 8) {
		if (flags & FIX_LEN)
			wr16(p + l3 + 4, (uint16_t)(len - l3));
		return l3;
	}
	return 0;
}

static void op_tun(struct cursor *c, bool gso)
{
	static uint8_t pkt[65535];
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	uint8_t flags = take(c);
	uint16_t gso_size = (uint16_t)(take(c) << 8 | take(c));
	size_t len = take_len(c, sizeof(pkt)), l3;

	memcpy(pkt, take_bytes(c, len), len);
	l3 = fix_ip(pkt, len, flags);
	if (l3 && (flags & FIX_CSUM)) {
		bool tcp = ref_proto(pkt) == IPPROTO_TCP;
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)l3;
		h.csum_offset = tcp ? 16 : 6;
		wr16(pkt + ref_l4_csum_at(pkt), (uint16_t)ref_pseudo(pkt, len));
		if (gso) {
			h.gso_type = !tcp	      ? VIRTIO_NET_HDR_GSO_UDP_L4
				     : flags & FIX_V6 ? VIRTIO_NET_HDR_GSO_TCPV6
						      : VIRTIO_NET_HDR_GSO_TCPV4;
			h.gso_size = gso_size;
			h.hdr_len = (uint16_t)(l3 + (tcp ? 20 : 8));
		}
	} else if (gso) {
		/* An arbitrary header: A must refuse what it cannot honour. */
		h.flags = (uint8_t)(gso_size >> 8);
		h.gso_type = (uint8_t)gso_size;
		h.gso_size = gso_size;
		h.csum_start = (uint16_t)(flags * 4u);
		h.csum_offset = (uint16_t)(flags & 31);
	}
	if (len)
		tun_put(&h, pkt, len);
}

static void op_raw(struct cursor *c)
{
	static uint8_t buf[2048];
	uint8_t mode = take(c);
	size_t len = take_len(c, sizeof(buf));
	memcpy(buf, take_bytes(c, len), len);
	if (mode & 1) {
		/* A data message for B's current keypair; it cannot authenticate. */
		struct mg_keypair *kp = b_peer->keypairs.current;
		if (len < MG_DATA_MIN_SIZE)
			len = MG_DATA_MIN_SIZE;
		buf[0] = MG_MSG_DATA, buf[1] = buf[2] = buf[3] = 0;
		if (kp) {
			uint32_t idx = htole32(kp->entry.index);
			memcpy(buf + 4, &idx, 4);
		}
	}
	to_b(buf, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct cursor c = { data, size };

	if (!ready) {
		setup();
		ready = true;
	}
	memset(&expected, 0, sizeof(expected));
	memset(ring, 0, sizeof(ring));
	ring_next = 0;
	for (int ops = 0; c.left && ops < 256; ops++) {
		uint8_t op = take(&c);
		switch (op & 7) {
		case 0:
		case 1:
			op_tun(&c, op & 1);
			break;
		case 2:
			uv_run(&loop, UV_RUN_NOWAIT);
			break;
		case 3:
			round_trip(take(&c) & 1);
			break;
		case 4:
			op_raw(&c);
			uv_run(&loop, UV_RUN_NOWAIT);
			from_b();
			drain_tun_b();
			break;
		case 5: {
			struct held *d = &ring[take(&c) % RING];
			if (d->len)
				to_b(d->buf, d->len);
			break;
		}
		case 6:
			advance((uint64_t)(take(&c) << 8 | take(&c)) * 10);
			break;
		case 7:
			queued = 0;
			break;
		}
		check_stats();
	}
	pump();
	check_stats();
	check_alive();
	queued = 0;
	return 0;
}
