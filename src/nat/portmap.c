/* The port mapper: one UDP port kept mapped at the gateway through the
 * first protocol that answers. A state machine over the backends of
 * portmap_backend.h, driven by their replies and by deadlines on
 * config.clock:
 *  - renew_at:  half the granted lifetime after a grant; MAP again.
 *  - check_at:  every check_interval_ms; CHECK for a gateway restart.
 *  - expire_at: the lease ends; if no renewal came through, LOST.
 *  - retry_at:  after FAILED or LOST, probe again.
 * Every mapping is journaled before it is asked for (portmap_journal.h). */
#include "nat/portmap.h"
#include "util/macros.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "nat/epoch.h"
#include "nat/portmap_backend.h"
#include "nat/portmap_journal.h"
#include "util/log.h"

/* Shortest wait between two renewal attempts. */
#define MIN_RENEW_NS MG_NSEC_PER_SEC

enum phase {
	PHASE_CLEANUP, /* deleting what the journal held at start */
	PHASE_PROBE,   /* asking every protocol; mapping through the first */
	PHASE_MAPPED,
	PHASE_WAIT, /* after FAILED or LOST, until retry_at */
	PHASE_CLOSING,
};

enum probe_state {
	PROBE_NONE,
	PROBE_RUNNING,
	PROBE_OK,
	PROBE_FAILED
};

struct slot {
	struct mg_portmap *pm;
	const struct mg_portmap_backend *ops;
	void *state; /* NULL: not open */
	struct mg_portmap_op op;
	bool busy;
	bool recreate; /* the MAP in flight re-creates a lost mapping */
	enum probe_state probe;
	unsigned answer_rank; /* order in which probes answered, from 1 */
	struct mg_epoch epoch;
};

struct mg_portmap {
	uv_loop_t *loop;
	uv_timer_t timer;
	struct mg_portmap_config cfg;
	char *upnp_url;
	uint16_t internal_port;
	struct in_addr gateway;
	void (*cb)(struct mg_portmap *pm, enum mg_portmap_event event,
		   const struct mg_portmap_status *status, void *arg);
	void *arg;

	struct slot slot[MG_PORTMAP_PROTO_COUNT];
	enum phase phase;
	unsigned answers;
	int active; /* protocol of the mapping or of the MAP being tried; -1 */
	bool mapped;
	uint8_t nonce[MG_PCP_NONCE_LEN];
	struct sockaddr_in external;
	uint32_t lifetime_s;
	int last_error;
	uint64_t renew_at, check_at, expire_at, retry_at;
	struct mg_portmap_journal journal;

	unsigned closing; /* handles and backends still closing */
	void (*close_cb)(void *arg);
	void *close_arg;
};

static const char *const proto_names[MG_PORTMAP_PROTO_COUNT] = {
	[MG_PORTMAP_NATPMP] = "natpmp",
	[MG_PORTMAP_PCP] = "pcp",
	[MG_PORTMAP_UPNP] = "upnp",
};

const char *mg_portmap_proto_name(enum mg_portmap_proto proto)
{
	if ((unsigned)proto >= MG_PORTMAP_PROTO_COUNT)
		return "unknown";
	return proto_names[proto];
}

int mg_portmap_proto_parse(enum mg_portmap_proto *proto, const char *name)
{
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		if (!strcasecmp(name, proto_names[p])) {
			*proto = p;
			return 0;
		}
	}
	if (!strcasecmp(name, "nat-pmp")) {
		*proto = MG_PORTMAP_NATPMP;
		return 0;
	}
	return -EINVAL;
}

static uint64_t now_ns(const struct mg_portmap *pm)
{
	return mg_clock_now(pm->cfg.clock);
}

static int64_t wall_s(const struct mg_portmap *pm)
{
	struct timespec ts;
	pm->cfg.clock->wall(pm->cfg.clock, &ts);
	return ts.tv_sec;
}

static bool allowed(const struct mg_portmap *pm, int proto)
{
	return pm->cfg.protocols & MG_PORTMAP_BIT(proto);
}

