/* Test driver for the port mapper: binds a UDP socket on --port, keeps it
 * mapped at the gateway with mg_portmap, and prints one line per event and
 * per datagram received, for test_portmap.sh:
 *   event mapped|renewed|lost|failed PROTO ADDR:PORT lifetime N error E
 *   recv FROM-ADDR:PORT TEXT
 *   closed
 * SIGTERM/SIGINT close the mapper (which deletes the mapping) and exit 0.
 * --cleanup starts and at once closes the mapper: it deletes what the
 * journal holds and maps nothing. --probe runs the netcheck probe instead.
 *
 * Usage: mg_portmap [--proto natpmp|pcp|upnp] [--port N] [--state DIR]
 *        [--lifetime S] [--check-ms N] [--timeout-ms N] [--retry-ms N]
 *        [--gateway IPV4] [--upnp-url URL] [--cleanup | --probe] */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nat/portmap.h"
#include "util/log.h"

struct tool {
	uv_loop_t *loop;
	uv_udp_t udp;
	uv_signal_t sigterm, sigint;
	struct mg_portmap *pm;
	bool closing;
	char buf[2048];
};

static const char *const event_names[] = { "mapped", "renewed", "lost", "failed" };

static void on_event(struct mg_portmap *pm, enum mg_portmap_event ev,
		     const struct mg_portmap_status *st, void *arg)
{
	char a[INET_ADDRSTRLEN];

	(void)pm;
	(void)arg;
	inet_ntop(AF_INET, &st->external.sin_addr, a, sizeof(a));
	printf("event %s %s %s:%u lifetime %u error %d\n", event_names[ev],
	       mg_portmap_proto_name(st->proto), a, ntohs(st->external.sin_port), st->lifetime_s,
	       st->error);
	fflush(stdout);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tool *t = h->data;

	(void)suggested;
	*buf = uv_buf_init(t->buf, sizeof(t->buf) - 1);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	const struct sockaddr_in *from = (const struct sockaddr_in *)addr;
	char a[INET_ADDRSTRLEN];

	(void)h;
	(void)flags;
	if (nread <= 0 || !addr || from->sin_family != AF_INET)
		return;
	for (ssize_t i = 0; i < nread; i++) {
		if (buf->base[i] < 0x20 || buf->base[i] > 0x7e)
			buf->base[i] = '.';
	}
	buf->base[nread] = '\0';
	inet_ntop(AF_INET, &from->sin_addr, a, sizeof(a));
	printf("recv %s:%u %s\n", a, ntohs(from->sin_port), buf->base);
	fflush(stdout);
}

static void on_handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void on_mapper_closed(void *arg)
{
	struct tool *t = arg;

	printf("closed\n");
	fflush(stdout);
	uv_close((uv_handle_t *)&t->udp, on_handle_closed);
	uv_close((uv_handle_t *)&t->sigterm, on_handle_closed);
	uv_close((uv_handle_t *)&t->sigint, on_handle_closed);
}

static void shut(struct tool *t)
{
	if (t->closing)
		return;
	t->closing = true;
	if (t->pm)
		mg_portmap_close(t->pm, on_mapper_closed, t);
	else
		on_mapper_closed(t);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	shut(s->data);
}

static void on_probe(const struct mg_portmap_probe_result *r, void *arg)
{
	char gw[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw));
	printf("probe gateway %s error %d\n", gw, r->error);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		const struct mg_portmap_probe_proto *pp = &r->proto[p];
		inet_ntop(AF_INET, &pp->external_addr, a, sizeof(a));
		printf("probe %s answered %d mapped %d external %s:%u lifetime %u rtt_ms %u "
		       "error %d\n",
		       mg_portmap_proto_name(p), pp->answered, pp->mapped, a, pp->external_port,
		       pp->lifetime_s, pp->rtt_ms, pp->error);
	}
	fflush(stdout);
	shut(arg);
}

static int usage(const char *bad)
{
	fprintf(stderr, "mg_portmap: unexpected argument '%s'\n", bad);
	return 2;
}

static int parse_args(int argc, char **argv, struct mg_portmap_config *c, unsigned *port, int *mode)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		enum mg_portmap_proto p;
		if (!strcmp(a, "--cleanup") || !strcmp(a, "--probe")) {
			*mode = a[2] == 'c' ? 1 : 2;
			continue;
		}
		if (!v)
			return usage(a);
		i++;
		if (!strcmp(a, "--proto") && mg_portmap_proto_parse(&p, v) == 0)
			c->protocols = MG_PORTMAP_BIT(p);
		else if (!strcmp(a, "--port"))
			*port = (unsigned)atoi(v);
		else if (!strcmp(a, "--state"))
			c->state_dir = v;
		else if (!strcmp(a, "--lifetime"))
			c->lifetime_s = (uint32_t)atoi(v);
		else if (!strcmp(a, "--check-ms"))
			c->check_interval_ms = (uint32_t)atoi(v);
		else if (!strcmp(a, "--timeout-ms"))
			c->timeout_ms = (uint32_t)atoi(v);
		else if (!strcmp(a, "--retry-ms"))
			c->retry_ms = (uint32_t)atoi(v);
		else if (!strcmp(a, "--upnp-url"))
			c->upnp_url = v;
		else if (!strcmp(a, "--gateway") && inet_pton(AF_INET, v, &c->gateway) == 1)
			;
		else
			return usage(a);
	}
	return *port > 0 && *port < 65536 ? 0 : usage("--port");
}

static int bind_udp(struct tool *t, unsigned port)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	uv_udp_init(t->loop, &t->udp);
	t->udp.data = t;
	int err = uv_udp_bind(&t->udp, (const struct sockaddr *)&any, 0);
	if (err < 0) {
		fprintf(stderr, "mg_portmap: cannot bind UDP port %u: %s\n", port,
			uv_strerror(err));
		return err;
	}
	return uv_udp_recv_start(&t->udp, on_alloc, on_recv);
}

int main(int argc, char **argv)
{
	struct mg_portmap_config c = { 0 };
	struct tool t = { .loop = uv_default_loop() };
	struct mg_portmap_probe *probe;
	unsigned port = 51820;
	int mode = 0, err;

	mg_log_init_from_env();
	if (parse_args(argc, argv, &c, &port, &mode))
		return 2;
	if (bind_udp(&t, port) < 0)
		return 1;
	uv_signal_init(t.loop, &t.sigterm);
	uv_signal_init(t.loop, &t.sigint);
	t.sigterm.data = t.sigint.data = &t;
	uv_signal_start(&t.sigterm, on_signal, SIGTERM);
	uv_signal_start(&t.sigint, on_signal, SIGINT);
	if (mode == 2)
		err = mg_portmap_probe_start(&probe, t.loop, &c, (uint16_t)port, on_probe, &t);
	else
		err = mg_portmap_start(&t.pm, t.loop, &c, (uint16_t)port, on_event, NULL);
	if (err < 0) {
		fprintf(stderr, "mg_portmap: cannot start: %s\n", strerror(-err));
		return 1;
	}
	printf("started port %u\n", port);
	fflush(stdout);
	if (mode == 1)
		shut(&t);
	uv_run(t.loop, UV_RUN_DEFAULT);
	uv_loop_close(t.loop);
	return 0;
}
