/* NAT-PMP back-end: libnatpmp's non-blocking socket (connected to the
 * gateway's port 5351) polled on the loop. libnatpmp keeps its own
 * retransmit schedule (250 ms, doubling); a timer calls it back when that
 * schedule says so, and a second timer bounds the whole request.
 *
 * Every datagram is peeked and checked with mg_natpmp_parse_reply before
 * libnatpmp reads it (libnatpmp reads a fixed 16 bytes and trusts the
 * length); what libnatpmp then reports must agree with our parse. */
#include <errno.h>
#include <natpmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nat/natpmp_wire.h"
#include "util/macros.h"
#include "nat/portmap_backend.h"

struct natpmp_be {
	struct mg_portmap_backend_config cfg;
	natpmp_t np;
	uv_poll_t poll;
	uv_timer_t retry;
	uv_timer_t deadline;
	struct mg_portmap_op *op;
	uint8_t expect; /* opcode of the reply we wait for */
	/* From the last external address reply: NAT-PMP mapping replies carry
	 * only the port. */
	struct in_addr external;
	unsigned closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

static void finish(struct natpmp_be *b, int status)
{
	struct mg_portmap_op *op = b->op;

	b->op = NULL;
	uv_poll_stop(&b->poll);
	uv_timer_stop(&b->retry);
	uv_timer_stop(&b->deadline);
	op->status = status;
	op->done(op);
}

/* Checks a reply libnatpmp parsed against our own parse of the same bytes
 * and the request; fills the op. */
static int accept_reply(struct natpmp_be *b, const struct mg_natpmp_reply *mine,
			const natpmpresp_t *lib)
{
	struct mg_portmap_op *op = b->op;

	if (lib->epoch != mine->epoch)
		return -EBADMSG;
	op->has_epoch = true;
	op->epoch = mine->epoch;
	if (b->expect == MG_NATPMP_OP_ADDRESS) {
		if (lib->pnu.publicaddress.addr.s_addr != mine->external_addr.s_addr)
			return -EBADMSG;
		op->external_addr = mine->external_addr;
		b->external = mine->external_addr;
		return 0;
	}
	if (lib->pnu.newportmapping.privateport != mine->internal_port ||
	    lib->pnu.newportmapping.mappedpublicport != mine->external_port ||
	    lib->pnu.newportmapping.lifetime != mine->lifetime)
		return -EBADMSG;
	if (mine->internal_port != op->internal_port) {
		snprintf(op->detail, sizeof(op->detail), "reply for internal port %u, not %u",
			 mine->internal_port, op->internal_port);
		return -EBADMSG;
	}
	if (op->code == MG_PORTMAP_OP_MAP && (mine->external_port == 0 || mine->lifetime == 0)) {
		snprintf(op->detail, sizeof(op->detail), "granted port %u for %u s",
			 mine->external_port, mine->lifetime);
		return -EBADMSG;
	}
	op->external_addr = b->external;
	op->mapped_port = mine->external_port;
	op->granted_s = mine->lifetime;
	return 0;
}

/* Peeks the next datagram; returns its length, 0 when none waits, or
 * -errno (an ICMP error queued on the connected socket). */
static ssize_t peek(struct natpmp_be *b, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(b->np.s, buf, cap, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

static void discard(struct natpmp_be *b)
{
	uint8_t byte;
	(void)recv(b->np.s, &byte, 1, MSG_DONTWAIT);
}

/* Reads one waiting datagram; returns true when the op finished. */
static bool read_one(struct natpmp_be *b, bool *more)
{
	uint8_t buf[MG_NATPMP_MAP_REPLY_LEN];
	struct mg_natpmp_reply mine;
	natpmpresp_t lib;

	*more = false;
	ssize_t n = peek(b, buf, sizeof(buf));
	if (n == 0)
		return false;
	if (n < 0) {
		/* recv returned (and cleared) the socket's pending ICMP error. */
		finish(b, n == -ECONNREFUSED ? -EPROTONOSUPPORT : (int)n);
		return true;
	}
	*more = true;
	if ((size_t)n > sizeof(buf) || mg_natpmp_parse_reply(&mine, buf, (size_t)n) < 0 ||
	    mine.opcode != b->expect) {
		discard(b);
		return false;
	}
	int r = readnatpmpresponseorretry(&b->np, &lib);
	if (r == NATPMP_TRYAGAIN)
		return false;
	if (mine.result != MG_NATPMP_SUCCESS) {
		snprintf(b->op->detail, sizeof(b->op->detail), "result code %u", mine.result);
		b->op->has_epoch = true;
		b->op->epoch = mine.epoch;
		finish(b, mg_natpmp_result_errno(mine.result));
		return true;
	}
	if (r < 0)
		return false; /* libnatpmp consumed it and found it wanting */
	finish(b, accept_reply(b, &mine, &lib));
	return true;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct natpmp_be *b = container_of(h, struct natpmp_be, poll);
	bool more = true;

	(void)events;
	if (!b->op)
		return;
	if (status < 0) {
		/* libuv reports a socket error (an ICMP port unreachable on
		 * the connected socket) as UV_EBADF and stops polling. */
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(b->np.s, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err)
			err = -status;
		finish(b, err == ECONNREFUSED ? -EPROTONOSUPPORT : -err);
		return;
	}
	while (more && b->op) {
		if (read_one(b, &more))
			return;
	}
}

static void on_retry(uv_timer_t *t);

static void arm_retry(struct natpmp_be *b)
{
	struct timeval tv;

	if (getnatpmprequesttimeout(&b->np, &tv) < 0)
		return;
	uint64_t ms = (uint64_t)(tv.tv_sec < 0 ? 0 : tv.tv_sec) * 1000 +
		      (uint64_t)(tv.tv_usec < 0 ? 0 : tv.tv_usec) / 1000;
	uv_timer_start(&b->retry, on_retry, ms + 1, 0);
}

static void on_retry(uv_timer_t *t)
{
	struct natpmp_be *b = container_of(t, struct natpmp_be, retry);
	natpmpresp_t lib;

	if (!b->op)
		return;
	/* With nothing to read, libnatpmp resends when its timeout passed. */
	int r = readnatpmpresponseorretry(&b->np, &lib);
	if (r == NATPMP_ERR_NOGATEWAYSUPPORT) {
		finish(b, -ETIMEDOUT);
		return;
	}
	arm_retry(b);
}

static void on_deadline(uv_timer_t *t)
{
	struct natpmp_be *b = container_of(t, struct natpmp_be, deadline);

	if (b->op)
		finish(b, -ETIMEDOUT);
}

static void drain(struct natpmp_be *b)
{
	uint8_t buf[64];
	while (recv(b->np.s, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno == ECONNREFUSED)
		;
}

static int natpmp_submit(void *state, struct mg_portmap_op *op)
{
	struct natpmp_be *b = state;
	int r;

	if (b->op)
		return -EBUSY;
	drain(b);
	switch (op->code) {
	case MG_PORTMAP_OP_PROBE:
	case MG_PORTMAP_OP_CHECK:
		b->expect = MG_NATPMP_OP_ADDRESS;
		r = sendpublicaddressrequest(&b->np);
		break;
	case MG_PORTMAP_OP_MAP:
		b->expect = MG_NATPMP_OP_MAP_UDP;
		r = sendnewportmappingrequest(&b->np, NATPMP_PROTOCOL_UDP, op->internal_port,
					      op->external_port, op->lifetime_s);
		break;
	case MG_PORTMAP_OP_DELETE:
		/* RFC 6886 3.4: lifetime 0, suggested external port 0. */
		b->expect = MG_NATPMP_OP_MAP_UDP;
		r = sendnewportmappingrequest(&b->np, NATPMP_PROTOCOL_UDP, op->internal_port, 0, 0);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return -EIO;
	b->op = op;
	uv_poll_start(&b->poll, UV_READABLE, on_readable);
	uv_timer_start(&b->deadline, on_deadline, b->cfg.timeout_ms, 0);
	arm_retry(b);
	return 0;
}

static void natpmp_cancel(void *state)
{
	struct natpmp_be *b = state;

	b->op = NULL;
	uv_poll_stop(&b->poll);
	uv_timer_stop(&b->retry);
	uv_timer_stop(&b->deadline);
}

static void on_closed(uv_handle_t *h)
{
	struct natpmp_be *b = h->data;

	if (--b->closing)
		return;
	closenatpmp(&b->np);
	void (*cb)(void *) = b->close_cb;
	void *arg = b->close_arg;
	free(b);
	cb(arg);
}

static void natpmp_close(void *state, void (*cb)(void *arg), void *arg)
{
	struct natpmp_be *b = state;

	natpmp_cancel(b);
	b->close_cb = cb;
	b->close_arg = arg;
	b->closing = 3;
	uv_close((uv_handle_t *)&b->poll, on_closed);
	uv_close((uv_handle_t *)&b->retry, on_closed);
	uv_close((uv_handle_t *)&b->deadline, on_closed);
}

static int natpmp_open(void **state, const struct mg_portmap_backend_config *config)
{
	struct natpmp_be *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->cfg = *config;
	if (initnatpmp(&b->np, 1, config->gateway.s_addr) < 0) {
		err = -EIO;
		goto err_free;
	}
	err = uv_poll_init_socket(config->loop, &b->poll, b->np.s);
	if (err < 0)
		goto err_natpmp;
	uv_timer_init(config->loop, &b->retry);
	uv_timer_init(config->loop, &b->deadline);
	b->poll.data = b->retry.data = b->deadline.data = b;
	*state = b;
	return 0;

err_natpmp:
	closenatpmp(&b->np);
err_free:
	free(b);
	return err;
}

const struct mg_portmap_backend mg_portmap_natpmp = {
	.proto = MG_PORTMAP_NATPMP,
	.open = natpmp_open,
	.submit = natpmp_submit,
	.cancel = natpmp_cancel,
	.close = natpmp_close,
};