static void format_ep(char *out, size_t cap, const struct sockaddr_in *sin)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
	snprintf(out, cap, "%s:%u", a, ntohs(sin->sin_port));
}

/* Reports an event; returns false when the callback closed the mapper. */
static bool emit(struct mg_portmap *pm, enum mg_portmap_event ev, int proto, int error)
{
	struct mg_portmap_status st = {
		.proto = proto < 0 ? MG_PORTMAP_NATPMP : proto,
		.external = pm->external,
		.lifetime_s = pm->lifetime_s,
		.error = error,
	};
	pm->cb(pm, ev, &st, pm->arg);
	return pm->phase != PHASE_CLOSING;
}

static void journal_save(struct mg_portmap *pm)
{
	int err = mg_portmap_journal_save(&pm->journal);
	if (err < 0)
		mg_log(pm->cfg.log, MG_LOG_ERROR, "portmap: cannot write journal '%s': %s",
		       pm->journal.path, strerror(-err));
}

static void journal_forget(struct mg_portmap *pm, int proto)
{
	if (!pm->journal.entry[proto].used)
		return;
	pm->journal.entry[proto].used = false;
	journal_save(pm);
}

/* Write-ahead: the mapping we are about to ask for, so a crash before the
 * answer still leaves its trace. */
static void journal_intent(struct mg_portmap *pm, int proto, uint16_t ext_port)
{
	struct mg_portmap_journal_entry *e = &pm->journal.entry[proto];

	e->used = true;
	e->gateway = pm->gateway;
	e->internal_port = pm->internal_port;
	e->external_port = ext_port;
	e->external_addr = pm->external.sin_addr;
	memcpy(e->nonce, pm->nonce, MG_PCP_NONCE_LEN);
	e->expires = wall_s(pm) +
		     (pm->lifetime_s > pm->cfg.lifetime_s ? pm->lifetime_s : pm->cfg.lifetime_s);
	journal_save(pm);
}

static void journal_granted(struct mg_portmap *pm, int proto)
{
	struct mg_portmap_journal_entry *e = &pm->journal.entry[proto];

	e->used = true;
	e->gateway = pm->gateway;
	e->internal_port = pm->internal_port;
	e->external_port = ntohs(pm->external.sin_port);
	e->external_addr = pm->external.sin_addr;
	memcpy(e->nonce, pm->nonce, MG_PCP_NONCE_LEN);
	e->expires = pm->lifetime_s ? wall_s(pm) + pm->lifetime_s : 0;
	journal_save(pm);
}

static void on_timer(uv_timer_t *t)
{
	mg_portmap_tick(container_of(t, struct mg_portmap, timer));
}

/* Arms the loop's timer for the earliest deadline. */
static void arm_timer(struct mg_portmap *pm)
{
	uint64_t next = 0;
	const uint64_t deadlines[] = { pm->renew_at, pm->check_at, pm->expire_at, pm->retry_at };

	if (pm->phase == PHASE_CLOSING)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(deadlines); i++) {
		if (deadlines[i] && (!next || deadlines[i] < next))
			next = deadlines[i];
	}
	if (!next) {
		uv_timer_stop(&pm->timer);
		return;
	}
	uint64_t now = now_ns(pm);
	uint64_t ms = next > now ? (next - now + MG_NSEC_PER_MSEC - 1) / MG_NSEC_PER_MSEC : 0;
	uv_timer_start(&pm->timer, on_timer, ms, 0);
}

static void op_done(struct mg_portmap_op *op);

static int submit(struct slot *s, enum mg_portmap_opcode code, uint16_t ext_port,
		  uint32_t lifetime_s, const uint8_t nonce[MG_PCP_NONCE_LEN])
{
	struct mg_portmap_op *op = &s->op;

	memset(op, 0, sizeof(*op));
	op->code = code;
	op->internal_port = s->pm->internal_port;
	op->external_port = ext_port;
	op->lifetime_s = lifetime_s;
	memcpy(op->nonce, nonce, MG_PCP_NONCE_LEN);
	op->done = op_done;
	op->data = s;
	int err = s->ops->submit(s->state, op);
	if (err < 0) {
		mg_log(s->pm->cfg.log, MG_LOG_VERBOSE, "portmap: %s: cannot send request: %s",
		       mg_portmap_proto_name(s->ops->proto), strerror(-err));
		return err;
	}
	s->busy = true;
	return 0;
}

