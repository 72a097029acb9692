/* End to end against the kernel, in a private network namespace: a TUN
 * with IFF_VNET_HDR and TUNSETOFFLOAD, a local TCP listener, and this test
 * playing the remote TCP peer through the TUN.
 *   - write: 40 data segments merged by mg_gro are written as one GSO packet;
 *     the kernel must take it (write succeeds) and ACK every byte, and the
 *     listener must read them all;
 *   - read: the listener sends 200 KB; what the kernel hands us (TSO
 *     super-packets with partial checksums) is cut by mg_offload_segment and
 *     every segment must verify with the reference checksum and carry the
 *     right bytes; at least one read must have been a GSO packet.
 * Needs root (exit 77 otherwise). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "offload_pkt.h"

#define PORT_LOCAL  7777
#define PORT_REMOTE 40000
#define MSS	    1448
#define WRITE_SEGS  40
#define READ_BYTES  (200 * 1000)

static const uint8_t local_addr[16] = { 10, 55, 0, 1 }, remote_addr[16] = { 10, 55, 0, 2 };

struct peer {
	int tun, conn;
	uint32_t snd_nxt, rcv_nxt; /* ours, as the remote TCP */
	uint16_t id;
	bool saw_gso;
};

static void skip(const char *why)
{
	fprintf(stderr, "skipped: %s\n", why);
	exit(77);
}

static int open_tun(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
	unsigned flags = MG_OFFLOAD_TUN_FLAGS;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		skip("no /dev/net/tun");
	strcpy(ifr.ifr_name, "mgoff0");
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	/* USO needs Linux 6.2. */
	if (ioctl(fd, TUNSETOFFLOAD, flags) < 0)
		CHECK(ioctl(fd, TUNSETOFFLOAD, flags & ~(TUN_F_USO4 | TUN_F_USO6)) == 0);
	return fd;
}

static void set_addr(int s, unsigned long req, const uint8_t *addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	strcpy(ifr.ifr_name, "mgoff0");
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	CHECK(ioctl(s, req, &ifr) == 0);
}

static void configure(void)
{
	static const uint8_t mask[4] = { 255, 255, 255, 0 };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	set_addr(s, SIOCSIFADDR, local_addr);
	set_addr(s, SIOCSIFNETMASK, mask);
	strcpy(ifr.ifr_name, "mgoff0");
	ifr.ifr_flags = IFF_UP | IFF_RUNNING;
	CHECK(ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
	close(s);
}

static int listen_local(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT_LOCAL) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memcpy(&sin.sin_addr, local_addr, 4);
	CHECK(bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(listen(s, 1) == 0);
	return s;
}

/* One segment from the remote peer, with zeroed virtio header. */
static void send_seg(struct peer *p, uint8_t flags, const uint8_t *opts, size_t opts_len,
		     const uint8_t *data, size_t n)
{
	uint8_t buf[MG_OFFLOAD_VNET_HDR_LEN + 1600] = { 0 };
	struct pkt_spec s = spec_tcp(4);
	size_t len;

	memcpy(s.src, remote_addr, 4);
	memcpy(s.dst, local_addr, 4);
	s.sport = PORT_REMOTE;
	s.dport = PORT_LOCAL;
	s.seq = p->snd_nxt;
	s.ack = p->rcv_nxt;
	s.flags = flags;
	s.window = 0xffff; /* scaled by 2^7: 8 MB */
	s.id = p->id++;
	s.tcp_opts = opts;
	s.tcp_opts_len = opts_len;
	len = build_pkt(buf + MG_OFFLOAD_VNET_HDR_LEN, &s, data, n);
	CHECK_EQ(write(p->tun, buf, MG_OFFLOAD_VNET_HDR_LEN + len), MG_OFFLOAD_VNET_HDR_LEN + len);
}

static uint8_t segs[64 * 2048];
static size_t seg_lens[64];

/* Reads one packet from the TUN and cuts it into verified segments of our
 * connection; other traffic gives 0. Fails after 5 s of silence. */
static int read_segs(struct peer *p)
{
	static uint8_t buf[MG_OFFLOAD_VNET_HDR_LEN + 65536];
	struct pollfd pfd = { .fd = p->tun, .events = POLLIN };
	struct virtio_net_hdr h;
	ssize_t n;
	int segs_n;

	CHECK(poll(&pfd, 1, 5000) == 1);
	n = read(p->tun, buf, sizeof(buf));
	CHECK(n > MG_OFFLOAD_VNET_HDR_LEN);
	memcpy(&h, buf, sizeof(h));
	uint8_t *ip = buf + sizeof(h);
	if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || rd16(ip + 22) != PORT_REMOTE)
		return 0;
	p->saw_gso |= h.gso_type != VIRTIO_NET_HDR_GSO_NONE;
	segs_n = mg_offload_segment(&h, ip, (size_t)n - sizeof(h), segs, sizeof(segs), 2048,
				    seg_lens, 64);
	CHECK(segs_n > 0);
	for (int i = 0; i < segs_n; i++) {
		CHECK(ref_ipv4_ok(segs + i * 2048));
		CHECK(ref_l4_ok(segs + i * 2048, seg_lens[i]));
	}
	return segs_n;
}

