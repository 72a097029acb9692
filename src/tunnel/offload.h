/* Checksum and segmentation offload for a TUN opened with IFF_VNET_HDR and
 * TUNSETOFFLOAD (TUN_F_CSUM | TSO4 | TSO6 | USO4 | USO6). Every read from such
 * a device is a struct virtio_net_hdr (host byte order, 10 bytes) followed by
 * one IP packet of up to 64 KB that the kernel did not segment and whose
 * transport checksum may be partial; every write takes the same pair.
 *
 * Outbound (TUN read -> peers): mg_offload_segment cuts a GSO packet into
 * MTU-sized IP packets with complete headers and checksums.
 * Inbound (peers -> TUN write): struct mg_gro merges consecutive TCP segments
 * of a flow into one GSO packet, as the kernel's own GRO would.
 *
 * Pure packet code: no I/O, no allocation; all buffers belong to the caller. */
#ifndef MG_TUNNEL_OFFLOAD_H
#define MG_TUNNEL_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

/* Newer than Debian's userspace headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* What TUNSETOFFLOAD should ask for; retry without the USO bits on EINVAL
 * (kernels before 6.2). */
#define MG_OFFLOAD_TUN_FLAGS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6)

/* The default TUNSETVNETHDRSZ; this module knows no other. */
#define MG_OFFLOAD_VNET_HDR_LEN 10
/* Largest IP packet either direction handles (no IPv6 jumbograms). */
#define MG_OFFLOAD_MAX_PACKET 65535

_Static_assert(sizeof(struct virtio_net_hdr) == MG_OFFLOAD_VNET_HDR_LEN, "virtio_net_hdr size");

/* --- Internet checksum (RFC 1071) ---------------------------------------
 * The accumulator is opaque (a partly folded sum in memory byte order): start
 * from 0 and only hand it back to these functions. Chaining buffers works
 * when every buffer but the last has an even length. */

uint32_t mg_offload_csum_partial(const void *buf, size_t len, uint32_t sum);
/* Folds and complements: the value of a checksum field, host byte order
 * (store it big-endian). A buffer that already holds its checksum folds to 0. */
uint16_t mg_offload_csum_fold(uint32_t sum);
/* Pseudo-header sums (RFC 793 / RFC 8200 8.1) for proto (IPPROTO_TCP or
 * IPPROTO_UDP) and the transport length l4_len, to seed csum_partial. */
uint32_t mg_offload_pseudo_v4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
			      uint16_t l4_len);
uint32_t mg_offload_pseudo_v6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			      uint32_t l4_len);

/* Finishes a VIRTIO_NET_HDR_F_NEEDS_CSUM checksum in place: the field at
 * csum_start + csum_offset holds the pseudo-header sum, the rest of the sum
 * runs from csum_start to len. A result of 0 is sent as 0xffff (UDP reads 0
 * as "no checksum"). No-op (0) without NEEDS_CSUM. -EINVAL when the field
 * does not lie inside pkt. */
int mg_offload_complete_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len);

/* Splits pkt, as read after h from the TUN, into plain IP packets (gso_type
 * TCPV4, TCPV6 or UDP_L4; the ECN bit is accepted), each with gso_size bytes
 * of payload (the last may be shorter) and the original headers fixed up:
 * IPv4 total length, ID + i, header checksum; IPv6 payload length; TCP
 * sequence + i * gso_size, FIN and PSH on the last segment only, CWR on the
 * first only; UDP length; full TCP/UDP checksums. A GSO_NONE packet comes out
 * as one segment with its checksum completed.
 *
 * Segment i goes to out + i * out_stride, its length to lens[i] (lens holds
 * max_segments entries); with
 * out_stride 0 the segments are packed back to back instead (segment i starts
 * where i - 1 ended). Leave headroom for an encryption header by passing
 * out = slot + headroom. Requirements: out_stride 0 or at least the largest
 * segment (headers + gso_size); out_cap covers the last segment's end.
 * Headers never exceed MG_OFFLOAD_MAX_HDR bytes.
 *
 * h->hdr_len is only bounds-checked: the kernel may report its linear length
 * there, so the header length is parsed from the packet. Returns the number
 * of segments (>= 1); -EINVAL for a malformed or inconsistent packet (bad IP
 * or TCP header lengths, IPv4 fragments, IPv6 extension headers, gso_size 0,
 * csum_start/csum_offset not at the transport checksum, version not matching
 * gso_type); -ENOBUFS when it needs more than max_segments segments or more
 * room than out_cap / out_stride give. pkt is never modified. */