static void fail_all(struct mg_portmap *pm);
static void begin_probe(struct mg_portmap *pm);

/* Renewal or re-creation of the current mapping: same nonce, same external
 * port suggested. */
static int submit_map(struct mg_portmap *pm, int proto, bool recreate)
{
	struct slot *s = &pm->slot[proto];
	uint16_t suggest = pm->mapped ? ntohs(pm->external.sin_port) : pm->internal_port;

	pm->active = proto;
	s->recreate = recreate;
	journal_intent(pm, proto, suggest);
	return submit(s, MG_PORTMAP_OP_MAP, suggest, pm->cfg.lifetime_s, pm->nonce);
}

/* Takes the next protocol that answered the probe, in answer order. */
static void try_next(struct mg_portmap *pm)
{
	struct slot *best = NULL;
	bool running = false;

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		running |= s->probe == PROBE_RUNNING;
		if (s->probe == PROBE_OK && (!best || s->answer_rank < best->answer_rank))
			best = s;
	}
	if (best) {
		if (submit_map(pm, best->ops->proto, false) == 0)
			return;
		best->probe = PROBE_FAILED;
		try_next(pm);
		return;
	}
	if (!running)
		fail_all(pm);
}

static void set_mapped(struct mg_portmap *pm, const struct mg_portmap_op *op)
{
	uint64_t now = now_ns(pm);
	uint64_t life = (uint64_t)op->granted_s * MG_NSEC_PER_SEC;

	pm->mapped = true;
	pm->external.sin_family = AF_INET;
	pm->external.sin_addr = op->external_addr;
	pm->external.sin_port = htons(op->mapped_port);
	pm->lifetime_s = op->granted_s;
	/* Lifetime 0 from UPnP: a permanent lease, only checked. */
	pm->expire_at = life ? now + life : 0;
	pm->renew_at = life ? now + (life / 2 > MIN_RENEW_NS ? life / 2 : MIN_RENEW_NS) : 0;
	pm->check_at = now + (uint64_t)pm->cfg.check_interval_ms * MG_NSEC_PER_MSEC;
	pm->retry_at = 0;
	journal_granted(pm, pm->active);
}

static void lose(struct mg_portmap *pm, int error)
{
	int proto = pm->active;
	char ep[32];

	format_ep(ep, sizeof(ep), &pm->external);
	mg_log(pm->cfg.log, MG_LOG_INFO, "portmap: %s: lost mapping %s: %s",
	       mg_portmap_proto_name(proto), ep, strerror(-error));
	if (pm->slot[proto].busy) {
		pm->slot[proto].ops->cancel(pm->slot[proto].state);
		pm->slot[proto].busy = false;
	}
	pm->mapped = false;
	pm->renew_at = pm->check_at = pm->expire_at = 0;
	pm->phase = PHASE_WAIT;
	pm->retry_at = now_ns(pm) + (uint64_t)pm->cfg.retry_ms * MG_NSEC_PER_MSEC;
	pm->last_error = error;
	if (!emit(pm, MG_PORTMAP_LOST, proto, error))
		return;
	pm->active = -1;
	memset(&pm->external, 0, sizeof(pm->external));
	pm->lifetime_s = 0;
}

static void fail_all(struct mg_portmap *pm)
{
	mg_log(pm->cfg.log, MG_LOG_INFO, "portmap: no protocol mapped port %u: %s",
	       pm->internal_port, strerror(-pm->last_error));
	pm->phase = PHASE_WAIT;
	pm->active = -1;
	pm->retry_at = now_ns(pm) + (uint64_t)pm->cfg.retry_ms * MG_NSEC_PER_MSEC;
	/* A reply's callback got here: nothing else arms the retry. */
	if (emit(pm, MG_PORTMAP_FAILED, -1, pm->last_error ? pm->last_error : -ETIMEDOUT))
		arm_timer(pm);
}

