/* The engine's batching: a real mg_engine with real UDP sockets in a private
 * namespace, a SOCK_SEQPACKET socketpair standing in for its TUN device (with
 * virtio-net headers and TSO, so the test writes super-packets exactly as the
 * kernel hands them over), and the fake clock of the in-memory wire. The two
 * remote peers are plain devices on that wire whose datagrams cross real
 * sockets to and from the engine.
 *
 * Each phase writes a whole batch before the loop runs once, so everything
 * in it is handled in one wake-up:
 *  1. the clock is past REKEY_AFTER_TIME, and the batch's first TSO
 *     super-packet makes the device start a rekey while its segments are
 *     being sealed; packets to an address no peer routes (holding a marker)
 *     and packets that get staged (for a peer with no session) come between
 *     more super-packets;
 *  2. one receive batch in which two handshakes complete between data
 *     datagrams, so the engine sends a keepalive and staged data from inside
 *     the receive path;
 *  3. bulk data again under the new keypair.
 * Every datagram that leaves must be a WireGuard message of the right size
 * that the receiving device decrypts exactly once, no marker may ever cross
 * the wire, and every segment and packet must arrive exactly once. */
#include "check.h"
#include "netns.h"
#include "offload_pkt.h"
#include "wire.h"

#include "tunnel/engine.h"
#include "tunnel/tun.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	ENGINE = 0, /* the wire node whose keys the engine uses */
	PEER_B = 1, /* has a session with the engine */
	PEER_C = 2, /* reached only in phase 1: its packets are staged */
	MSS = 1368, /* 1420-byte segments: the default MTU */
	MAX_SEGS = 4096,
};

static const char MARKER[] = "CLEARTEXT-MUST-NOT-LEAVE";
static const uint8_t ADDR_C[16] = { 10, 0, 0, 3 };
static const uint8_t ADDR_UNROUTED[16] = { 10, 9, 9, 9 };

struct remote {
	int sock;
	unsigned wg_datagrams;
	unsigned by_type[5];
};

static struct wire w;
static struct remote remotes[3];
static struct mg_engine engine;
static uv_loop_t loop;
static int tun_fd; /* the test's end of the socketpair */
static struct mg_endpoint engine_addr;

/* What peer B must receive, by TCP source port and sequence number, and
 * what the engine's TUN must receive from B, by packet id. */
static uint8_t want_seg[MAX_SEGS], got_seg[MAX_SEGS];
static uint8_t got_from_b[256];
static unsigned delivered_seen[3];

static void open_remote(struct remote *r, struct mg_endpoint *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int big = 8 << 20;

	r->sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CHECK(r->sock >= 0);
	CHECK(setsockopt(r->sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) == 0);
	CHECK(bind(r->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(r->sock, (struct sockaddr *)&sa, &len) == 0);
	memset(addr, 0, sizeof(*addr));
	addr->in4 = sa;
}

static void open_tun_pair(int *engine_end)
{
	int sv[2], big = 8 << 20;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) == 0);
		CHECK(setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) == 0);
	}
	*engine_end = sv[0];
	tun_fd = sv[1];
}

static void add_peer(struct mg_device *dev, const uint8_t *key, const struct mg_endpoint *ep,
		     const uint8_t addr[4])
{
	struct mg_prefix p = { .family = AF_INET, .cidr = 32 };
	struct mg_peer *peer;

	CHECK_EQ(mg_device_add_peer(dev, key, &peer), 0);
	mg_device_peer_set_endpoint(peer, ep);
	memcpy(p.addr, addr, 4);
	CHECK_EQ(mg_device_peer_add_allowed_ip(peer, &p), 0);
}

static void setup(void)
{
	struct mg_engine_config ec = {
		.tun_offload = MG_TUN_VNET_HDR | MG_TUN_TSO,
		.clock = &w.clock.clock,
	};
	uint8_t ip[4];

	enter_netns();
	wire_init(&w, 3);
	open_tun_pair(&ec.tun_fd);
	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(mg_engine_init(&engine, &loop, &ec), 0);
	memset(&engine_addr, 0, sizeof(engine_addr));
	engine_addr.in4.sin_family = AF_INET;
	engine_addr.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	engine_addr.in4.sin_port = htons(engine.udp.port);
	/* The wire routes datagrams to the engine by its address. */
	w.nodes[ENGINE].addr = engine_addr;
	mg_device_set_private_key(&engine.dev, w.nodes[ENGINE].private_key);
	for (int i = PEER_B; i <= PEER_C; i++) {
		open_remote(&remotes[i], &w.nodes[i].addr);
		wire_tunnel_ip(i, ip);
		add_peer(&engine.dev, w.nodes[i].public_key, &w.nodes[i].addr, ip);
		wire_tunnel_ip(ENGINE, ip);
		add_peer(&w.nodes[i].dev, w.nodes[ENGINE].public_key, &engine_addr, ip);
	}
	CHECK_EQ(mg_engine_start(&engine), 0);
}

