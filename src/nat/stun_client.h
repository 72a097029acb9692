/* An asynchronous STUN Binding client on a libuv loop. It owns no socket: it
 * sends through a callback and is handed the STUN datagrams its owner reads,
 * so it works on the WireGuard port (through the engine) as well as on a
 * socket of its own (netcheck). Responses are matched by transaction id.
 *
 * Retransmission follows RFC 8489 section 6.2.1: the request goes out at 0,
 * RTO, 3 RTO, 7 RTO, ... (the wait doubles) up to max_sends times, and the
 * transaction fails timeout_ms after the first send. A shorter schedule suits
 * a one-shot check. All retransmissions carry the same transaction id, so
 * when a request was sent more than once the RTT is measured from the last
 * send (it may then be short by up to the previous wait, never long).
 *
 * Every timing decision reads the client's clock; its libuv timer only wakes
 * it up, so tests drive retransmissions and timeouts with a fake clock and
 * mg_stun_client_tick().
 *
 * Ownership: the caller embeds the client and its transactions. A
 * transaction is the caller's again once its callback ran or it was
 * cancelled. The client's timer is closed by mg_stun_client_close; the
 * memory may go once its close callback ran. */
#ifndef MG_NAT_STUN_CLIENT_H
#define MG_NAT_STUN_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "nat/stun.h"
#include "util/clock.h"

struct mg_stun_schedule {
	uint32_t rto_ms;     /* the first wait; doubles after every send */
	uint32_t max_sends;  /* requests sent at most (RFC 8489's Rc) */
	uint32_t timeout_ms; /* from the first send to failure */
};

/* RFC 8489's defaults: RTO 500 ms, Rc 7, the last wait 16 RTO: 39.5 s. */
extern const struct mg_stun_schedule mg_stun_schedule_rfc8489;

struct mg_stun_result {
	/* 0: mapped is valid. -ETIMEDOUT: no answer; -EPROTO: an error
	 * response (error_code); -EBADMSG: a success response without a mapped
	 * address; -ECANCELED: the client was closed. */
	int status;
	struct mg_endpoint server;
	struct mg_endpoint responder; /* where the answer came from */
	struct mg_endpoint mapped;
	uint64_t rtt_ns;
	unsigned sends; /* requests sent */
	uint16_t error_code;
};

struct mg_stun_transaction;
typedef void (*mg_stun_done_cb)(struct mg_stun_transaction *t, const struct mg_stun_result *r);

struct mg_stun_transaction {
	void *data; /* the caller's */
	/* Private. */
	struct mg_stun_client *client;
	struct mg_stun_transaction *next;
	mg_stun_done_cb done;
	struct mg_endpoint server;
	uint8_t request[MG_STUN_REQUEST_SIZE];
	uint64_t first_sent, last_sent, next_send, deadline, wait; /* ns */
	unsigned sends;
};

struct mg_stun_client {
	void *data; /* the caller's */
	/* Private. */
	uv_timer_t timer;
	const struct mg_clock *clock;
	mg_stun_send_fn send;
	void *send_ctx;
	struct mg_stun_schedule schedule;
	struct mg_stun_transaction *pending;
	void (*closed)(struct mg_stun_client *c);
	bool closing;
};

/* schedule NULL: RFC 8489's. -EINVAL for a schedule with a zero field. */
int mg_stun_client_init(struct mg_stun_client *c, uv_loop_t *loop, const struct mg_clock *clock,
			mg_stun_send_fn send, void *send_ctx,
			const struct mg_stun_schedule *schedule);

/* Sends a Binding request to server now and retransmits it until done runs
 * with the answer or the failure. If the first send fails its -errno is
 * returned and done is never called. */
int mg_stun_client_start(struct mg_stun_client *c, struct mg_stun_transaction *t,
			 const struct mg_endpoint *server, mg_stun_done_cb done);

/* Stops t without calling its callback. */
void mg_stun_client_cancel(struct mg_stun_transaction *t);

/* A datagram read by the owner. True when it answered one of our
 * transactions (whose callback then ran); false for anything else, which the
 * owner may hand on (a Binding request, to a responder). */
bool mg_stun_client_receive(struct mg_stun_client *c, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len);

/* Runs what is due by the client's clock: retransmissions, and timeouts
 * (whose callbacks run here). Returns the next deadline on that clock (0:
 * nothing pending). The client's timer calls it; tests call it after moving
 * a fake clock. */
uint64_t mg_stun_client_tick(struct mg_stun_client *c);

/* Fails every pending transaction with -ECANCELED and closes the timer;
 * closed (may be NULL) runs from the loop once the client can be freed. */
void mg_stun_client_close(struct mg_stun_client *c, void (*closed)(struct mg_stun_client *c));

#endif