/* Returns false when the reply's epoch shows the gateway restarted. */
static bool epoch_ok(struct mg_portmap *pm, struct slot *s, const struct mg_portmap_op *op)
{
	if (!op->has_epoch)
		return true;
	bool ok = s->ops->proto == MG_PORTMAP_PCP
			  ? mg_epoch_pcp_update(&s->epoch, op->epoch, now_ns(pm))
			  : mg_epoch_natpmp_update(&s->epoch, op->epoch, now_ns(pm));
	if (!ok)
		mg_log(pm->cfg.log, MG_LOG_INFO,
		       "portmap: %s: gateway epoch went to %u: it restarted",
		       mg_portmap_proto_name(s->ops->proto), op->epoch);
	return ok;
}

/* op->detail may quote what the gateway said. */
static void log_failure(const struct slot *s, const struct mg_portmap_op *op, const char *what)
{
	char detail[MG_LOG_SAFE_MAX];

	mg_log(s->pm->cfg.log, MG_LOG_VERBOSE, "portmap: %s: %s failed: %s%s%s",
	       mg_portmap_proto_name(s->ops->proto), what, strerror(-op->status),
	       op->detail[0] ? ": " : "", mg_log_safe(detail, op->detail, sizeof(op->detail)));
}

static void cleanup_done(struct mg_portmap *pm, struct slot *s)
{
	int proto = s->ops->proto;

	if (s->op.status < 0)
		log_failure(s, &s->op, "deleting the mapping of an earlier run");
	else
		mg_log(pm->cfg.log, MG_LOG_INFO,
		       "portmap: %s: deleted the mapping of an earlier run",
		       mg_portmap_proto_name(proto));
	if (s->op.status != -ETIMEDOUT)
		journal_forget(pm, proto);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		if (pm->slot[p].busy)
			return;
	}
	begin_probe(pm);
}

static void probe_done(struct mg_portmap *pm, struct slot *s)
{
	const struct mg_portmap_op *op = &s->op;

	(void)epoch_ok(pm, s, op);
	if (op->status < 0) {
		s->probe = PROBE_FAILED;
		pm->last_error = op->status;
		log_failure(s, op, "probe");
	} else {
		s->probe = PROBE_OK;
		s->answer_rank = ++pm->answers;
		mg_log(pm->cfg.log, MG_LOG_VERBOSE, "portmap: %s: gateway answers",
		       mg_portmap_proto_name(s->ops->proto));
	}
	if (pm->phase == PHASE_PROBE && pm->active < 0)
		try_next(pm);
}

static bool same_endpoint(const struct mg_portmap *pm, const struct mg_portmap_op *op)
{
	return pm->external.sin_addr.s_addr == op->external_addr.s_addr &&
	       ntohs(pm->external.sin_port) == op->mapped_port;
}

static void mapped(struct mg_portmap *pm, struct slot *s, bool recreated)
{
	const struct mg_portmap_op *op = &s->op;
	bool first = pm->phase == PHASE_PROBE;
	bool moved = !first && !same_endpoint(pm, op);
	char ep[32];

	pm->phase = PHASE_MAPPED;
	set_mapped(pm, op);
	format_ep(ep, sizeof(ep), &pm->external);
	mg_log(pm->cfg.log, first || recreated || moved ? MG_LOG_INFO : MG_LOG_VERBOSE,
	       "portmap: %s: UDP %u mapped at %s for %u s%s", mg_portmap_proto_name(s->ops->proto),
	       pm->internal_port, ep, pm->lifetime_s,
	       recreated ? " (re-created)" : (first || moved ? "" : " (renewed)"));
	if (!emit(pm, first || recreated || moved ? MG_PORTMAP_MAPPED : MG_PORTMAP_RENEWED,
		  s->ops->proto, 0))
		return;
	arm_timer(pm);
}