#define MG_OFFLOAD_MAX_HDR (60 + 60)
int mg_offload_segment(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out,
		       size_t out_cap, size_t out_stride, size_t *lens, int max_segments);

/* --- Receive coalescing (GRO) -------------------------------------------
 * Packets are copied into a caller-provided arena, each behind room for its
 * virtio_net_hdr. Consecutive TCP segments of one flow (same addresses,
 * ports, TTL/hop limit, TOS/traffic class and flow label, DF, ACK number,
 * window and TCP options; sequence numbers contiguous; flags ACK or ACK|PSH;
 * valid IPv4 header and TCP checksums; IPv4 without options or fragments,
 * IPv6 without extension headers) are merged into one packet of at most
 * MG_OFFLOAD_MAX_PACKET bytes with gso_type TCPV4/TCPV6, gso_size the first
 * segment's payload, NEEDS_CSUM and the pseudo-header sum in the TCP checksum
 * field. A shorter segment or one with PSH ends a merged packet. With DF
 * clear, IPv4 IDs must also count up by one (with DF set they identify
 * nothing, RFC 6864). Everything else, UDP included, passes through
 * unchanged behind a zeroed header (GSO_NONE). Per packet the cost is one
 * copy and, for TCP candidates, one checksum pass.
 *
 * Each flow's packets come out in the order they went in; different flows may
 * be reordered among themselves. Up to MG_GRO_FLOWS flows are open at once;
 * the least recently used is closed to admit another. */
#define MG_GRO_FLOWS 8
/* Bookkeeping in front of each packet in the arena, vnet header included;
 * packets are padded to 8 bytes. */
#define MG_GRO_RECORD_HDR 24
/* An arena this large always takes one more packet after a flush. */
#define MG_GRO_ARENA_MIN (MG_GRO_RECORD_HDR + MG_OFFLOAD_MAX_PACKET + 7)
/* Room for every flow to grow a full 64 KB packet next to a batch of
 * passing packets (655 KB). Smaller arenas work but flush more often. */
#define MG_GRO_ARENA_SIZE ((MG_GRO_FLOWS + 2) * MG_GRO_ARENA_MIN)

/* One open flow: where its merged packet lives and what the next segment must
 * look like. Private to offload.c; here only so struct mg_gro can be
 * embedded. */
struct mg_gro_flow {
	uint32_t rec;	   /* arena offset of the packet's record */
	uint32_t next_seq; /* TCP sequence number the next segment must carry */
	uint32_t last_use;
	uint16_t gso_size; /* payload bytes of the first segment */
	uint16_t segs;
	uint8_t l3_len, l4_len;
	bool open;
};

struct mg_gro {
	uint8_t *arena;
	size_t cap, used;
	/* Every packet added was authenticated (decrypted by WireGuard): its
	 * checksums are not verified again before merging, and packets that go
	 * out alone are marked VIRTIO_NET_HDR_F_DATA_VALID, as the kernel's
	 * WireGuard marks what it decrypts CHECKSUM_UNNECESSARY. Set it after
	 * mg_gro_init. */
	bool authenticated;
	uint32_t clock;
	struct mg_gro_flow flows[MG_GRO_FLOWS];
};

/* arena (any alignment; 8-byte aligned keeps packets aligned) must hold at
 * least MG_GRO_ARENA_MIN bytes and stays owned by the caller, who must not
 * touch it while packets are pending. */
void mg_gro_init(struct mg_gro *g, uint8_t *arena, size_t cap);
/* Copies one IP packet in. 0, or MG_GRO_PASSED for a packet that is not TCP
 * (ICMP, UDP, anything GRO cannot merge by flow): it waits for nothing, so
 * flushing now hands it to the TUN at once instead of behind a bulk
 * transfer's batch (a ping or a DNS reply under load). -EINVAL if len is 0
 * or above MG_OFFLOAD_MAX_PACKET, -ENOBUFS when the arena is full: flush,
 * then add the packet again. */
#define MG_GRO_PASSED 1
int mg_gro_add(struct mg_gro *g, const uint8_t *pkt, size_t len);

/* Receives one virtio_net_hdr + IP packet, len bytes in all, ready for
 * write(2) on the TUN. buf points into the arena and stays valid until the
 * next mg_gro_add. */
typedef int (*mg_gro_write_fn)(void *ctx, const uint8_t *buf, size_t len);
/* Writes out every pending packet, even after a failed write, and empties the
 * arena. Returns 0 or the first negative value write returned. */
int mg_gro_flush(struct mg_gro *g, mg_gro_write_fn write, void *ctx);

#endif