/* ---- what the engine reads from its TUN ---- */

static void tun_put(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	uint8_t buf[MG_OFFLOAD_VNET_HDR_LEN + 65535];

	memcpy(buf, h, MG_OFFLOAD_VNET_HDR_LEN);
	memcpy(buf + MG_OFFLOAD_VNET_HDR_LEN, pkt, len);
	CHECK_EQ(write(tun_fd, buf, MG_OFFLOAD_VNET_HDR_LEN + len),
		 (ssize_t)(MG_OFFLOAD_VNET_HDR_LEN + len));
}

/* Segments are numbered by source port (one per super-packet) and offset. */
static unsigned seg_id(uint16_t sport, uint32_t seq)
{
	return (unsigned)(sport - 40000) * 64 + seq / MSS;
}

/* A TSO super-packet of segs segments of MSS bytes to dst. */
static void put_tso(uint16_t sport, unsigned segs)
{
	static uint8_t payload[65535], pkt[65535];
	struct pkt_spec s = spec_tcp(4);
	struct virtio_net_hdr h;
	size_t len;

	s.sport = sport;
	s.seq = 0;
	fill_payload(payload, segs * MSS, sport);
	len = build_pkt(pkt, &s, payload, segs * MSS);
	h = make_gso(pkt, len, MSS);
	tun_put(&h, pkt, len);
	for (unsigned i = 0; i < segs; i++)
		want_seg[seg_id(sport, i * MSS)] = 1;
}

/* A plain UDP packet to dst; with marker, its payload is the marker over and
 * over (it must never be seen on the wire), else the id's byte. */
static void put_udp(const uint8_t dst[16], size_t payload_len, uint16_t id, bool marker)
{
	uint8_t payload[1200], pkt[1300];
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct pkt_spec s = spec_tcp(4);
	size_t len;

	CHECK(payload_len <= sizeof(payload) && payload_len >= sizeof(MARKER));
	s.proto = IPPROTO_UDP;
	s.sport = id;
	memcpy(s.dst, dst, 16);
	memset(payload, (uint8_t)id, payload_len);
	for (size_t i = 0; marker && i < payload_len; i += sizeof(MARKER))
		memcpy(payload + i, MARKER,
		       payload_len - i < sizeof(MARKER) ? payload_len - i : sizeof(MARKER));
	len = build_pkt(pkt, &s, payload, payload_len);
	tun_put(&h, pkt, len);
}

static void run_loop_once(void)
{
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- the wire between the remotes and the engine ---- */

static bool holds_marker(const uint8_t *buf, size_t len)
{
	return memmem(buf, len, MARKER, 8) != NULL;
}

/* A WireGuard message of its type's size, reserved bytes zero. */
static bool is_wireguard(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[1] || buf[2] || buf[3])
		return false;
	switch (buf[0]) {
	case MG_MSG_INITIATION:
		return len == sizeof(struct mg_msg_initiation);
	case MG_MSG_RESPONSE:
		return len == sizeof(struct mg_msg_response);
	case MG_MSG_COOKIE_REPLY:
		return len == sizeof(struct mg_msg_cookie_reply);
	case MG_MSG_DATA:
		/* Padded to a multiple of 16, but never past the MTU. */
		return len >= MG_DATA_MIN_SIZE &&
		       ((len - MG_DATA_MIN_SIZE) % MG_PADDING_MULTIPLE == 0 ||
			len - MG_DATA_MIN_SIZE == engine.dev.mtu);
	}
	return false;
}

/* What remote i's device decrypted, checked and counted once. */
static void account_delivery(int i)
{
	struct node *n = &w.nodes[i];
	const uint8_t *ip = n->last_delivered;

	if (n->delivered == delivered_seen[i])
		return;
	CHECK_EQ(n->delivered, delivered_seen[i] + 1);
	delivered_seen[i] = n->delivered;
	CHECK(!holds_marker(ip, n->last_delivered_len));
	if (i != PEER_B || ip[9] != IPPROTO_TCP)
		return;
	unsigned id = seg_id(rd16(ip + 20), rd32(ip + 24));
	CHECK(id < MAX_SEGS && want_seg[id]);
	CHECK_EQ(got_seg[id], 0); /* exactly once */
	got_seg[id] = 1;
}

