/* One-shot availability probe behind mg_portmap_probe_start: every allowed
 * protocol is probed at once; then, one protocol at a time (they all map
 * the same internal port at the same gateway), each that answered maps the
 * port for a short lease and deletes the mapping again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nat/portmap_backend.h"
#include "util/macros.h"

/* Short: the mapping is deleted at once; a crash leaves it this long. */
#define PROBE_LIFETIME_S 120

enum pstate {
	P_IDLE,
	P_PROBING,
	P_WAIT_MAP,
	P_MAPPING,
	P_DELETING,
	P_DONE
};

struct pslot {
	struct mg_portmap_probe *pr;
	const struct mg_portmap_backend *ops;
	void *state;
	struct mg_portmap_op op;
	enum pstate st;
	uint64_t t0;
};

struct mg_portmap_probe {
	uv_loop_t *loop;
	uv_timer_t defer;
	uint16_t internal_port;
	uint8_t nonce[MG_PCP_NONCE_LEN];
	struct mg_portmap_probe_result result;
	struct pslot slot[MG_PORTMAP_PROTO_COUNT];
	bool cancelled;
	bool finished;
	unsigned closing;
	void (*cb)(const struct mg_portmap_probe_result *result, void *arg);
	void *arg;
};

static const struct mg_portmap_backend *const builtin[MG_PORTMAP_PROTO_COUNT] = {
	[MG_PORTMAP_NATPMP] = &mg_portmap_natpmp,
	[MG_PORTMAP_PCP] = &mg_portmap_pcp,
	[MG_PORTMAP_UPNP] = &mg_portmap_upnp,
};

static void release(struct mg_portmap_probe *pr)
{
	if (--pr->closing)
		return;
	pr->cb(&pr->result, pr->arg);
	free(pr);
}

static void on_backend_closed(void *arg)
{
	release(arg);
}

static void on_defer_closed(uv_handle_t *h)
{
	release(h->data);
}

static void finish(struct mg_portmap_probe *pr)
{
	if (pr->finished)
		return;
	pr->finished = true;
	pr->closing = 1;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		pr->closing += pr->slot[p].state != NULL;
	uv_close((uv_handle_t *)&pr->defer, on_defer_closed);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct pslot *s = &pr->slot[p];
		if (s->state)
			s->ops->close(s->state, on_backend_closed, pr);
	}
}

static void op_done(struct mg_portmap_op *op);

static bool submit(struct pslot *s, enum mg_portmap_opcode code, uint16_t ext_port,
		   uint32_t lifetime)
{
	struct mg_portmap_op *op = &s->op;
	struct mg_portmap_probe *pr = s->pr;

	memset(op, 0, sizeof(*op));
	op->code = code;
	op->internal_port = pr->internal_port;
	op->external_port = ext_port;
	op->lifetime_s = lifetime;
	memcpy(op->nonce, pr->nonce, MG_PCP_NONCE_LEN);
	op->done = op_done;
	op->data = s;
	return s->ops->submit(s->state, op) == 0;
}

/* Next step: one protocol maps (then deletes) at a time. */
static void pump(struct mg_portmap_probe *pr)
{
	bool pending = false;

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		enum pstate st = pr->slot[p].st;
		if (st == P_MAPPING || st == P_DELETING)
			return;
		pending |= st == P_PROBING || st == P_WAIT_MAP;
	}
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT && !pr->cancelled; p++) {
		struct pslot *s = &pr->slot[p];
		if (s->st != P_WAIT_MAP)
			continue;
		if (submit(s, MG_PORTMAP_OP_MAP, pr->internal_port, PROBE_LIFETIME_S)) {
			s->st = P_MAPPING;
			return;
		}
		pr->result.proto[p].error = -EIO;
		s->st = P_DONE;
	}
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		pending |= pr->slot[p].st == P_PROBING;
	if (!pending || pr->cancelled)
		finish(pr);
}

static void probe_done(struct pslot *s, struct mg_portmap_probe_proto *res)
{
	res->rtt_ms = (uint32_t)((uv_hrtime() - s->t0) / 1000000);
	res->answered = s->op.status == 0;
	res->error = s->op.status;
	res->external_addr = s->op.external_addr;
	s->st = res->answered ? P_WAIT_MAP : P_DONE;
}

