/* GRO at its limits: a long flow is cut into packets of at most 64 KB; more
 * flows than MG_GRO_FLOWS evict the least recently used; a small arena runs
 * full (-ENOBUFS), is flushed and takes the packet again; bad lengths are
 * refused; a failing write does not stop the flush. Through all of it every
 * flow's bytes come out complete and in order. */
#include "offload_pkt.h"

#define MAX_IN 400
#define MSS    1448

static uint8_t pkts[MAX_IN][1600], arena[MG_GRO_ARENA_SIZE];
static size_t lens[MAX_IN];
static struct sink sink;

/* Flow f's segment i; flows differ in source port. */
static size_t make(uint8_t *p, int f, int i)
{
	static uint8_t payload[MSS];
	struct pkt_spec s = spec_tcp(f & 1 ? 6 : 4);

	s.sport = (uint16_t)(1000 + f);
	s.seq += (uint32_t)i * MSS;
	s.id = (uint16_t)(s.id + i);
	fill_payload(payload, MSS, (uint32_t)(f * 100000 + i * MSS));
	return build_pkt(p, &s, payload, MSS);
}

/* Segments every output back and matches, flow by flow, against the inputs
 * in the order they were added. */
static void check_lossless(int n_in)
{
	static uint8_t segs[64 * 2048];
	int next[MAX_IN] = { 0 }; /* per input: already matched */
	int matched = 0;

	for (int o = 0; o < sink.n; o++) {
		size_t seg_lens[64];
		int n = mg_offload_segment(&sink.h[o], sink.pkt[o], sink.len[o], segs, sizeof(segs),
					   2048, seg_lens, 64);
		CHECK(n > 0);
		CHECK(sink.len[o] <= MG_OFFLOAD_MAX_PACKET);
		for (int j = 0; j < n; j++) {
			const uint8_t *s = segs + (size_t)j * 2048;
			/* The first unmatched input of the same flow must be it. */
			int i = 0;
			while (i < n_in && (next[i] || rd16(pkts[i] + ref_l3_len(pkts[i])) !=
							       rd16(s + ref_l3_len(s))))
				i++;
			CHECK(i < n_in);
			CHECK_EQ(seg_lens[j], lens[i]);
			CHECK_MEM(s, pkts[i], lens[i]);
			next[i] = 1;
			matched++;
		}
	}
	CHECK_EQ(matched, n_in);
}

static void check_64k_cap(void)
{
	struct mg_gro g;

	for (int i = 0; i < 100; i++)
		lens[i] = make(pkts[i], 0, i);
	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < 100; i++)
		CHECK_EQ(mg_gro_add(&g, pkts[i], lens[i]), 0);
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	/* (65535 - 52) / 1448 = 45 segments fit in one packet. */
	CHECK_EQ(sink.n, 3);
	CHECK_EQ(sink.len[0], 52 + 45 * MSS);
	CHECK_EQ(sink.len[2], 52 + 10 * MSS);
	check_lossless(100);
}

static void check_flows(int flows, int rounds, int want_out)
{
	struct mg_gro g;
	int n = 0;

	for (int r = 0; r < rounds; r++)
		for (int f = 0; f < flows; f++, n++)
			lens[n] = make(pkts[n], f, r);
	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < n; i++)
		CHECK_EQ(mg_gro_add(&g, pkts[i], lens[i]), 0);
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK_EQ(sink.n, want_out);
	check_lossless(n);
}

static void check_small_arena(size_t size)
{
	struct mg_gro g;
	int n = 0, flushes = 0;

	for (int r = 0; r < 30; r++)
		for (int f = 0; f < 3; f++, n++)
			lens[n] = make(pkts[n], f, r);
	mg_gro_init(&g, arena, size);
	sink_reset(&sink);
	for (int i = 0; i < n; i++) {
		int ret = mg_gro_add(&g, pkts[i], lens[i]);
		if (ret == -ENOBUFS) {
			CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
			flushes++;
			ret = mg_gro_add(&g, pkts[i], lens[i]);
		}
		CHECK_EQ(ret, 0);
	}
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK(flushes > 0);
	CHECK(sink.n < n); /* still merging */
	check_lossless(n);
}

static int calls;
static int failing_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return ++calls == 2 ? -EIO : 0;
}

static void check_errors(void)
{
	struct mg_gro g;
	static uint8_t big[MG_OFFLOAD_MAX_PACKET + 1];

	mg_gro_init(&g, arena, sizeof(arena));
	CHECK_EQ(mg_gro_add(&g, big, 0), -EINVAL);
	CHECK_EQ(mg_gro_add(&g, big, sizeof(big)), -EINVAL);
	/* The largest packet fits the smallest arena. */
	mg_gro_init(&g, arena, MG_GRO_ARENA_MIN);
	/* Zeros are not IP: they pass through (MG_GRO_PASSED). */
	CHECK_EQ(mg_gro_add(&g, big, sizeof(big) - 1), MG_GRO_PASSED);
	CHECK_EQ(mg_gro_add(&g, big, 1), -ENOBUFS);
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK_EQ(sink.n, 1);
	CHECK_EQ(sink.len[0], MG_OFFLOAD_MAX_PACKET);

	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < 3; i++)
		CHECK_EQ(mg_gro_add(&g, big, 100), MG_GRO_PASSED);
	CHECK_EQ(mg_gro_flush(&g, failing_write, NULL), -EIO);
	CHECK_EQ(calls, 3);
	/* Flushed and empty: nothing more to write. */
	CHECK_EQ(mg_gro_flush(&g, failing_write, NULL), 0);
	CHECK_EQ(calls, 3);
}

int main(void)
{
	check_64k_cap();
	check_flows(MG_GRO_FLOWS, 10, MG_GRO_FLOWS);
	/* One flow too many, round-robin: the least recently used one is
	 * always the next to send, so nothing merges, but nothing is lost. */
	check_flows(MG_GRO_FLOWS + 1, 10, (MG_GRO_FLOWS + 1) * 10);
	check_flows(12, 30, 12 * 30);
	check_small_arena(MG_GRO_ARENA_MIN);
	check_small_arena(100000);
	check_errors();
	mg_test_pass("offload_gro_limits");
	return 0;
}
