/* Drives the offload module with what a TUN read could return: the first 10
 * bytes are a struct virtio_net_hdr (host byte order), the rest one packet.
 *   - mg_offload_segment must stay in bounds, and the segments it produces
 *     from a GSO packet must carry verifying checksums;
 *   - those segments fed through mg_gro and segmented again must give back
 *     the same segments, byte for byte;
 *   - the raw packet fed to mg_gro (twice) must come out as packets that
 *     mg_offload_segment accepts;
 *   - mg_offload_complete_csum must stay in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGS  64
#define OUT_CAP	  (MAX_SEGS * 128 + MG_OFFLOAD_MAX_PACKET)
#define AGAIN_CAP (2 * OUT_CAP)

static uint8_t out[OUT_CAP], again[AGAIN_CAP], arena[MG_GRO_ARENA_SIZE];
static size_t lens[MAX_SEGS];

/* What a flush wrote, segmented back and laid end to end. */
static struct {
	size_t used, n;
} collected;

/* The plain RFC 1071 loop, independent of the module's. */
static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* A segment cut from a GSO packet must be a consistent IP packet with valid
 * checksums. */
static void check_segment(const uint8_t *s, size_t len)
{
	uint8_t ph[40] = { 0 };
	size_t l3, ph_len;

	if (s[0] >> 4 == 6) {
		l3 = 40;
		if (len < 40 || (size_t)(s[4] << 8 | s[5]) + 40 != len)
			abort();
		memcpy(ph, s + 8, 32);
		ph[34] = (uint8_t)((len - 40) >> 8);
		ph[35] = (uint8_t)(len - 40);
		ph[39] = s[6];
		ph_len = 40;
	} else {
		l3 = (size_t)(s[0] & 0x0f) * 4;
		if (len < 20 || (size_t)(s[2] << 8 | s[3]) != len || ref_sum(s, l3, 0) != 0xffff)
			abort();
		memcpy(ph, s + 12, 8);
		ph[9] = s[9];
		ph[10] = (uint8_t)((len - l3) >> 8);
		ph[11] = (uint8_t)(len - l3);
		ph_len = 12;
	}
	if (ref_sum(s + l3, len - l3, ref_sum(ph, ph_len, 0)) != 0xffff)
		abort();
}

static int collect(void *ctx, const uint8_t *buf, size_t len)
{
	static uint8_t segs[OUT_CAP];
	struct virtio_net_hdr h;
	size_t seg_lens[MAX_SEGS], off = 0;
	int n;

	(void)ctx;
	if (len <= MG_OFFLOAD_VNET_HDR_LEN)
		abort();
	memcpy(&h, buf, sizeof(h));
	n = mg_offload_segment(&h, buf + sizeof(h), len - sizeof(h), segs, sizeof(segs), 0,
			       seg_lens, MAX_SEGS);
	if (n <= 0)
		abort(); /* GRO wrote something our own segmenter refuses */
	for (int i = 0; i < n; i++) {
		if (collected.used + seg_lens[i] > AGAIN_CAP)
			abort();
		memcpy(again + collected.used, segs + off, seg_lens[i]);
		collected.used += seg_lens[i];
		collected.n++;
		off += seg_lens[i];
	}
	return 0;
}

static void gro_roundtrip(int n)
{
	struct mg_gro g;
	size_t off = 0;

	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < n; i++) {
		if (mg_gro_add(&g, out + off, lens[i]) < 0)
			abort();
		off += lens[i];
	}
	collected.used = collected.n = 0;
	mg_gro_flush(&g, collect, NULL);
	if (collected.n != (size_t)n || collected.used != off || memcmp(again, out, off))
		abort();
}

static void segment(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	int n = mg_offload_segment(h, pkt, len, out, sizeof(out), 0, lens, MAX_SEGS);
	size_t off = 0;

	if (n == 0 || n > MAX_SEGS)
		abort();
	/* GSO_NONE packets are arbitrary bytes: only GSO output round-trips. */
	if (n < 0 || h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return;
	for (int i = 0; i < n; i++) {
		check_segment(out + off, lens[i]);
		off += lens[i];
	}
	gro_roundtrip(n);
}

static void gro_raw(const uint8_t *pkt, size_t len)
{
	struct mg_gro g;

	if (len == 0)
		return;
	mg_gro_init(&g, arena, sizeof(arena));
	if (mg_gro_add(&g, pkt, len) < 0 || mg_gro_add(&g, pkt, len) < 0)
		abort();
	collected.used = collected.n = 0;
	mg_gro_flush(&g, collect, NULL);
	if (collected.n < 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr h;
	uint8_t *pkt;
	size_t len;

	if (size < sizeof(h) || size - sizeof(h) > MG_OFFLOAD_MAX_PACKET)
		return 0;
	memcpy(&h, data, sizeof(h));
	len = size - sizeof(h);
	/* Exactly len bytes on the heap, so ASan sees any read past the end. */
	pkt = malloc(len ? len : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + sizeof(h), len);
	segment(&h, pkt, len);
	gro_raw(pkt, len);
	mg_offload_complete_csum(&h, pkt, len);
	free(pkt);
	return 0;
}
