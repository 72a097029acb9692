/* mg_stun_responder: meshguard's STUN responder (nat/stun_server.h) alone on
 * a UDP port, for tests that need a STUN server without a WireGuard
 * interface.
 *
 *   mg_stun_responder PORT
 *
 * Answers Binding requests on PORT (IPv4 and IPv6) until SIGINT or SIGTERM,
 * then prints its counters. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crypto/primitives.h"
#include "nat/stun_server.h"
#include "tunnel/udp.h"

struct responder {
	struct mg_udp udp;
	struct mg_stun_server server;
	uv_poll_t poll[2];
	uv_signal_t sig[2];
};

static int send_udp(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct responder *r = ctx;
	return mg_udp_send(&r->udp, to, buf, len);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct responder *r = h->data;
	uint8_t buf[MG_STUN_MAX_SIZE];
	struct mg_endpoint from;
	uv_os_fd_t fd;

	(void)events;
	if (status < 0 || uv_fileno((uv_handle_t *)h, &fd) < 0)
		return;
	for (;;) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &len);
		if (n < 0)
			return;
		mg_stun_server_receive(&r->server, &from, buf, (size_t)n);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct responder *r = s->data;

	(void)signum;
	for (int i = 0; i < 2; i++) {
		if (r->poll[i].data)
			uv_close((uv_handle_t *)&r->poll[i], NULL);
		uv_close((uv_handle_t *)&r->sig[i], NULL);
	}
}

int main(int argc, char **argv)
{
	static struct responder r;
	int fds[2], ret;
	char *end;
	unsigned long port = argc == 2 ? strtoul(argv[1], &end, 10) : 0;

	if (argc != 2 || *end || port == 0 || port > 65535) {
		fprintf(stderr, "usage: mg_stun_responder PORT\n");
		return 2;
	}
	if (mg_crypto_init() < 0)
		return 1;
	ret = mg_udp_open(&r.udp, (uint16_t)port, 0);
	if (ret < 0) {
		fprintf(stderr, "mg_stun_responder: port %lu: %s\n", port, strerror(-ret));
		return 1;
	}
	mg_stun_server_init(&r.server, &mg_clock_system, send_udp, &r);
	/* One datagram per read: no UDP GRO. */
	for (int i = 0, zero = 0; i < 2; i++)
		if ((i ? r.udp.fd6 : r.udp.fd4) >= 0)
			setsockopt(i ? r.udp.fd6 : r.udp.fd4, IPPROTO_UDP, UDP_GRO, &zero,
				   sizeof(zero));
	fds[0] = r.udp.fd4, fds[1] = r.udp.fd6;
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			uv_poll_init(uv_default_loop(), &r.poll[i], fds[i]);
			r.poll[i].data = &r;
			uv_poll_start(&r.poll[i], UV_READABLE, on_readable);
		}
		uv_signal_init(uv_default_loop(), &r.sig[i]);
		r.sig[i].data = &r;
		uv_signal_start(&r.sig[i], on_signal, i ? SIGTERM : SIGINT);
	}
	printf("mg_stun_responder: listening on UDP port %lu\n", port);
	fflush(stdout);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	printf("mg_stun_responder: answered %llu, errors %llu, rate-limited %llu, dropped %llu\n",
	       (unsigned long long)r.server.stats.answered,
	       (unsigned long long)r.server.stats.errors,
	       (unsigned long long)r.server.stats.ratelimited,
	       (unsigned long long)r.server.stats.dropped);
	mg_udp_close(&r.udp);
	return 0;
}
