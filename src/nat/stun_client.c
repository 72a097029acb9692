#include "nat/stun_client.h"
#include "util/macros.h"
#include "crypto/primitives.h"
#include "util/time.h"

#include <errno.h>
#include <string.h>

const struct mg_stun_schedule mg_stun_schedule_rfc8489 = {
	.rto_ms = 500,
	.max_sends = 7,
	.timeout_ms = 39500,
};

int mg_stun_client_init(struct mg_stun_client *c, uv_loop_t *loop, const struct mg_clock *clock,
			mg_stun_send_fn send, void *send_ctx,
			const struct mg_stun_schedule *schedule)
{
	int ret;

	if (!schedule)
		schedule = &mg_stun_schedule_rfc8489;
	if (!schedule->rto_ms || !schedule->max_sends || !schedule->timeout_ms)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	ret = uv_timer_init(loop, &c->timer);
	if (ret < 0)
		return ret;
	c->clock = clock;
	c->send = send;
	c->send_ctx = send_ctx;
	c->schedule = *schedule;
	return 0;
}

static void on_timer(uv_timer_t *timer);

static uint64_t next_event(const struct mg_stun_transaction *t)
{
	return t->next_send && t->next_send < t->deadline ? t->next_send : t->deadline;
}

/* The earliest retransmission or deadline; 0: none. */
static uint64_t next_deadline(const struct mg_stun_client *c)
{
	uint64_t due = 0;

	for (const struct mg_stun_transaction *t = c->pending; t; t = t->next)
		if (!due || next_event(t) < due)
			due = next_event(t);
	return due;
}

/* Arms the timer for the next deadline; returns it. */
static uint64_t rearm(struct mg_stun_client *c)
{
	uint64_t due = next_deadline(c), now, ms;

	if (c->closing)
		return 0;
	if (!due) {
		uv_timer_stop(&c->timer);
		return 0;
	}
	now = mg_clock_now(c->clock);
	ms = due > now ? (due - now + MG_NSEC_PER_MSEC - 1) / MG_NSEC_PER_MSEC : 0;
	uv_timer_start(&c->timer, on_timer, ms, 0);
	return due;
}

static void unlink_transaction(struct mg_stun_transaction *t)
{
	struct mg_stun_transaction **p = &t->client->pending;

	while (*p && *p != t)
		p = &(*p)->next;
	if (*p)
		*p = t->next;
	t->next = NULL;
}

/* Takes t off the list, then tells its owner, who may free or restart it. */
static void finish(struct mg_stun_transaction *t, struct mg_stun_result *r)
{
	unlink_transaction(t);
	r->server = t->server;
	r->sends = t->sends;
	t->client = NULL;
	t->done(t, r);
}

/* One send; the next one is due after the current wait, which doubles. */
static int transmit(struct mg_stun_transaction *t, uint64_t now)
{
	struct mg_stun_client *c = t->client;
	int ret = c->send(c->send_ctx, &t->server, t->request, sizeof(t->request));

	t->sends++;
	t->last_sent = now;
	if (t->sends >= c->schedule.max_sends) {
		t->next_send = 0;
	} else {
		t->next_send = now + t->wait;
		t->wait *= 2;
	}
	return ret;
}

static struct mg_stun_transaction *first_due(struct mg_stun_client *c, uint64_t now)
{
	for (struct mg_stun_transaction *t = c->pending; t; t = t->next)
		if (next_event(t) <= now)
			return t;
	return NULL;
}

uint64_t mg_stun_client_tick(struct mg_stun_client *c)
{
	uint64_t now = mg_clock_now(c->clock);
	struct mg_stun_transaction *t;

	/* A callback may start or cancel transactions: look again each time. */
	while ((t = first_due(c, now))) {
		if (t->deadline <= now) {
			struct mg_stun_result r = { .status = -ETIMEDOUT };
			finish(t, &r);
		} else {
			transmit(t, now); /* a lost retransmission is just lost */
		}
	}
	return rearm(c);
}

static void on_timer(uv_timer_t *timer)
{
	mg_stun_client_tick(container_of(timer, struct mg_stun_client, timer));
}

int mg_stun_client_start(struct mg_stun_client *c, struct mg_stun_transaction *t,
			 const struct mg_endpoint *server, mg_stun_done_cb done)
{
	uint8_t txid[MG_STUN_TXID_SIZE];
	uint64_t now;
	int ret;

	if (c->closing)
		return -ECANCELED;
	mg_random_bytes(txid, sizeof(txid));
	t->client = c;
	t->done = done;
	t->server = *server;
	t->sends = 0;
	t->wait = (uint64_t)c->schedule.rto_ms * MG_NSEC_PER_MSEC;
	mg_stun_build_request(t->request, txid);
	now = mg_clock_now(c->clock);
	t->first_sent = now;
	t->deadline = now + (uint64_t)c->schedule.timeout_ms * MG_NSEC_PER_MSEC;
	ret = transmit(t, now);
	if (ret < 0) {
		t->client = NULL;
		return ret;
	}
	t->next = c->pending;
	c->pending = t;
	rearm(c);
	return 0;
}

void mg_stun_client_cancel(struct mg_stun_transaction *t)
{
	struct mg_stun_client *c = t->client;

	if (!c)
		return;
	unlink_transaction(t);
	t->client = NULL;
	rearm(c);
}

static struct mg_stun_transaction *find(struct mg_stun_client *c, const uint8_t *txid)
{
	for (struct mg_stun_transaction *t = c->pending; t; t = t->next)
		if (!memcmp(t->request + 8, txid, MG_STUN_TXID_SIZE))
			return t;
	return NULL;
}

static void answer(struct mg_stun_transaction *t, const struct mg_stun_message *m,
		   const struct mg_endpoint *from, uint64_t now)
{
	struct mg_stun_result r = { .responder = *from, .rtt_ns = now - t->last_sent };

	if (m->type == MG_STUN_BINDING_ERROR) {
		r.status = -EPROTO;
		r.error_code = m->present & MG_STUN_HAS_ERROR_CODE ? m->error_code : 0;
	} else if (m->present & (MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_MAPPED)) {
		r.mapped = m->mapped;
	} else {
		r.status = -EBADMSG;
	}
	finish(t, &r);
}

bool mg_stun_client_receive(struct mg_stun_client *c, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len)
{
	struct mg_stun_message m;
	struct mg_stun_transaction *t;

	if (mg_stun_parse(&m, buf, len) < 0)
		return false;
	if (m.type != MG_STUN_BINDING_SUCCESS && m.type != MG_STUN_BINDING_ERROR)
		return false;
	t = find(c, m.txid);
	if (!t)
		return false;
	answer(t, &m, from, mg_clock_now(c->clock));
	rearm(c);
	return true;
}

static void on_closed(uv_handle_t *h)
{
	struct mg_stun_client *c = container_of((uv_timer_t *)h, struct mg_stun_client, timer);

	if (c->closed)
		c->closed(c);
}

void mg_stun_client_close(struct mg_stun_client *c, void (*closed)(struct mg_stun_client *c))
{
	if (c->closing)
		return;
	c->closing = true;
	c->closed = closed;
	while (c->pending) {
		struct mg_stun_result r = { .status = -ECANCELED };
		finish(c->pending, &r);
	}
	uv_close((uv_handle_t *)&c->timer, on_closed);
}
