/* netcheck's report, once the check is done: human-readable lines, or one
 * JSON object for scripts (mg_netcheck_report_text, _json). Both read the
 * check's state and nothing else. */
#include "nat/netcheck.h"
#include "util/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *proto_title(enum mg_portmap_proto proto)
{
	switch (proto) {
	case MG_PORTMAP_NATPMP:
		return "NAT-PMP";
	case MG_PORTMAP_PCP:
		return "PCP";
	case MG_PORTMAP_UPNP:
		return "UPnP IGD";
	case MG_PORTMAP_PROTO_COUNT:
		break;
	}
	return "?";
}

static void format_addr(char *out, size_t len, const struct mg_endpoint *ep)
{
	const void *a = ep->sa.sa_family == AF_INET ? (const void *)&ep->in4.sin_addr
						    : (const void *)&ep->in6.sin6_addr;
	if (!inet_ntop(ep->sa.sa_family, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* Why a probe has no mapped endpoint, in words. */
static void describe_failure(char *out, size_t len, const struct mg_netcheck *nc,
			     const struct mg_stun_result *r)
{
	switch (r->status) {
	case -ETIMEDOUT:
		snprintf(out, len, "no answer within %u ms (%u request%s sent)", nc->timeout_ms,
			 r->sends, r->sends == 1 ? "" : "s");
		break;
	case -EPROTO:
		snprintf(out, len, "error response %u", r->error_code);
		break;
	case -EBADMSG:
		snprintf(out, len, "an answer without a mapped address");
		break;
	default:
		snprintf(out, len, "cannot send: %s", strerror(-r->status));
	}
}

static void describe_server_error(char *out, size_t len, const struct mg_netcheck_server *s)
{
	if (s->error == UV_ETIMEDOUT)
		snprintf(out, len, "could not resolve \"%s\" in time", s->host);
	else if (s->error == UV_EAFNOSUPPORT || s->error == UV_EAI_ADDRFAMILY)
		snprintf(out, len, "no address of a family this host can use");
	else
		snprintf(out, len, "cannot resolve \"%s\": %s", s->host, uv_strerror(s->error));
}

static bool probe_ok(const struct mg_netcheck_probe *p)
{
	return p->done && p->r.status == 0;
}

static void classify(const struct mg_netcheck *nc, struct mg_nat_behaviour *b, int family)
{
	struct mg_stun_result r[MG_NETCHECK_MAX_PROBES];
	struct mg_endpoint local[MG_NETCHECK_MAX_LOCAL];

	for (unsigned i = 0; i < nc->nprobes; i++)
		r[i] = nc->probes[i].r;
	for (unsigned i = 0; i < nc->nlocal; i++)
		local[i] = nc->local[i].addr;
	mg_nat_classify(b, family, nc->udp.port, r, nc->nprobes, local, nc->nlocal);
}

static bool learned_anything(const struct mg_netcheck *nc)
{
	for (unsigned i = 0; i < nc->nprobes; i++)
		if (probe_ok(&nc->probes[i]))
			return true;
	if (nc->have_portmap_result)
		for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++)
			if (nc->portmap_result.proto[i].mapped)
				return true;
	return false;
}

/* ---- text ---- */

static void text_socket(FILE *f, const struct mg_netcheck *nc)
{
	fprintf(f, "meshguard netcheck\n");
	if (nc->port_is_listen_port)
		fprintf(f, "  UDP port:        %u (the listen port)\n", nc->udp.port);
	else if (nc->want_port)
		fprintf(f, "  UDP port:        %u (ephemeral: listen port %u is %s)\n",
			nc->udp.port, nc->want_port,
			nc->listen_port_error == -EADDRINUSE ? "in use" : "not usable");
	else
		fprintf(f, "  UDP port:        %u (ephemeral)\n", nc->udp.port);
	fprintf(f, "  local addresses:");
	for (unsigned i = 0; i < nc->nlocal; i++) {
		char a[INET6_ADDRSTRLEN];
		format_addr(a, sizeof(a), &nc->local[i].addr);
		fprintf(f, "%s %s (%s)", i ? "," : "", a, nc->local[i].ifname);
	}
	fprintf(f, "%s\n", nc->nlocal ? "" : " none");
}

static void text_probe(FILE *f, const struct mg_netcheck *nc, const struct mg_netcheck_probe *p)
{
	char why[400], ep[MG_ENDPOINT_STRLEN], mapped[MG_ENDPOINT_STRLEN];

	mg_endpoint_format(ep, sizeof(ep), &p->r.server);
	if (probe_ok(p)) {
		mg_endpoint_format(mapped, sizeof(mapped), &p->r.mapped);
		fprintf(f, "  STUN %s: mapped %s, rtt %.2f ms\n", ep, mapped,
			(double)p->r.rtt_ns / 1e6);
	} else {
		describe_failure(why, sizeof(why), nc, &p->r);
		fprintf(f, "  STUN %s: %s\n", ep, why);
	}
}

static void text_stun(FILE *f, const struct mg_netcheck *nc)
{
	char why[400];

	if (!nc->nservers)
		fprintf(f, "  STUN:            no server given (--stun HOST:PORT)\n");
	for (unsigned i = 0; i < nc->nservers; i++) {
		const struct mg_netcheck_server *s = &nc->servers[i];
		if (s->error) {
			describe_server_error(why, sizeof(why), s);
			fprintf(f, "  STUN %s: %s\n", s->arg, why);
		}
		for (unsigned k = 0; k < nc->nprobes; k++)
			if (nc->probes[k].server == s)
				text_probe(f, nc, &nc->probes[k]);
	}
}

static const char *tristate(enum mg_nat_tristate t, const char *yes, const char *no,
			    const char *unknown)
{
	return t == MG_NAT_YES ? yes : t == MG_NAT_NO ? no : unknown;
}

static void text_nat(FILE *f, const struct mg_nat_behaviour *b)
{
	char ep[MG_ENDPOINT_STRLEN];
	const char *fam = b->family == AF_INET ? "IPv4" : "IPv6";
	const char *port = tristate(b->port_preserved, "port preserved", "port not preserved", "");

	if (!b->answers)
		return;
	mg_endpoint_format(ep, sizeof(ep), &b->public_endpoint);
	fprintf(f, "  public %s:     %s%s\n", fam, ep,
		b->mapping == MG_NAT_MAPPING_DEPENDENT ? " (as the first server saw it)" : "");
	switch (b->mapping) {
	case MG_NAT_MAPPING_NONE:
		fprintf(f, "  NAT (%s):      none: the mapped address is this host's own\n", fam);
		break;
	case MG_NAT_MAPPING_UNKNOWN:
		fprintf(f,
			"  NAT (%s):      mapping unknown: needs answers from two servers at "
			"different addresses; %s\n",
			fam, port);
		break;
	default:
		fprintf(f, "  NAT (%s):      %s mapping%s, %s\n", fam,
			mg_nat_mapping_name(b->mapping),
			b->mapping == MG_NAT_MAPPING_DEPENDENT ? " (hard NAT)" : "", port);
	}
}

static void text_portmap_proto(FILE *f, const struct mg_netcheck *nc, const char *gw,
			       enum mg_portmap_proto proto)
{
	const struct mg_portmap_probe_proto *p = &nc->portmap_result.proto[proto];
	char ext[INET_ADDRSTRLEN];

	fprintf(f, "  %-9s        ", proto_title(proto));
	if (p->mapped) {
		inet_ntop(AF_INET, &p->external_addr, ext, sizeof(ext));
		fprintf(f, "gateway %s mapped %s:%u to port %u (lifetime %u s)\n", gw, ext,
			p->external_port, nc->udp.port, p->lifetime_s);
	} else if (p->answered) {
		fprintf(f, "gateway %s answered but mapped nothing: %s\n", gw, strerror(-p->error));
	} else {
		fprintf(f, "no answer from gateway %s\n", gw);
	}
}

static void text_portmap(FILE *f, const struct mg_netcheck *nc)
{
	const struct mg_portmap_probe_result *r = &nc->portmap_result;
	char gw[INET_ADDRSTRLEN];

	if (!nc->portmap_protocols) {
		fprintf(f, "  port mapping:    not asked (off)\n");
		return;
	}
	if (nc->portmap_error == -ENETUNREACH || (nc->have_portmap_result && r->error)) {
		fprintf(f, "  port mapping:    no IPv4 default gateway to ask\n");
		return;
	}
	if (nc->portmap_error < 0) {
		fprintf(f, "  port mapping:    cannot ask the gateway: %s\n",
			strerror(-nc->portmap_error));
		return;
	}
	if (!nc->have_portmap_result) {
		fprintf(f, "  port mapping:    the gateway probe did not finish in time\n");
		return;
	}
	inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw));
	for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++)
		if (nc->portmap_protocols & MG_PORTMAP_BIT(i))
			text_portmap_proto(f, nc, gw, (enum mg_portmap_proto)i);
}

