/* PCP back-end: a UDP socket on the loop, connected to the gateway's port
 * 5351, speaking pcp.h. Requests are retransmitted at 250 ms, doubling
 * (shorter than RFC 6887 8.1.1's 3 s: the server is one hop away and
 * netcheck must answer quickly) until the op's budget runs out. Answers are
 * taken only from the gateway and only when they match the request (opcode,
 * and for MAP nonce, protocol and internal port). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/pcp.h"
#include "util/macros.h"
#include "nat/portmap_backend.h"

#define FIRST_RETRY_MS 250

struct pcp_be {
	struct mg_portmap_backend_config cfg;
	uv_udp_t udp;
	uv_timer_t retry;
	uv_timer_t deadline;
	struct in_addr client; /* our address towards the gateway */
	struct mg_portmap_op *op;
	struct mg_pcp_map map; /* of the MAP in flight */
	uint8_t req[MG_PCP_MAP_LEN];
	size_t req_len;
	uint64_t retry_ms;
	uint8_t rbuf[MG_PCP_MAX_LEN + 4]; /* one byte more than allowed shows truncation */
	unsigned closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

static void finish(struct pcp_be *b, int status)
{
	struct mg_portmap_op *op = b->op;

	b->op = NULL;
	uv_udp_recv_stop(&b->udp);
	uv_timer_stop(&b->retry);
	uv_timer_stop(&b->deadline);
	op->status = status;
	op->done(op);
}

static void send_req(struct pcp_be *b)
{
	uv_buf_t buf = uv_buf_init((char *)b->req, (unsigned)b->req_len);
	/* Best effort: a lost send is a lost datagram, retransmitted. */
	(void)uv_udp_try_send(&b->udp, &buf, 1, NULL);
}

static void on_retry(uv_timer_t *t)
{
	struct pcp_be *b = container_of(t, struct pcp_be, retry);

	if (!b->op)
		return;
	send_req(b);
	b->retry_ms *= 2;
	uv_timer_start(&b->retry, on_retry, b->retry_ms, 0);
}

static void on_deadline(uv_timer_t *t)
{
	struct pcp_be *b = container_of(t, struct pcp_be, deadline);

	if (b->op)
		finish(b, -ETIMEDOUT);
}

/* An answer to ANNOUNCE: any well-formed PCP answer shows the gateway
 * speaks PCP and carries its epoch. */
static void take_announce(struct pcp_be *b, const struct mg_pcp_response *r)
{
	b->op->has_epoch = true;
	b->op->epoch = r->epoch;
	finish(b, 0);
}

static void take_map(struct pcp_be *b, const struct mg_pcp_response *r)
{
	struct mg_portmap_op *op = b->op;

	op->has_epoch = true;
	op->epoch = r->epoch;
	if (r->result != MG_PCP_SUCCESS) {
		snprintf(op->detail, sizeof(op->detail), "%s", mg_pcp_result_name(r->result));
		finish(b, mg_pcp_result_errno(r->result));
		return;
	}
	if (op->code == MG_PORTMAP_OP_MAP &&
	    (r->lifetime == 0 || r->map.external_addr.s_addr == INADDR_ANY)) {
		snprintf(op->detail, sizeof(op->detail), "granted lifetime %u, external address %s",
			 r->lifetime, r->map.external_addr.s_addr ? "set" : "unset");
		finish(b, -EBADMSG);
		return;
	}
	op->external_addr = r->map.external_addr;
	op->mapped_port = r->map.external_port;
	op->granted_s = r->lifetime;
	finish(b, 0);
}

static bool from_gateway(const struct pcp_be *b, const struct sockaddr *addr)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

	/* Connected: the kernel filters already; addr is NULL then on some
	 * libuv versions. */
	if (!addr)
		return true;
	return sin->sin_family == AF_INET && sin->sin_addr.s_addr == b->cfg.gateway.s_addr &&
	       ntohs(sin->sin_port) == MG_PCP_PORT;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct pcp_be *b = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)b->rbuf, sizeof(b->rbuf));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	struct pcp_be *b = container_of(h, struct pcp_be, udp);
	struct mg_pcp_response r;

	(void)buf;
	if (!b->op || nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_ECONNREFUSED)
			finish(b, -EPROTONOSUPPORT);
		return;
	}
	if ((flags & UV_UDP_PARTIAL) || !from_gateway(b, addr))
		return;
	int err = mg_pcp_parse_response(&r, b->rbuf, (size_t)nread);
	if (err == -EPROTONOSUPPORT) {
		snprintf(b->op->detail, sizeof(b->op->detail), "gateway speaks version %u",
			 b->rbuf[0]);
		finish(b, err);
		return;
	}
	if (err < 0)
		return;
	if (b->op->code == MG_PORTMAP_OP_PROBE || b->op->code == MG_PORTMAP_OP_CHECK) {
		if (r.opcode == MG_PCP_OP_ANNOUNCE)
			take_announce(b, &r);
		return;
	}
	if (mg_pcp_map_matches(&r, &b->map))
		take_map(b, &r);
}