static void map_done(struct mg_portmap *pm, struct slot *s)
{
	const struct mg_portmap_op *op = &s->op;
	bool restarted = !epoch_ok(pm, s, op);
	uint64_t now = now_ns(pm);

	if (op->status >= 0) {
		mapped(pm, s, pm->phase == PHASE_MAPPED && (s->recreate || restarted));
		return;
	}
	log_failure(s, op, s->recreate ? "re-creating the mapping" : "mapping");
	pm->last_error = op->status;
	if (pm->phase == PHASE_PROBE) {
		s->probe = PROBE_FAILED;
		pm->active = -1;
		if (op->status != -ETIMEDOUT)
			journal_forget(pm, s->ops->proto);
		try_next(pm);
		return;
	}
	if (s->recreate || (pm->expire_at && now >= pm->expire_at)) {
		lose(pm, op->status);
	} else {
		uint64_t left = pm->expire_at ? pm->expire_at - now : 0;
		pm->renew_at = now + (left / 2 > MIN_RENEW_NS ? left / 2 : MIN_RENEW_NS);
	}
	arm_timer(pm);
}

static void check_done(struct mg_portmap *pm, struct slot *s)
{
	const struct mg_portmap_op *op = &s->op;
	bool restarted = !epoch_ok(pm, s, op);

	pm->check_at = now_ns(pm) + (uint64_t)pm->cfg.check_interval_ms * MG_NSEC_PER_MSEC;
	if (op->status == -ENOENT || restarted) {
		mg_log(pm->cfg.log, MG_LOG_INFO,
		       "portmap: %s: the gateway lost the mapping; re-creating it",
		       mg_portmap_proto_name(s->ops->proto));
		if (submit_map(pm, s->ops->proto, true) < 0) {
			lose(pm, -EIO);
			return;
		}
	} else if (op->status < 0) {
		log_failure(s, op, "restart check");
	}
	arm_timer(pm);
}

static void close_step(struct mg_portmap *pm);

static void op_done(struct mg_portmap_op *op)
{
	struct slot *s = op->data;
	struct mg_portmap *pm = s->pm;

	s->busy = false;
	switch (pm->phase) {
	case PHASE_CLEANUP:
		cleanup_done(pm, s);
		return;
	case PHASE_CLOSING:
		if (op->status < 0)
			log_failure(s, op, "deleting the mapping");
		if (op->status != -ETIMEDOUT)
			journal_forget(pm, s->ops->proto);
		close_step(pm);
		return;
	default:
		break;
	}
	switch (op->code) {
	case MG_PORTMAP_OP_PROBE:
		probe_done(pm, s);
		break;
	case MG_PORTMAP_OP_MAP:
		map_done(pm, s);
		break;
	case MG_PORTMAP_OP_CHECK:
		check_done(pm, s);
		break;
	case MG_PORTMAP_OP_DELETE:
		break;
	}
}

/* Starts a probe of every allowed protocol; returns how many started. */
static int start_probes(struct mg_portmap *pm)
{
	int started = 0;

	pm->phase = PHASE_PROBE;
	pm->retry_at = 0;
	pm->active = -1;
	pm->answers = 0;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		s->probe = PROBE_NONE;
		if (!allowed(pm, p) || !s->state)
			continue;
		if (s->busy) {
			s->ops->cancel(s->state);
			s->busy = false;
		}
		s->probe = submit(s, MG_PORTMAP_OP_PROBE, 0, 0, pm->nonce) == 0 ? PROBE_RUNNING
										: PROBE_FAILED;
		started += s->probe == PROBE_RUNNING;
	}
	return started;
}

static void begin_probe(struct mg_portmap *pm)
{
	if (start_probes(pm) == 0) {
		pm->last_error = -EIO;
		fail_all(pm);
		return;
	}
	arm_timer(pm);
}