char *mg_netcheck_report_text(const struct mg_netcheck *nc)
{
	struct mg_nat_behaviour b4, b6;
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	classify(nc, &b4, AF_INET);
	classify(nc, &b6, AF_INET6);
	text_socket(f, nc);
	text_stun(f, nc);
	text_nat(f, &b4);
	text_nat(f, &b6);
	text_portmap(f, nc);
	if (!learned_anything(nc))
		fprintf(f, "No public endpoint found: %s, and the gateway mapped no port.\n",
			nc->nservers ? "no STUN server answered" : "no STUN server was given");
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- JSON ---- */

static void json_socket(struct mg_json *j, const struct mg_netcheck *nc)
{
	cJSON *locals;

	mg_json_number(j, j->root, "port", nc->udp.port);
	mg_json_number(j, j->root, "listen_port", nc->want_port);
	mg_json_bool(j, j->root, "port_is_listen_port", nc->port_is_listen_port);
	mg_json_number(j, j->root, "timeout_ms", nc->timeout_ms);
	mg_json_bool(j, j->root, "timed_out", nc->timed_out);
	locals = mg_json_array(j, j->root, "local_addresses");
	for (unsigned i = 0; i < nc->nlocal; i++) {
		char a[INET6_ADDRSTRLEN];
		cJSON *o = mg_json_object(j, locals, NULL);
		format_addr(a, sizeof(a), &nc->local[i].addr);
		mg_json_string(j, o, "interface", nc->local[i].ifname);
		mg_json_string(j, o, "address", a);
	}
}

/* Milliseconds with three decimals, as the text report's precision. */
static double ms3(uint64_t ns)
{
	return (double)((ns + 500) / 1000) / 1e3;
}

static void json_probe(struct mg_json *j, cJSON *stun, const struct mg_netcheck *nc,
		       const struct mg_netcheck_server *s, const struct mg_netcheck_probe *p)
{
	cJSON *o = mg_json_object(j, stun, NULL);
	char why[400];

	mg_json_string(j, o, "server", s->arg);
	mg_json_endpoint(j, o, "address", &p->r.server);
	mg_json_bool(j, o, "ok", probe_ok(p));
	mg_json_number(j, o, "requests", p->r.sends);
	if (probe_ok(p)) {
		mg_json_endpoint(j, o, "mapped", &p->r.mapped);
		mg_json_number(j, o, "rtt_ms", ms3(p->r.rtt_ns));
	} else {
		describe_failure(why, sizeof(why), nc, &p->r);
		mg_json_string(j, o, "error", why);
	}
}

/* A server whose name did not resolve: no probe, only the reason. */
static void json_server_error(struct mg_json *j, cJSON *stun, const struct mg_netcheck_server *s)
{
	cJSON *o = mg_json_object(j, stun, NULL);
	char why[400];

	describe_server_error(why, sizeof(why), s);
	mg_json_string(j, o, "server", s->arg);
	mg_json_bool(j, o, "ok", false);
	mg_json_number(j, o, "requests", 0);
	mg_json_string(j, o, "error", why);
}

static void json_stun(struct mg_json *j, const struct mg_netcheck *nc)
{
	cJSON *stun = mg_json_array(j, j->root, "stun");

	for (unsigned i = 0; i < nc->nservers; i++) {
		const struct mg_netcheck_server *s = &nc->servers[i];
		if (s->error)
			json_server_error(j, stun, s);
		for (unsigned k = 0; k < nc->nprobes; k++)
			if (nc->probes[k].server == s)
				json_probe(j, stun, nc, s, &nc->probes[k]);
	}
}

static void json_nat(struct mg_json *j, cJSON *nat, const char *key,
		     const struct mg_nat_behaviour *b)
{
	cJSON *o;

	if (!b->answers) {
		mg_json_null(j, nat, key);
		return;
	}
	o = mg_json_object(j, nat, key);
	mg_json_string(j, o, "mapping", mg_nat_mapping_name(b->mapping));
	if (b->port_preserved == MG_NAT_YES || b->port_preserved == MG_NAT_NO)
		mg_json_bool(j, o, "port_preserved", b->port_preserved == MG_NAT_YES);
	else
		mg_json_null(j, o, "port_preserved");
	mg_json_endpoint(j, o, "public", &b->public_endpoint);
	mg_json_number(j, o, "answers", b->answers);
	mg_json_number(j, o, "server_addresses", b->server_addresses);
}

static void json_portmap_proto(struct mg_json *j, cJSON *portmap, const char *key,
			       const struct mg_netcheck *nc, const struct mg_portmap_probe_proto *p)
{
	cJSON *o = mg_json_object(j, portmap, key);
	char ext[INET_ADDRSTRLEN + 6];

	mg_json_bool(j, o, "answered", p->answered);
	mg_json_bool(j, o, "mapped", p->mapped);
	if (p->mapped) {
		inet_ntop(AF_INET, &p->external_addr, ext, INET_ADDRSTRLEN);
		snprintf(ext + strlen(ext), sizeof(ext) - strlen(ext), ":%u", p->external_port);
		mg_json_string(j, o, "external", ext);
		mg_json_number(j, o, "internal_port", nc->udp.port);
		mg_json_number(j, o, "lifetime_s", p->lifetime_s);
	}
	if (p->answered)
		mg_json_number(j, o, "rtt_ms", p->rtt_ms);
	if (!p->mapped && p->error)
		mg_json_string(j, o, "error", strerror(-p->error));
}

/* "portmap": null when none was asked for. */
static void json_portmap(struct mg_json *j, const struct mg_netcheck *nc)
{
	const struct mg_portmap_probe_result *r = &nc->portmap_result;
	cJSON *o;
	char gw[INET_ADDRSTRLEN];

	if (!nc->portmap_protocols) {
		mg_json_null(j, j->root, "portmap");
		return;
	}
	o = mg_json_object(j, j->root, "portmap");
	if (nc->portmap_error < 0 || !nc->have_portmap_result || r->error) {
		int err = nc->portmap_error < 0 ? nc->portmap_error : r->error;
		mg_json_null(j, o, "gateway");
		mg_json_string(j, o, "error",
			       nc->have_portmap_result || err ? strerror(-err) : "did not finish");
		return;
	}
	inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw));
	mg_json_string(j, o, "gateway", gw);
	for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++)
		if (nc->portmap_protocols & MG_PORTMAP_BIT(i))
			json_portmap_proto(j, o, mg_portmap_proto_name((enum mg_portmap_proto)i),
					   nc, &r->proto[i]);
}

char *mg_netcheck_report_json(const struct mg_netcheck *nc)
{
	struct mg_nat_behaviour b4, b6;
	struct mg_json j;
	cJSON *nat;
	char *text;

	if (mg_json_init(&j) < 0)
		return NULL;
	classify(nc, &b4, AF_INET);
	classify(nc, &b6, AF_INET6);
	json_socket(&j, nc);
	json_stun(&j, nc);
	nat = mg_json_object(&j, j.root, "nat");
	json_nat(&j, nat, "ipv4", &b4);
	json_nat(&j, nat, "ipv6", &b6);
	json_portmap(&j, nc);
	mg_json_bool(&j, j.root, "public_endpoint_found", learned_anything(nc));
	text = mg_json_format(&j);
	mg_json_free(&j);
	return text;
}