/* Reads everything the engine sent to remote i and feeds it to its device. */
static unsigned drain_remote(int i)
{
	static uint8_t buf[65536];
	struct remote *r = &remotes[i];
	struct mg_endpoint from;
	unsigned n = 0;

	for (;;) {
		socklen_t alen = sizeof(from);
		ssize_t len = recvfrom(r->sock, buf, sizeof(buf), 0, &from.sa, &alen);
		if (len < 0) {
			CHECK(errno == EAGAIN);
			return n;
		}
		n++;
		CHECK(!holds_marker(buf, (size_t)len));
		if (!is_wireguard(buf, (size_t)len)) {
			fprintf(stderr, "not a WireGuard message: %zd bytes, first %02x\n", len,
				buf[0]);
			exit(1);
		}
		r->wg_datagrams++;
		r->by_type[buf[0]]++;
		mg_device_receive(&w.nodes[i].dev, &from, buf, (size_t)len);
		account_delivery(i);
	}
}

/* Takes what the remotes' devices put on the wire, in order. */
static unsigned take_from_wire(struct datagram *out, unsigned max)
{
	unsigned n = 0;

	while (w.len && n < max) {
		out[n++] = w.queue[w.head];
		w.head = (w.head + 1) % WIRE_QUEUE;
		w.len--;
	}
	return n;
}

static void send_to_engine(const struct datagram *d)
{
	int from = wire_node_by_addr(&w, &d->from);

	CHECK(from == PEER_B || from == PEER_C);
	CHECK_EQ(sendto(remotes[from].sock, d->buf, d->len, 0, &engine_addr.sa,
			sizeof(engine_addr.in4)),
		 (ssize_t)d->len);
}

/* Packets the engine wrote to its TUN: B's numbered UDP packets, once each. */
static unsigned drain_tun(void)
{
	static uint8_t buf[MG_OFFLOAD_VNET_HDR_LEN + 65535];
	unsigned n = 0;
	ssize_t len;

	while ((len = read(tun_fd, buf, sizeof(buf))) > 0) {
		const uint8_t *ip = buf + MG_OFFLOAD_VNET_HDR_LEN;
		CHECK(len > MG_OFFLOAD_VNET_HDR_LEN + 28);
		CHECK_EQ(ip[9], IPPROTO_UDP);
		uint8_t id = ip[28];
		CHECK_EQ(got_from_b[id], 0);
		got_from_b[id] = 1;
		n++;
	}
	CHECK(errno == EAGAIN);
	return n;
}

