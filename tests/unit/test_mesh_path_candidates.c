/* The receiving side of candidate.h: the path manager never sends to a
 * member's candidate that its usable() check refuses. A member announces,
 * besides a public and a LAN endpoint, an address inside the mesh's prefix,
 * one inside a member's subnet route, loopback and link-local ones (as an
 * older or a misbehaving member might): with a check as the agent's (candidate
 * rules against the prefixes routed into the mesh) the first probes go to
 * the public and LAN endpoints only, and the member's WireGuard endpoint
 * before any path is the first usable candidate; without the check, the
 * same tick probes every one of them. */
#include "mesh_dir_fixture.h"

#include "mesh/candidate.h"
#include "mesh/path.h"
#include "tunnel/engine.h"

#define MAX_SENT 64

static const char *const announced[] = {
	"100.77.0.9:51820",	     /* inside the mesh's prefix */
	"127.0.0.1:51820",	     /* loopback */
	"169.254.1.1:51820",	     /* link-local */
	"192.168.20.5:51820",	     /* inside another member's subnet route */
	"203.0.113.5:51820",	     /* public */
	"[fe80::1]:51820",	     /* link-local */
	"10.1.0.2:51820",	     /* the member's LAN */
	"[fd12:3456:789a::9]:51820", /* inside the mesh's IPv6 prefix */
};

static struct mg_endpoint sent[MAX_SENT];
static size_t n_sent;

static int on_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	if (n_sent < MAX_SENT)
		sent[n_sent++] = *to;
	return 0;
}

static void on_packet(void *ctx, const uint8_t *packet, size_t len)
{
	(void)ctx, (void)packet, (void)len;
}

static struct mg_prefix routed[3];

static bool usable(void *ctx, const struct mg_endpoint *ep)
{
	(void)ctx;
	return mg_cand_check(ep, routed, 3) == MG_CAND_OK;
}

static size_t announce(uint8_t *out, const struct fixture *f, const struct fx_mem *m)
{
	struct mg_dir_announce a;
	int n;

	memset(&a, 0, sizeof(a));
	memcpy(a.mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	a.seq = 1;
	a.time = T0;
	for (size_t i = 0; i < sizeof(announced) / sizeof(announced[0]); i++) {
		struct mg_endpoint ep;
		struct mg_dir_endpoint *d = &a.endpoints[a.n_endpoints++];

		CHECK_EQ(mg_endpoint_parse(&ep, announced[i]), 0);
		d->family = (uint8_t)ep.sa.sa_family;
		if (d->family == AF_INET) {
			memcpy(d->addr, &ep.in4.sin_addr, 4);
			d->port = ntohs(ep.in4.sin_port);
		} else {
			memcpy(d->addr, &ep.in6.sin6_addr, 16);
			d->port = ntohs(ep.in6.sin6_port);
		}
	}
	n = mg_dir_announce_sign(out, MG_DIR_ITEM_MAX, &a, m->sk);
	CHECK(n > 0);
	return (size_t)n;
}

static bool was_sent(const char *text)
{
	struct mg_endpoint ep;

	CHECK_EQ(mg_endpoint_parse(&ep, text), 0);
	for (size_t i = 0; i < n_sent; i++)
		if (mg_endpoint_equal_remote(&sent[i], &ep))
			return true;
	return false;
}

int main(void)
{
	struct mg_engine_config c = {
		.tun_fd = -1, .port = 51820, .on_packet = on_packet, .udp_send = on_send
	};
	uint8_t self_sk[64], self_pk[32], wg_priv[32], wg_pub[32], item[MG_DIR_ITEM_MAX];
	const struct mg_dir_member *m;
	struct mg_directory d;
	struct mg_engine engine;
	struct mg_endpoint ep;
	struct mg_paths ps;
	struct mg_peer *peer;
	struct events e;
	struct fixture f;
	struct fx_mem alpha;
	char text[MG_ENDPOINT_STRLEN];
	uv_loop_t loop;

	fx_init(&f);
	fx_prefix(&routed[0], AF_INET, "100.77.0.0/16");
	fx_prefix(&routed[1], AF_INET6, "fd12:3456:789a::/48");
	fx_prefix(&routed[2], AF_INET, "192.168.16.0/20");
	fx_dir(&d, &f, &e);
	fx_mem_new(&alpha, &f, "alpha", f.auth_sk, 1);
	CHECK_EQ(mg_directory_add(&d, alpha.item, alpha.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(&d, item, announce(item, &f, &alpha), T0, NULL), 1);
	m = mg_directory_find(&d, alpha.pk);
	CHECK(m != NULL);

	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(mg_engine_init(&engine, &loop, &c), 0);
	mg_x25519_generate(wg_priv, wg_pub);
	mg_device_set_private_key(&engine.dev, wg_priv);
	CHECK_EQ(mg_device_add_peer(&engine.dev, m->cert.wg_key, &peer), 0);
	CHECK_EQ(mg_engine_start(&engine), 0);
	mg_ed25519_generate(self_sk, self_pk);
	CHECK_EQ(mg_paths_init(&ps, &engine, NULL, self_sk, self_pk), 0);
	ps.usable = usable;

	/* Before any path: the first usable candidate. */
	CHECK(mg_paths_endpoint(&ps, m, &ep));
	mg_endpoint_format(text, sizeof(text), &ep);
	CHECK(!strcmp(text, "203.0.113.5:51820"));

	mg_paths_tick(&ps, &d, 1000);
	CHECK_EQ(n_sent, 2);
	CHECK(was_sent("203.0.113.5:51820"));
	CHECK(was_sent("10.1.0.2:51820"));

	/* The same member without the check: every candidate is probed (the
	 * check is what kept them out). */
	ps.usable = NULL;
	n_sent = 0;
	mg_paths_tick(&ps, &d, 1000 + MG_PATH_RETRY_MIN_MS);
	for (size_t i = 0; i < sizeof(announced) / sizeof(announced[0]); i++)
		CHECK(was_sent(announced[i]));
	CHECK(mg_paths_endpoint(&ps, m, &ep));
	mg_endpoint_format(text, sizeof(text), &ep);
	CHECK(!strcmp(text, "100.77.0.9:51820"));

	mg_paths_free(&ps);
	mg_engine_close(&engine);
	uv_run(&loop, UV_RUN_DEFAULT);
	mg_engine_free(&engine);
	CHECK_EQ(uv_loop_close(&loop), 0);
	mg_directory_free(&d);
	mg_test_pass("mesh_path_candidates");
	return 0;
}