void mg_portmap_tick(struct mg_portmap *pm)
{
	uint64_t now = now_ns(pm);

	if (pm->phase == PHASE_WAIT && pm->retry_at && now >= pm->retry_at) {
		begin_probe(pm);
		return;
	}
	if (pm->phase != PHASE_MAPPED) {
		arm_timer(pm);
		return;
	}
	struct slot *s = &pm->slot[pm->active];
	if (pm->expire_at && now >= pm->expire_at) {
		lose(pm, pm->last_error ? pm->last_error : -ETIMEDOUT);
		arm_timer(pm);
		return;
	}
	if (!s->busy && pm->renew_at && now >= pm->renew_at) {
		pm->renew_at = 0;
		if (submit_map(pm, pm->active, false) < 0)
			pm->renew_at = now + MIN_RENEW_NS;
	} else if (!s->busy && pm->check_at && now >= pm->check_at) {
		pm->check_at = 0;
		if (submit(s, MG_PORTMAP_OP_CHECK, ntohs(pm->external.sin_port), 0, pm->nonce) < 0)
			pm->check_at = now + (uint64_t)pm->cfg.check_interval_ms * MG_NSEC_PER_MSEC;
	}
	arm_timer(pm);
}

bool mg_portmap_current(const struct mg_portmap *pm, struct mg_portmap_status *status)
{
	if (!pm->mapped || pm->phase != PHASE_MAPPED)
		return false;
	status->proto = pm->active;
	status->external = pm->external;
	status->lifetime_s = pm->lifetime_s;
	status->error = 0;
	return true;
}

/* libnatpmp's default route lookup (getgateway.c); Debian does not install
 * its header. Reads the calling thread's network namespace. */
extern int getdefaultgateway(in_addr_t *addr);

int mg_portmap_default_gateway(struct in_addr *gateway)
{
	in_addr_t gw = 0;

	if (getdefaultgateway(&gw) < 0 || gw == 0)
		return -ENETUNREACH;
	gateway->s_addr = gw;
	return 0;
}

static const struct mg_portmap_backend *const builtin[MG_PORTMAP_PROTO_COUNT] = {
	[MG_PORTMAP_NATPMP] = &mg_portmap_natpmp,
	[MG_PORTMAP_PCP] = &mg_portmap_pcp,
	[MG_PORTMAP_UPNP] = &mg_portmap_upnp,
};

static void set_defaults(struct mg_portmap_config *c)
{
	if (!(c->protocols & MG_PORTMAP_ALL))
		c->protocols = MG_PORTMAP_ALL;
	if (!c->lifetime_s)
		c->lifetime_s = MG_PORTMAP_LIFETIME_S;
	if (!c->check_interval_ms)
		c->check_interval_ms = MG_PORTMAP_CHECK_INTERVAL_MS;
	if (!c->timeout_ms)
		c->timeout_ms = MG_PORTMAP_TIMEOUT_MS;
	if (!c->retry_ms)
		c->retry_ms = MG_PORTMAP_RETRY_MS;
	if (!c->clock)
		c->clock = &mg_clock_system;
	if (!c->state_dir)
		c->state_dir = MG_PORTMAP_STATE_DIR;
}

/* Drops journal entries that cannot or need not be deleted: another
 * gateway's (we only talk to ours), or past their lease. */
static void journal_prune(struct mg_portmap *pm)
{
	bool changed = false;
	int64_t now = wall_s(pm);

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct mg_portmap_journal_entry *e = &pm->journal.entry[p];
		if (!e->used)
			continue;
		if (e->gateway.s_addr != pm->gateway.s_addr || (e->expires && e->expires <= now)) {
			e->used = false;
			changed = true;
		}
	}
	if (changed)
		journal_save(pm);
}

static void open_backends(struct mg_portmap *pm)
{
	struct mg_portmap_backend_config bc = {
		.loop = pm->loop,
		.gateway = pm->gateway,
		.upnp_url = pm->upnp_url,
		.timeout_ms = pm->cfg.timeout_ms,
		.log = pm->cfg.log,
	};

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		s->pm = pm;
		s->ops = pm->cfg.backends[p] ? pm->cfg.backends[p] : builtin[p];
		if (!allowed(pm, p) && !pm->journal.entry[p].used)
			continue;
		int err = s->ops->open(&s->state, &bc);
		if (err < 0) {
			mg_log(pm->cfg.log, MG_LOG_ERROR, "portmap: %s: cannot start: %s",
			       mg_portmap_proto_name(p), strerror(-err));
			s->state = NULL;
		}
	}
}