static void map_done(struct pslot *s, struct mg_portmap_probe_proto *res)
{
	res->error = s->op.status;
	s->st = P_DONE;
	if (s->op.status < 0)
		return;
	res->mapped = true;
	res->external_port = s->op.mapped_port;
	res->lifetime_s = s->op.granted_s;
	if (s->op.external_addr.s_addr)
		res->external_addr = s->op.external_addr;
	if (submit(s, MG_PORTMAP_OP_DELETE, res->external_port, 0))
		s->st = P_DELETING;
}

static void op_done(struct mg_portmap_op *op)
{
	struct pslot *s = op->data;
	struct mg_portmap_probe *pr = s->pr;
	struct mg_portmap_probe_proto *res = &pr->result.proto[s->ops->proto];

	switch (s->st) {
	case P_PROBING:
		probe_done(s, res);
		break;
	case P_MAPPING:
		map_done(s, res);
		break;
	default:
		s->st = P_DONE;
		break;
	}
	pump(pr);
}

void mg_portmap_probe_cancel(struct mg_portmap_probe *pr)
{
	if (pr->finished)
		return;
	pr->cancelled = true;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct pslot *s = &pr->slot[p];
		if (s->st == P_PROBING) {
			s->ops->cancel(s->state);
			pr->result.proto[p].error = -ECANCELED;
		}
		if (s->st == P_PROBING || s->st == P_WAIT_MAP)
			s->st = P_DONE;
	}
	pump(pr);
}

static void on_defer(uv_timer_t *t)
{
	struct mg_portmap_probe *pr = container_of(t, struct mg_portmap_probe, defer);

	pump(pr);
}

static void start_slots(struct mg_portmap_probe *pr, const struct mg_portmap_config *config)
{
	struct mg_portmap_backend_config bc = {
		.loop = pr->loop,
		.gateway = pr->result.gateway,
		.upnp_url = config->upnp_url,
		.timeout_ms = config->timeout_ms ? config->timeout_ms : MG_PORTMAP_TIMEOUT_MS,
		.log = config->log,
	};
	unsigned protocols =
		config->protocols & MG_PORTMAP_ALL ? config->protocols : MG_PORTMAP_ALL;

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct pslot *s = &pr->slot[p];
		s->pr = pr;
		s->ops = config->backends[p] ? config->backends[p] : builtin[p];
		pr->result.proto[p].error = -ENOPROTOOPT; /* not asked */
		if (!(protocols & MG_PORTMAP_BIT(p)))
			continue;
		int err = s->ops->open(&s->state, &bc);
		if (err < 0) {
			s->state = NULL;
			pr->result.proto[p].error = err;
			continue;
		}
		s->t0 = uv_hrtime();
		if (submit(s, MG_PORTMAP_OP_PROBE, 0, 0))
			s->st = P_PROBING;
		else
			pr->result.proto[p].error = -EIO;
	}
}

int mg_portmap_probe_start(struct mg_portmap_probe **out, uv_loop_t *loop,
			   const struct mg_portmap_config *config, uint16_t internal_port,
			   void (*cb)(const struct mg_portmap_probe_result *result, void *arg),
			   void *arg)
{
	struct mg_portmap_probe *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return -ENOMEM;
	if (getrandom(pr->nonce, sizeof(pr->nonce), 0) != sizeof(pr->nonce)) {
		free(pr);
		return -EIO;
	}
	pr->loop = loop;
	pr->internal_port = internal_port;
	pr->cb = cb;
	pr->arg = arg;
	uv_timer_init(loop, &pr->defer);
	pr->defer.data = pr;
	pr->result.gateway = config->gateway;
	if (!pr->result.gateway.s_addr)
		pr->result.error = mg_portmap_default_gateway(&pr->result.gateway);
	if (!pr->result.error)
		start_slots(pr, config);
	/* Whatever failed at once is reported from the loop, never from here. */
	uv_timer_start(&pr->defer, on_defer, 0, 0);
	*out = pr;
	return 0;
}
