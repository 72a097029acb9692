/* The path manager on a PUNCH (path.h, "Coordinated punching"), with an
 * engine whose datagrams the test captures: a genuine PUNCH from member b
 * makes us probe the candidates it lists at once; the same PUNCH replayed,
 * a forged one (signed by c in b's name), one made for another member and
 * a tampered one make us send nothing and leave b's path as it was. */
#include "mesh/path.h"
#include "mesh_dir_fixture.h"
#include "path_fixture.h"

#include <uv.h>

#define SENT_MAX 64

struct sent {
	struct mg_endpoint to;
	uint8_t type;
};

static struct sent sent[SENT_MAX];
static unsigned n_sent;

static int capture(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (n_sent < SENT_MAX && len > 2)
		sent[n_sent++] = (struct sent){ .to = *to, .type = buf[2] };
	return 0;
}

/* How many PROBEs went to ep since the counter was reset. */
static unsigned probes_to(const char *ep)
{
	struct mg_endpoint e = px_ep(ep);
	unsigned n = 0;

	for (unsigned i = 0; i < n_sent; i++)
		n += sent[i].type == MG_CTL_PROBE && mg_endpoint_equal_remote(&sent[i].to, &e);
	return n;
}

static size_t punch(uint8_t out[MG_PUNCH_LEN], const uint8_t *sk, const uint8_t *to_pk,
		    uint64_t time_ms, const char *cand)
{
	struct mg_endpoint c = px_ep(cand);
	uint8_t nonce[MG_PROBE_NONCE_LEN];

	mg_random_bytes(nonce, sizeof(nonce));
	CHECK_EQ(mg_punch_make(out, sk, to_pk, nonce, time_ms, &c, 1), MG_PUNCH_LEN);
	return MG_PUNCH_LEN;
}

int main(void)
{
	struct mg_engine_config ec = { .tun_fd = -1, .port = 51820, .udp_send = capture };
	struct mg_endpoint from = px_ep("198.51.100.2:40000");
	uint8_t item[MG_DIR_ITEM_MAX], msg[MG_PUNCH_LEN];
	struct fixture f;
	struct fx_mem us, b, c;
	struct events ev;
	struct mg_directory d;
	struct mg_engine e;
	struct mg_paths ps;
	struct mg_peer *peer;
	const struct mg_path *p;
	uv_loop_t loop;
	uint64_t wall = mg_mesh_wall_ms(), now = 100000;
	size_t n;

	fx_init(&f);
	fx_dir(&d, &f, &ev);
	n = fx_issuer_item(item, &f);
	CHECK(mg_directory_add(&d, item, n, T0, NULL) >= 0);
	fx_mem_new(&us, &f, "us", f.issuer_sk, 11);
	fx_mem_new(&b, &f, "b", f.issuer_sk, 12);
	fx_mem_new(&c, &f, "c", f.issuer_sk, 13);
	CHECK(mg_directory_add(&d, us.item, us.len, T0, NULL) >= 0);
	CHECK(mg_directory_add(&d, b.item, b.len, T0, NULL) >= 0);
	CHECK(mg_directory_add(&d, c.item, c.len, T0, NULL) >= 0);
	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(mg_engine_init(&e, &loop, &ec), 0);
	CHECK_EQ(mg_device_add_peer(&e.dev, b.cert.wg_key, &peer), 0);
	CHECK_EQ(mg_paths_init(&ps, &e, NULL, us.sk, us.pk), 0);

	/* Genuine: the listed candidate is probed at once. */
	punch(msg, b.sk, us.pk, wall, "203.0.113.12:51820");
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	CHECK_EQ(probes_to("203.0.113.12:51820"), 1);
	CHECK((p = mg_paths_find(&ps, b.pk)) != NULL);
	CHECK_EQ(p->n_hints, 1);
	CHECK_EQ(p->punch_time, wall);

	/* Replayed, forged, for another member, tampered: nothing at all. */
	now += 10 * MG_PATH_PUNCH_MIN_MS;
	n_sent = 0;
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	punch(msg, c.sk, us.pk, wall + 1, "192.0.2.66:666");
	memcpy(msg + MG_CTL_HEADER_LEN, b.pk, sizeof(b.pk)); /* c in b's name */
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	punch(msg, b.sk, c.pk, wall + 2, "192.0.2.66:666");
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	punch(msg, b.sk, us.pk, wall + 3, "192.0.2.66:666");
	msg[79] ^= 1; /* the candidate's port */
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	CHECK_EQ(n_sent, 0);
	CHECK_EQ(p->n_hints, 1);
	CHECK_EQ(p->punch_time, wall);
	CHECK(mg_endpoint_equal_remote(&p->hints[0], &(struct mg_endpoint){ 0 }) == false);
	from = px_ep("203.0.113.12:51820");
	CHECK(mg_endpoint_equal_remote(&p->hints[0], &from));

	/* A newer genuine one is acted on again. */
	punch(msg, b.sk, us.pk, wall + 4, "203.0.113.99:4000");
	mg_paths_input(&ps, &d, &from, msg, sizeof(msg), now);
	CHECK_EQ(probes_to("203.0.113.99:4000"), 1);
	CHECK_EQ(p->punch_time, wall + 4);

	mg_paths_free(&ps);
	mg_engine_close(&e);
	uv_run(&loop, UV_RUN_DEFAULT);
	mg_engine_free(&e);
	CHECK_EQ(uv_loop_close(&loop), 0);
	mg_directory_free(&d);
	return 0;
}