/* B sends a numbered UDP packet through its device (onto the wire). */
static void b_sends(uint8_t id)
{
	uint8_t buf[MG_DEVICE_HEADROOM + 200 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM, payload[100];
	struct pkt_spec s = spec_tcp(4);

	memset(payload, id, sizeof(payload));
	s.proto = IPPROTO_UDP;
	memcpy(s.src, ADDR4_B, 16);
	memcpy(s.dst, ADDR4_A, 16);
	build_pkt(pkt, &s, payload, sizeof(payload));
	mg_device_send_packet(&w.nodes[PEER_B].dev, pkt, 28 + sizeof(payload));
}

static void advance_clock(uint64_t ns)
{
	w.clock.mono += ns;
	w.clock.wall.tv_sec += (time_t)(ns / MG_NSEC_PER_SEC);
}

static void check_all_segments_arrived(void)
{
	for (unsigned i = 0; i < MAX_SEGS; i++)
		if (want_seg[i] && !got_seg[i]) {
			fprintf(stderr, "segment %u never arrived\n", i);
			exit(1);
		}
}

static void check_clean_receivers(void)
{
	for (int i = PEER_B; i <= PEER_C; i++) {
		const struct mg_device_stats *s = &w.nodes[i].dev.stats;
		CHECK_EQ(s->rx_decrypt_failed, 0);
		CHECK_EQ(s->rx_replayed, 0);
		CHECK_EQ(s->rx_unknown_index, 0);
		CHECK_EQ(s->rx_invalid, 0);
		CHECK_EQ(s->rx_bad_ip, 0);
	}
	CHECK_EQ(engine.dev.stats.rx_decrypt_failed, 0);
	CHECK_EQ(engine.dev.stats.rx_replayed, 0);
	CHECK_EQ(engine.stats.tx_rejected, 0);
	CHECK_EQ(engine.stats.udp_send_failed, 0);
	CHECK_EQ(engine.stats.tun_write_dropped, 0);
}

/* The first session with B, the engine initiating. */
static void handshake_with_b(void)
{
	struct datagram response;

	put_tso(40000, 3);
	run_loop_once();
	CHECK_EQ(drain_remote(PEER_B), 1); /* the initiation; the packet is staged */
	CHECK_EQ(take_from_wire(&response, 1), 1);
	send_to_engine(&response);
	run_loop_once();
	CHECK_EQ(drain_remote(PEER_B), 3); /* the staged segments (they confirm the session) */
	CHECK_EQ(engine.dev.stats.handshakes_completed, 1);
}

/* Phase 1: past REKEY_AFTER_TIME, one TUN batch of everything at once. */
static void rekey_in_a_tun_batch(void)
{
	unsigned b_init_before = remotes[PEER_B].by_type[MG_MSG_INITIATION];

	advance_clock(REKEY_AFTER_TIME + 5 * MG_NSEC_PER_SEC);
	put_tso(40001, 40); /* its first segment starts the rekey */
	put_udp(ADDR_UNROUTED, 1000, 1, true);
	put_udp(ADDR_C, 600, 2, false); /* staged: C has no session yet */
	put_tso(40002, 47);
	for (uint16_t i = 0; i < 4; i++)
		put_udp(ADDR_UNROUTED, 1100, (uint16_t)(10 + i), true);
	put_tso(40003, 30);
	put_udp(ADDR_C, 700, 3, false);
	put_tso(40004, 47);
	put_udp(ADDR_UNROUTED, 900, 20, true);
	run_loop_once();
	drain_remote(PEER_B);
	drain_remote(PEER_C);
	CHECK_EQ(remotes[PEER_B].by_type[MG_MSG_INITIATION], b_init_before + 1);
	CHECK_EQ(remotes[PEER_C].by_type[MG_MSG_INITIATION], 1);
	CHECK_EQ(remotes[PEER_C].by_type[MG_MSG_DATA], 0);
	CHECK_EQ(engine.dev.stats.tx_no_route, 6);
	check_all_segments_arrived();
}

/* Ten numbered packets from B, sent through the wire to the engine. */
static void b_sends_ten(uint8_t first)
{
	struct datagram d[10];

	for (uint8_t id = first; id < first + 10; id++)
		b_sends(id);
	CHECK_EQ(take_from_wire(d, 10), 10);
	for (int i = 0; i < 10; i++)
		send_to_engine(&d[i]);
}

/* Phase 2: B's response to the rekey and C's response to its first
 * initiation (which B and C put on the wire when they consumed those in
 * phase 1) arrive between B's data, all in one receive batch. The engine
 * answers from inside it (a keepalive to B, C's staged packets) while it
 * writes B's packets to its TUN. */
static void handshakes_in_a_receive_batch(void)
{
	struct datagram responses[2];

	CHECK_EQ(take_from_wire(responses, 2), 2);
	CHECK_EQ(responses[0].buf[0], MG_MSG_RESPONSE);
	CHECK_EQ(responses[1].buf[0], MG_MSG_RESPONSE);
	CHECK_EQ(w.len, 0);
	b_sends_ten(0);
	send_to_engine(&responses[0]);
	b_sends_ten(10);
	send_to_engine(&responses[1]);
	b_sends_ten(20);
	run_loop_once();
	CHECK_EQ(engine.dev.stats.handshakes_completed, 3);
	CHECK_EQ(drain_tun(), 30);
	CHECK_EQ(drain_remote(PEER_B), 1); /* the keepalive that confirms the new keypair */
	CHECK_EQ(remotes[PEER_B].by_type[MG_MSG_DATA], 1 + 3 + 40 + 47 + 30 + 47);
	CHECK_EQ(drain_remote(PEER_C), 2); /* the two staged packets */
	CHECK_EQ(w.nodes[PEER_C].delivered, 2);
}

/* Phase 3: bulk data again, under the new keypair, with C now reachable. */
static void bulk_after_rekey(void)
{
	unsigned b_before = remotes[PEER_B].by_type[MG_MSG_DATA];

	put_tso(40005, 47);
	put_udp(ADDR_C, 300, 4, false);
	put_udp(ADDR_UNROUTED, 1000, 21, true);
	put_tso(40006, 47);
	run_loop_once();
	CHECK_EQ(drain_remote(PEER_B), 94);
	CHECK_EQ(remotes[PEER_B].by_type[MG_MSG_DATA], b_before + 94);
	CHECK_EQ(drain_remote(PEER_C), 1);
	CHECK_EQ(remotes[PEER_B].by_type[MG_MSG_INITIATION], 2);
	check_all_segments_arrived();
}

int main(void)
{
	setup();
	handshake_with_b();
	rekey_in_a_tun_batch();
	handshakes_in_a_receive_batch();
	bulk_after_rekey();
	check_clean_receivers();
	mg_engine_close(&engine);
	uv_run(&loop, UV_RUN_DEFAULT);
	mg_engine_free(&engine);
	wire_free(&w);
	printf("ok\n");
	return 0;
}