/* Deletes every journaled mapping it can; returns how many requests went
 * out. Entries that cannot be asked about are kept. */
static int delete_journaled(struct mg_portmap *pm)
{
	int sent = 0;

	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		const struct mg_portmap_journal_entry *e = &pm->journal.entry[p];
		if (!e->used || !s->state)
			continue;
		if (s->busy) {
			s->ops->cancel(s->state);
			s->busy = false;
		}
		if (submit(s, MG_PORTMAP_OP_DELETE, e->external_port, 0, e->nonce) == 0)
			sent++;
	}
	return sent;
}

static void release(struct mg_portmap *pm)
{
	if (--pm->closing)
		return;
	void (*cb)(void *) = pm->close_cb;
	void *arg = pm->close_arg;
	free(pm->upnp_url);
	free(pm);
	if (cb)
		cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	release(container_of((uv_timer_t *)h, struct mg_portmap, timer));
}

static void on_backend_closed(void *arg)
{
	release(arg);
}

static void close_all(struct mg_portmap *pm)
{
	pm->closing = 1;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		pm->closing += pm->slot[p].state != NULL;
	uv_close((uv_handle_t *)&pm->timer, on_timer_closed);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		if (s->state)
			s->ops->close(s->state, on_backend_closed, pm);
	}
}

static void close_step(struct mg_portmap *pm)
{
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		if (pm->slot[p].busy)
			return;
	}
	close_all(pm);
}

void mg_portmap_close(struct mg_portmap *pm, void (*close_cb)(void *arg), void *arg)
{
	pm->phase = PHASE_CLOSING;
	pm->close_cb = close_cb;
	pm->close_arg = arg;
	uv_timer_stop(&pm->timer);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		struct slot *s = &pm->slot[p];
		if (s->busy) {
			s->ops->cancel(s->state);
			s->busy = false;
		}
	}
	if (delete_journaled(pm) == 0)
		close_all(pm);
}

int mg_portmap_start(struct mg_portmap **out, uv_loop_t *loop,
		     const struct mg_portmap_config *config, uint16_t internal_port,
		     void (*cb)(struct mg_portmap *pm, enum mg_portmap_event event,
				const struct mg_portmap_status *status, void *arg),
		     void *arg)
{
	struct mg_portmap *pm = calloc(1, sizeof(*pm));
	char why[PATH_MAX + 128];
	int err = -ENOMEM;

	if (!pm)
		return -ENOMEM;
	pm->cfg = *config;
	set_defaults(&pm->cfg);
	pm->loop = loop;
	pm->internal_port = internal_port;
	pm->cb = cb;
	pm->arg = arg;
	pm->active = -1;
	if (config->upnp_url && !(pm->upnp_url = strdup(config->upnp_url)))
		goto err_free;
	pm->cfg.upnp_url = pm->upnp_url;
	pm->gateway = pm->cfg.gateway;
	if (!pm->gateway.s_addr && (err = mg_portmap_default_gateway(&pm->gateway)) < 0)
		goto err_free;
	if (getrandom(pm->nonce, sizeof(pm->nonce), 0) != sizeof(pm->nonce)) {
		err = -EIO;
		goto err_free;
	}
	err = mg_portmap_journal_open(&pm->journal, pm->cfg.state_dir, internal_port, why,
				      sizeof(why));
	if (err < 0) {
		mg_log(pm->cfg.log, MG_LOG_ERROR, "portmap: %s", why);
		goto err_free;
	}
	pm->cfg.state_dir = NULL; /* not kept: the journal has its path */
	journal_prune(pm);
	uv_timer_init(loop, &pm->timer);
	open_backends(pm);
	pm->phase = PHASE_CLEANUP;
	if (delete_journaled(pm) == 0 && start_probes(pm) == 0) {
		err = -EPROTONOSUPPORT;
		goto err_close;
	}
	arm_timer(pm);
	*out = pm;
	return 0;

err_close:
	pm->phase = PHASE_CLOSING;
	close_all(pm);
	return err;
err_free:
	free(pm->upnp_url);
	free(pm);
	return err;
}