static void handshake(struct peer *p, int lsock)
{
	static const uint8_t syn_opts[8] = { 2, 4, MSS >> 8, MSS & 0xff, 1, 3, 3, 7 };
	const uint8_t *sa = segs;

	p->snd_nxt = 1000000;
	send_seg(p, F_SYN, syn_opts, sizeof(syn_opts), NULL, 0);
	while (read_segs(p) == 0)
		;
	CHECK_EQ(sa[33], F_SYN | F_ACK);
	CHECK_EQ(rd32(sa + 28), p->snd_nxt + 1);
	p->snd_nxt++;
	p->rcv_nxt = rd32(sa + 24) + 1;
	send_seg(p, F_ACK, NULL, 0, NULL, 0);
	for (int i = 0; i < 100 && p->conn < 0; i++) {
		p->conn = accept4(lsock, NULL, NULL, SOCK_NONBLOCK);
		if (p->conn < 0)
			usleep(10000);
	}
	CHECK(p->conn >= 0);
}

static int tun_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct peer *p = ctx;
	const struct virtio_net_hdr *h = (const void *)buf;

	p->saw_gso |= h->gso_type != VIRTIO_NET_HDR_GSO_NONE;
	return write(p->tun, buf, len) == (ssize_t)len ? 0 : -errno;
}

/* 40 segments through mg_gro: one GSO write the kernel must ACK in full. */
static void check_write(struct peer *p)
{
	static uint8_t arena[MG_GRO_ARENA_SIZE], pkt[1600], data[WRITE_SEGS * MSS],
		got[sizeof(data)];
	struct pkt_spec s = spec_tcp(4);
	struct mg_gro g;
	size_t have = 0;

	fill_payload(data, sizeof(data), 7);
	memcpy(s.src, remote_addr, 4);
	memcpy(s.dst, local_addr, 4);
	s.sport = PORT_REMOTE;
	s.dport = PORT_LOCAL;
	s.ack = p->rcv_nxt;
	s.window = 0xffff;
	s.tcp_opts_len = 0;
	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < WRITE_SEGS; i++) {
		s.seq = p->snd_nxt + (uint32_t)(i * MSS);
		s.id = p->id++;
		s.flags = i == WRITE_SEGS - 1 ? F_ACK | F_PSH : F_ACK;
		CHECK_EQ(mg_gro_add(&g, pkt, build_pkt(pkt, &s, data + i * MSS, MSS)), 0);
	}
	p->saw_gso = false;
	CHECK_EQ(mg_gro_flush(&g, tun_write, p), 0);
	CHECK(p->saw_gso);
	p->snd_nxt += sizeof(data);

	/* The kernel ACKs everything, and the socket has all of it. */
	for (uint32_t acked = 0; acked != p->snd_nxt;)
		if (read_segs(p) > 0)
			acked = rd32(segs + 28);
	for (int i = 0; i < 500 && have < sizeof(got); i++) {
		ssize_t n = read(p->conn, got + have, sizeof(got) - have);
		if (n > 0)
			have += (size_t)n;
		else
			usleep(10000);
	}
	CHECK_EQ(have, sizeof(got));
	CHECK_MEM(got, data, sizeof(data));
}

/* The listener sends; we take the kernel's TSO reads apart and ACK. */
static void check_read(struct peer *p)
{
	static uint8_t data[READ_BYTES], got[READ_BYTES];
	size_t sent = 0, have = 0;

	fill_payload(data, sizeof(data), 99);
	p->saw_gso = false;
	while (have < sizeof(got)) {
		ssize_t n = sent < sizeof(data) ? send(p->conn, data + sent, sizeof(data) - sent, 0)
						: 0;
		if (n > 0)
			sent += (size_t)n;
		int k = read_segs(p);
		for (int i = 0; i < k; i++) {
			const uint8_t *s = segs + i * 2048;
			size_t payload = seg_lens[i] - 20 - (size_t)(s[32] >> 4) * 4;
			if (!payload || rd32(s + 24) != p->rcv_nxt)
				continue;
			CHECK(have + payload <= sizeof(got));
			memcpy(got + have, s + seg_lens[i] - payload, payload);
			have += payload;
			p->rcv_nxt += (uint32_t)payload;
		}
		if (k > 0)
			send_seg(p, F_ACK, NULL, 0, NULL, 0);
	}
	CHECK_MEM(got, data, sizeof(data));
	CHECK(p->saw_gso);
}

int main(void)
{
	struct peer p = { .conn = -1 };
	int lsock;

	if (geteuid() != 0)
		skip("needs root");
	if (unshare(CLONE_NEWNET) < 0)
		skip("cannot unshare the network namespace");
	p.tun = open_tun();
	configure();
	lsock = listen_local();
	handshake(&p, lsock);
	check_write(&p);
	check_read(&p);
	close(p.conn);
	close(lsock);
	close(p.tun);
	mg_test_pass("offload_tun");
	return 0;
}
