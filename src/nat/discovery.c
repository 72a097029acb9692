#include "nat/discovery.h"
#include "util/log.h"
#include "util/macros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static void probe_round(struct mg_nat_discovery *d);

static void log_behaviour(struct mg_nat_discovery *d, const struct mg_nat_behaviour *b)
{
	char ep[MG_ENDPOINT_STRLEN];

	if (b->answers == 0) {
		if (d->last.answers != 0 || !d->last.family)
			mg_log(d->config.log, MG_LOG_INFO, "nat: no STUN server answered");
		return;
	}
	if (d->last.answers && d->last.mapping == b->mapping &&
	    mg_endpoint_equal_remote(&d->last.public_endpoint, &b->public_endpoint))
		return;
	mg_endpoint_format(ep, sizeof(ep), &b->public_endpoint);
	mg_log(d->config.log, MG_LOG_INFO,
	       "nat: public endpoint %s (%s mapping, port %s, %u answer(s))", ep,
	       mg_nat_mapping_name(b->mapping),
	       b->port_preserved == MG_NAT_YES	? "preserved"
	       : b->port_preserved == MG_NAT_NO ? "changed"
						: "unknown",
	       b->answers);
}

static bool changed(const struct mg_nat_discovery *d, const struct mg_nat_behaviour *b)
{
	if (!b->answers)
		return d->last.answers != 0;
	return !d->last.answers || d->last.mapping != b->mapping ||
	       !mg_endpoint_equal_remote(&d->last.public_endpoint, &b->public_endpoint);
}

static void round_done(struct mg_nat_discovery *d)
{
	struct mg_nat_behaviour b;

	mg_nat_classify(&b, AF_INET, d->port->engine->udp.port, d->results, d->config.stun_count,
			NULL, 0);
	if (!b.answers)
		mg_nat_classify(&b, AF_INET6, d->port->engine->udp.port, d->results,
				d->config.stun_count, NULL, 0);
	log_behaviour(d, &b);
	if (d->config.on_change && changed(d, &b))
		d->config.on_change(d->config.arg, &b);
	d->last = b;
	if (!d->last.family)
		d->last.family = AF_INET;
}

static void on_stun_done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct mg_nat_discovery *d = t->data;
	size_t i = (size_t)(t - d->tx);

	d->results[i] = *r;
	if (--d->pending == 0 && d->running)
		round_done(d);
}

static void probe_round(struct mg_nat_discovery *d)
{
	if (d->pending)
		return; /* the last round is still waiting for answers */
	for (size_t i = 0; i < d->config.stun_count; i++) {
		memset(&d->results[i], 0, sizeof(d->results[i]));
		d->results[i].status = -ETIMEDOUT;
		d->tx[i].data = d;
		if (mg_stun_client_start(&d->port->client, &d->tx[i], &d->config.stun[i],
					 on_stun_done) == 0)
			d->pending++;
	}
}

static void on_timer(uv_timer_t *t)
{
	probe_round(container_of(t, struct mg_nat_discovery, timer));
}

static void on_portmap(struct mg_portmap *pm, enum mg_portmap_event event,
		       const struct mg_portmap_status *s, void *arg)
{
	struct mg_nat_discovery *d = arg;
	char ext[INET_ADDRSTRLEN] = "";
	(void)pm;

	inet_ntop(AF_INET, &s->external.sin_addr, ext, sizeof(ext));
	switch (event) {
	case MG_PORTMAP_MAPPED:
		mg_log(d->config.log, MG_LOG_INFO, "nat: port mapped with %s at %s:%u for %u s",
		       mg_portmap_proto_name(s->proto), ext, ntohs(s->external.sin_port),
		       s->lifetime_s);
		break;
	case MG_PORTMAP_RENEWED:
		mg_log(d->config.log, MG_LOG_VERBOSE, "nat: port mapping renewed with %s for %u s",
		       mg_portmap_proto_name(s->proto), s->lifetime_s);
		break;
	case MG_PORTMAP_LOST:
		mg_log(d->config.log, MG_LOG_INFO,
		       "nat: port mapping with %s lost (%s), probing again",
		       mg_portmap_proto_name(s->proto), strerror(-s->error));
		break;
	case MG_PORTMAP_FAILED:
		mg_log(d->config.log, MG_LOG_VERBOSE, "nat: no port mapping from the gateway (%s)",
		       strerror(-s->error));
		break;
	}
}

static void start_portmap(struct mg_nat_discovery *d)
{
	struct mg_portmap_config pc = {
		.protocols = d->config.portmap_protocols,
		.upnp_url = d->config.upnp_url,
		.state_dir = d->config.state_dir,
		.log = d->config.log,
	};
	int ret = mg_portmap_start(&d->portmap, d->loop, &pc, d->port->engine->udp.port, on_portmap,
				   d);

	if (ret < 0) {
		d->portmap = NULL;
		mg_log(d->config.log, MG_LOG_INFO, "nat: port mapping off: %s", strerror(-ret));
	}
}

int mg_nat_discovery_start(struct mg_nat_discovery *d, uv_loop_t *loop, struct mg_stun_port *port,
			   const struct mg_nat_discovery_config *config)
{
	uint32_t interval;
	int ret;

	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->port = port;
	d->config = *config;
	interval = config->interval_ms ? config->interval_ms : MG_DISCOVERY_INTERVAL_MS;
	if (config->stun_count) {
		ret = uv_timer_init(loop, &d->timer);
		if (ret < 0)
			return ret;
		uv_timer_start(&d->timer, on_timer, 0, interval);
	}
	d->running = true;
	if (config->portmap)
		start_portmap(d);
	return 0;
}

void mg_nat_discovery_refresh(struct mg_nat_discovery *d)
{
	uint32_t interval =
		d->config.interval_ms ? d->config.interval_ms : MG_DISCOVERY_INTERVAL_MS;

	if (!d->running || !d->config.stun_count)
		return;
	uv_timer_start(&d->timer, on_timer, 0, interval);
}

bool mg_nat_discovery_mapped(const struct mg_nat_discovery *d, struct mg_endpoint *out)
{
	struct mg_portmap_status st;

	if (!d->running || !d->portmap || !mg_portmap_current(d->portmap, &st))
		return false;
	memset(out, 0, sizeof(*out));
	out->in4 = st.external;
	return true;
}

bool mg_nat_discovery_stop(struct mg_nat_discovery *d, void (*done)(void *arg), void *arg)
{
	bool waiting = false;

	if (!d->running)
		return false;
	d->running = false;
	for (size_t i = 0; i < d->config.stun_count; i++)
		if (d->tx[i].client)
			mg_stun_client_cancel(&d->tx[i]);
	if (d->config.stun_count)
		uv_close((uv_handle_t *)&d->timer, NULL);
	if (d->portmap) {
		mg_portmap_close(d->portmap, done, arg);
		waiting = done != NULL;
	}
	d->portmap = NULL;
	return waiting;
}