static void build(struct pcp_be *b, const struct mg_portmap_op *op)
{
	if (op->code == MG_PORTMAP_OP_PROBE || op->code == MG_PORTMAP_OP_CHECK) {
		b->req_len = mg_pcp_announce_request(b->req, b->client);
		return;
	}
	memset(&b->map, 0, sizeof(b->map));
	memcpy(b->map.nonce, op->nonce, MG_PCP_NONCE_LEN);
	b->map.protocol = MG_PCP_PROTO_UDP;
	b->map.internal_port = op->internal_port;
	b->map.external_port = op->external_port;
	b->req_len = mg_pcp_map_request(
		b->req, b->client, op->code == MG_PORTMAP_OP_MAP ? op->lifetime_s : 0, &b->map);
}

static int pcp_submit(void *state, struct mg_portmap_op *op)
{
	struct pcp_be *b = state;

	if (b->op)
		return -EBUSY;
	if (op->code > MG_PORTMAP_OP_CHECK)
		return -EINVAL;
	build(b, op);
	int err = uv_udp_recv_start(&b->udp, on_alloc, on_recv);
	if (err < 0 && err != UV_EALREADY)
		return err;
	b->op = op;
	send_req(b);
	b->retry_ms = FIRST_RETRY_MS;
	uv_timer_start(&b->retry, on_retry, b->retry_ms, 0);
	uv_timer_start(&b->deadline, on_deadline, b->cfg.timeout_ms, 0);
	return 0;
}

static void pcp_cancel(void *state)
{
	struct pcp_be *b = state;

	b->op = NULL;
	uv_udp_recv_stop(&b->udp);
	uv_timer_stop(&b->retry);
	uv_timer_stop(&b->deadline);
}

static void on_closed(uv_handle_t *h)
{
	struct pcp_be *b = h->data;

	if (--b->closing)
		return;
	void (*cb)(void *) = b->close_cb;
	void *arg = b->close_arg;
	free(b);
	cb(arg);
}

static void pcp_close(void *state, void (*cb)(void *arg), void *arg)
{
	struct pcp_be *b = state;

	pcp_cancel(b);
	b->close_cb = cb;
	b->close_arg = arg;
	b->closing = 3;
	uv_close((uv_handle_t *)&b->udp, on_closed);
	uv_close((uv_handle_t *)&b->retry, on_closed);
	uv_close((uv_handle_t *)&b->deadline, on_closed);
}

/* Connects the socket to the gateway and learns our address towards it,
 * which PCP requests must carry. */
static int connect_gateway(struct pcp_be *b)
{
	struct sockaddr_in gw = { .sin_family = AF_INET,
				  .sin_port = htons(MG_PCP_PORT),
				  .sin_addr = b->cfg.gateway };
	struct sockaddr_storage local;
	int len = sizeof(local);

	int err = uv_udp_connect(&b->udp, (const struct sockaddr *)&gw);
	if (err < 0)
		return err;
	err = uv_udp_getsockname(&b->udp, (struct sockaddr *)&local, &len);
	if (err < 0)
		return err;
	if (local.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	b->client = ((struct sockaddr_in *)&local)->sin_addr;
	return 0;
}

static void on_init_closed(uv_handle_t *h)
{
	free(h->data);
}

static int pcp_open(void **state, const struct mg_portmap_backend_config *config)
{
	struct pcp_be *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->cfg = *config;
	int err = uv_udp_init_ex(config->loop, &b->udp, AF_INET);
	if (err < 0) {
		free(b);
		return err;
	}
	b->udp.data = b;
	err = connect_gateway(b);
	if (err < 0) {
		uv_close((uv_handle_t *)&b->udp, on_init_closed);
		return err;
	}
	uv_timer_init(config->loop, &b->retry);
	uv_timer_init(config->loop, &b->deadline);
	b->retry.data = b->deadline.data = b;
	*state = b;
	return 0;
}

const struct mg_portmap_backend mg_portmap_pcp = {
	.proto = MG_PORTMAP_PCP,
	.open = pcp_open,
	.submit = pcp_submit,
	.cancel = pcp_cancel,
	.close = pcp_close,
};
