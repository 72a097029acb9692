/* netcheck's run: the socket, the STUN probes, the gateway probe and the
 * deadline on the caller's loop (see netcheck.h). There is no built-in list
 * of public servers: a check without one says the public endpoint is
 * unknown.
 *
 * Lifetime: done runs from the loop once every answer is in (or the time
 * and its grace are up) and the check's handles have closed, never from
 * mg_netcheck_start. mg_netcheck_close frees the check once its last
 * handle has closed and the last callback it waits for (a name lookup, a
 * gateway probe deleting what it mapped) has come back. */
#include "nat/netcheck.h"
#include "util/macros.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 5000
/* After the deadline, how long a cancelled gateway probe may take to delete
 * what it mapped and report. */
#define PORTMAP_GRACE_MS 1500

/* ---- the configuration ---- */

static int parse_port(unsigned long *out, const char *s)
{
	if (mg_decimal_parse(out, s, 5, 65535) < 0 || *out < 1)
		return -EINVAL;
	return 0;
}

/* HOST:PORT, [V6]:PORT or V4:PORT into host and port strings. */
static int split_server(struct mg_netcheck_server *s, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	const char *host = arg;
	size_t host_len;
	unsigned long port;

	if (!colon || strlen(arg) >= sizeof(s->arg) || parse_port(&port, colon + 1) < 0)
		return -EINVAL;
	host_len = (size_t)(colon - arg);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']')
		host++, host_len -= 2;
	else if (memchr(host, ':', host_len))
		return -EINVAL; /* a bare IPv6 address needs brackets */
	if (!host_len || host_len >= sizeof(s->host))
		return -EINVAL;
	memcpy(s->host, host, host_len);
	s->host[host_len] = '\0';
	snprintf(s->port, sizeof(s->port), "%u", (unsigned)(uint16_t)port); /* <= 65535 */
	snprintf(s->arg, sizeof(s->arg), "%s", arg);
	return 0;
}

static int add_servers(struct mg_netcheck *nc, const struct mg_netcheck_config *c)
{
	if (c->stun_servers_len > MG_NETCHECK_MAX_SERVERS) {
		mg_log(&nc->log, MG_LOG_ERROR, "more than %d STUN servers (got %zu)",
		       MG_NETCHECK_MAX_SERVERS, c->stun_servers_len);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->stun_servers_len; i++) {
		struct mg_netcheck_server *s = &nc->servers[nc->nservers];

		if (!c->stun_servers[i] || split_server(s, c->stun_servers[i]) < 0) {
			mg_log(&nc->log, MG_LOG_ERROR,
			       "STUN server \"%s\" is not a server (expected HOST:PORT, IPV4:PORT "
			       "or [IPV6]:PORT)",
			       c->stun_servers[i] ? c->stun_servers[i] : "(null)");
			return -EINVAL;
		}
		s->nc = nc;
		nc->nservers++;
	}
	return 0;
}

/* NULL or "off": no gateway probe; "auto": every protocol; else one. */
static int set_portmap(struct mg_netcheck *nc, const char *portmap)
{
	enum mg_portmap_proto proto;

	if (!portmap || !strcmp(portmap, "off"))
		nc->portmap_protocols = 0;
	else if (!strcmp(portmap, "auto"))
		nc->portmap_protocols = MG_PORTMAP_ALL;
	else if (mg_portmap_proto_parse(&proto, portmap) == 0)
		nc->portmap_protocols = MG_PORTMAP_BIT(proto);
	else {
		mg_log(&nc->log, MG_LOG_ERROR,
		       "port mapping \"%s\" is not a protocol (expected auto, natpmp, pcp, upnp "
		       "or off)",
		       portmap);
		return -EINVAL;
	}
	return 0;
}

/* c is the caller's struct, as long as the caller compiled it: fields past
 * its size keep MG_NETCHECK_CONFIG_INIT's values. */
static int configure(struct mg_netcheck *nc, const struct mg_netcheck_config *config)
{
	struct mg_netcheck_config c = MG_NETCHECK_CONFIG_INIT;

	memcpy(&c, config, config->size < sizeof(c) ? config->size : sizeof(c));
	nc->log = (struct mg_log){ .threshold = c.log_level, .fn = c.on_log, .user = c.user };
	nc->user = c.user;
	nc->want_port = c.listen_port;
	nc->timeout_ms = c.timeout_ms ? c.timeout_ms : DEFAULT_TIMEOUT_MS;
	if (nc->timeout_ms < MG_NETCHECK_TIMEOUT_MIN || nc->timeout_ms > MG_NETCHECK_TIMEOUT_MAX) {
		mg_log(&nc->log, MG_LOG_ERROR, "timeout %u ms is out of range (expected %d-%d)",
		       nc->timeout_ms, MG_NETCHECK_TIMEOUT_MIN, MG_NETCHECK_TIMEOUT_MAX);
		return -EINVAL;
	}
	if (c.upnp_url && !(nc->upnp_url = strdup(c.upnp_url)))
		return -ENOMEM;
	if (set_portmap(nc, c.portmap) < 0)
		return -EINVAL;
	return add_servers(nc, &c);
}

/* ---- the socket ---- */

static int stun_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct mg_netcheck *nc = ctx;
	return mg_udp_send(&nc->udp, to, buf, len);
}

/* One datagram per read: STUN answers are few and small, and coalescing
 * would glue two answers into one buffer. */
static void no_gro(int fd)
{
	int zero = 0;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
}

/* The listen port if it is free, else one the kernel picks. */
static int open_socket(struct mg_netcheck *nc)
{
	int ret = -EADDRINUSE;

	if (nc->want_port) {
		ret = mg_udp_open(&nc->udp, nc->want_port, 0);
		nc->port_is_listen_port = ret == 0;
		nc->listen_port_error = ret;
	}
	if (ret < 0)
		ret = mg_udp_open(&nc->udp, 0, 0);
	if (ret < 0) {
		mg_log(&nc->log, MG_LOG_ERROR, "cannot open a UDP socket: %s", strerror(-ret));
		return ret;
	}
	no_gro(nc->udp.fd4);
	no_gro(nc->udp.fd6);
	return 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct mg_netcheck *nc = h->data;
	uint8_t buf[MG_STUN_MAX_SIZE];
	struct mg_endpoint from = { 0 }; /* recvfrom fills the remote part only */
	uv_os_fd_t fd;

	(void)events;
	if (status < 0 || uv_fileno((uv_handle_t *)h, &fd) < 0)
		return;
	for (int i = 0; i < 64; i++) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &len);
		if (n < 0)
			break;
		if (mg_stun_is_stun(buf, (size_t)n))
			mg_stun_client_receive(&nc->client, &from, buf, (size_t)n);
	}
}

static int watch(struct mg_netcheck *nc, uv_poll_t *p, int fd, bool *on)
{
	int ret;

	if (fd < 0)
		return 0;
	ret = uv_poll_init(nc->loop, p, fd);
	if (ret < 0)
		return ret;
	p->data = nc;
	*on = true;
	nc->work_open++;
	return uv_poll_start(p, UV_READABLE, on_readable);
}

/* ---- local addresses ---- */

static void collect_local_addresses(struct mg_netcheck *nc)
{
	struct ifaddrs *list, *ifa;

	if (getifaddrs(&list) < 0)
		return;
	for (ifa = list; ifa && nc->nlocal < MG_NETCHECK_MAX_LOCAL; ifa = ifa->ifa_next) {
		struct mg_netcheck_local *l = &nc->local[nc->nlocal];
		int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : AF_UNSPEC;

		if ((family != AF_INET && family != AF_INET6) || !(ifa->ifa_flags & IFF_UP) ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		memset(l, 0, sizeof(*l));
		memcpy(&l->addr, ifa->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6));
		snprintf(l->ifname, sizeof(l->ifname), "%s", ifa->ifa_name);
		nc->nlocal++;
	}
	freeifaddrs(list);
}

/* ---- closing ---- */

static bool lookups_in_flight(const struct mg_netcheck *nc)
{
	for (unsigned i = 0; i < nc->nservers; i++)
		if (nc->servers[i].in_flight)
			return true;
	return false;
}

static void maybe_free(struct mg_netcheck *nc)
{
	if (!nc->closing || nc->work_open || nc->stop_timer_on || lookups_in_flight(nc) ||
	    nc->portmap_running)
		return;
	mg_udp_close(&nc->udp);
	free(nc->upnp_url);
	free(nc);
}

/* The last of the work's handles has closed: the report is final. done is
 * the last thing that touches nc here, since it may close (and so free) it. */
static void work_closed(struct mg_netcheck *nc)
{
	if (--nc->work_open)
		return;
	if (nc->finished && !nc->closing) {
		nc->done(nc, nc->user);
		return;
	}
	maybe_free(nc);
}

static void on_handle_closed(uv_handle_t *h)
{
	work_closed(h->data);
}

static void on_client_closed(struct mg_stun_client *c)
{
	work_closed(container_of(c, struct mg_netcheck, client));
}

static void on_stop_timer_closed(uv_handle_t *h)
{
	struct mg_netcheck *nc = h->data;

	nc->stop_timer_on = false;
	maybe_free(nc);
}

static void close_handle(uv_handle_t *h, bool *on)
{
	if (!*on)
		return;
	*on = false;
	uv_close(h, on_handle_closed);
}

static void close_work(struct mg_netcheck *nc)
{
	close_handle((uv_handle_t *)&nc->deadline, &nc->deadline_on);
	close_handle((uv_handle_t *)&nc->poll4, &nc->poll4_on);
	close_handle((uv_handle_t *)&nc->poll6, &nc->poll6_on);
	if (nc->client_on) {
		nc->client_on = false;
		mg_stun_client_close(&nc->client, on_client_closed);
	}
}

/* ---- completion ---- */

static bool stun_pending(const struct mg_netcheck *nc)
{
	for (unsigned i = 0; i < nc->nservers; i++)
		if (nc->servers[i].resolving)
			return true;
	for (unsigned i = 0; i < nc->nprobes; i++)
		if (nc->probes[i].running)
			return true;
	return false;
}

/* Nothing more will be learned: close the work; done follows. */
static void finish(struct mg_netcheck *nc)
{
	if (nc->finished)
		return;
	nc->finished = true;
	if (nc->stop_timer_on)
		uv_timer_stop(&nc->stop_timer);
	close_work(nc);
}

static void maybe_finish(struct mg_netcheck *nc)
{
	if (!stun_pending(nc) && !nc->portmap_running)
		finish(nc);
}

static void on_stun_done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct mg_netcheck_probe *p = container_of(t, struct mg_netcheck_probe, t);
	struct mg_netcheck *nc = p->server->nc;

	if (nc->finished)
		return; /* the client closing: the result is in already */
	p->r = *r;
	p->running = false;
	p->done = true;
	maybe_finish(nc);
}

static void start_probe(struct mg_netcheck *nc, struct mg_netcheck_server *s,
			const struct mg_endpoint *ep)
{
	struct mg_netcheck_probe *p;
	int ret;

	if (nc->nprobes == MG_NETCHECK_MAX_PROBES)
		return;
	p = &nc->probes[nc->nprobes++];
	memset(p, 0, sizeof(*p));
	p->server = s;
	p->r.server = *ep;
	ret = mg_stun_client_start(&nc->client, &p->t, ep, on_stun_done);
	if (ret < 0) {
		p->r.status = ret; /* the first send failed: no route, say */
		p->done = true;
		return;
	}
	p->running = true;
}

static bool have_socket(const struct mg_netcheck *nc, int family)
{
	return (family == AF_INET ? nc->udp.fd4 : nc->udp.fd6) >= 0;
}

/* The first address of each family we have a socket for. */
static void probe_addresses(struct mg_netcheck *nc, struct mg_netcheck_server *s,
			    const struct addrinfo *res)
{
	bool v4 = false, v6 = false;

	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		bool *seen = ai->ai_family == AF_INET ? &v4 : &v6;
		struct mg_endpoint ep = { 0 };

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || *seen ||
		    !have_socket(nc, ai->ai_family) || ai->ai_addrlen > sizeof(ep))
			continue;
		memcpy(&ep, ai->ai_addr, ai->ai_addrlen);
		*seen = true;
		start_probe(nc, s, &ep);
	}
	if (!v4 && !v6)
		s->error = UV_EAI_ADDRFAMILY;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct mg_netcheck_server *s = container_of(req, struct mg_netcheck_server, gai);
	struct mg_netcheck *nc = s->nc;

	s->resolving = false;
	s->in_flight = false;
	if (nc->timed_out || nc->finished)
		s->error = UV_ETIMEDOUT; /* too late, whatever it says */
	else if (status < 0)
		s->error = status;
	else
		probe_addresses(nc, s, res);
	uv_freeaddrinfo(res);
	if (nc->closing)
		maybe_free(nc);
	else
		maybe_finish(nc);
}

/* Numeric addresses start at once; names are looked up off the loop. */
static void start_server(struct mg_netcheck *nc, struct mg_netcheck_server *s)
{
	static const struct addrinfo hints = { .ai_family = AF_UNSPEC,
					       .ai_socktype = SOCK_DGRAM,
					       .ai_protocol = IPPROTO_UDP };
	struct mg_endpoint ep;
	int ret;

	if (mg_endpoint_parse(&ep, s->arg) == 0) {
		if (have_socket(nc, ep.sa.sa_family))
			start_probe(nc, s, &ep);
		else
			s->error = UV_EAFNOSUPPORT;
		return;
	}
	ret = uv_getaddrinfo(nc->loop, &s->gai, on_resolved, s->host, s->port, &hints);
	if (ret < 0)
		s->error = ret;
	else
		s->resolving = s->in_flight = true;
}

static void on_portmap(const struct mg_portmap_probe_result *result, void *arg)
{
	struct mg_netcheck *nc = arg;

	nc->portmap_running = false;
	nc->portmap = NULL; /* it frees itself */
	if (nc->closing) {
		maybe_free(nc);
		return;
	}
	if (nc->finished)
		return; /* past the grace: the report said it did not finish */
	nc->portmap_result = *result;
	nc->have_portmap_result = true;
	maybe_finish(nc);
}

static void start_portmap(struct mg_netcheck *nc)
{
	struct mg_portmap_config config = {
		.protocols = nc->portmap_protocols,
		.upnp_url = nc->upnp_url,
		/* The probe takes about four request timeouts at most. */
		.timeout_ms = nc->timeout_ms / 4 > 100 ? nc->timeout_ms / 4 : 100,
		.clock = &mg_clock_system,
		.log = &nc->log,
	};
	int ret;

	if (!nc->portmap_protocols)
		return;
	ret = mg_portmap_probe_start(&nc->portmap, nc->loop, &config, nc->udp.port, on_portmap, nc);
	nc->portmap_error = ret;
	nc->portmap_running = ret == 0;
}

/* What has not answered will not: STUN probes fail as timed out, name
 * lookups are cancelled if they have not started (one that runs cannot be
 * stopped: the check no longer waits for it, but nc stays until it is
 * back), and the gateway probe deletes what it mapped and reports. */
static void cancel_work(struct mg_netcheck *nc)
{
	nc->timed_out = true;
	for (unsigned i = 0; i < nc->nservers; i++) {
		struct mg_netcheck_server *s = &nc->servers[i];
		if (s->resolving && uv_cancel((uv_req_t *)&s->gai) < 0) {
			s->resolving = false;
			s->error = UV_ETIMEDOUT;
		}
	}
	for (unsigned i = 0; i < nc->nprobes; i++) {
		struct mg_netcheck_probe *p = &nc->probes[i];
		if (!p->running)
			continue;
		p->r.status = -ETIMEDOUT;
		p->r.sends = p->t.sends;
		p->running = false;
		p->done = true;
		mg_stun_client_cancel(&p->t);
	}
	if (nc->portmap_running)
		mg_portmap_probe_cancel(nc->portmap);
}

/* The grace after the deadline is over too: done with what is known. */
static void on_hard_stop(uv_timer_t *timer)
{
	struct mg_netcheck *nc = container_of(timer, struct mg_netcheck, stop_timer);

	nc->abandoned = true;
	finish(nc);
}

static void on_deadline(uv_timer_t *timer)
{
	struct mg_netcheck *nc = container_of(timer, struct mg_netcheck, deadline);

	cancel_work(nc);
	maybe_finish(nc);
	if (nc->finished)
		return;
	uv_timer_start(&nc->stop_timer, on_hard_stop, PORTMAP_GRACE_MS, 0);
	uv_unref((uv_handle_t *)&nc->stop_timer);
}

/* ---- starting ---- */

/* A schedule that fits the whole check in timeout_ms: RFC 8489's RTO of
 * 500 ms, shortened for short checks so several requests still go out. */
static struct mg_stun_schedule schedule_for(uint32_t timeout_ms)
{
	struct mg_stun_schedule s = mg_stun_schedule_rfc8489;

	s.rto_ms = timeout_ms / 8 < s.rto_ms ? timeout_ms / 8 : s.rto_ms;
	if (s.rto_ms < 20)
		s.rto_ms = 20;
	s.timeout_ms = timeout_ms;
	return s;
}

static int init_timer(struct mg_netcheck *nc, uv_timer_t *t, bool *on)
{
	int ret = uv_timer_init(nc->loop, t);

	if (ret < 0)
		return ret;
	t->data = nc;
	*on = true;
	return 0;
}

static int init_handles(struct mg_netcheck *nc)
{
	struct mg_stun_schedule sched = schedule_for(nc->timeout_ms);
	int ret;

	ret = init_timer(nc, &nc->stop_timer, &nc->stop_timer_on);
	if (ret == 0)
		ret = init_timer(nc, &nc->deadline, &nc->deadline_on);
	nc->work_open += nc->deadline_on;
	if (ret == 0)
		ret = mg_stun_client_init(&nc->client, nc->loop, &mg_clock_system, stun_send, nc,
					  &sched);
	if (ret == 0) {
		nc->client_on = true;
		nc->work_open++;
		ret = watch(nc, &nc->poll4, nc->udp.fd4, &nc->poll4_on);
	}
	if (ret == 0)
		ret = watch(nc, &nc->poll6, nc->udp.fd6, &nc->poll6_on);
	if (ret < 0)
		mg_log(&nc->log, MG_LOG_ERROR, "cannot set up the event loop: %s",
		       uv_strerror(ret));
	return ret;
}

/* A start that failed: what opened closes, and nc goes with the last of it. */
static void unwind(struct mg_netcheck *nc)
{
	nc->closing = true;
	close_work(nc);
	if (nc->stop_timer_on)
		uv_close((uv_handle_t *)&nc->stop_timer, on_stop_timer_closed);
	maybe_free(nc);
}

int mg_netcheck_start(uv_loop_t *loop, const struct mg_netcheck_config *config,
		      mg_netcheck_done_cb done, struct mg_netcheck **out)
{
	struct mg_netcheck *nc;
	int ret;

	if (!loop || !config || !done || !out || config->size < sizeof(config->size))
		return -EINVAL;
	nc = calloc(1, sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	nc->loop = loop;
	nc->done = done;
	nc->udp.fd4 = nc->udp.fd6 = -1;
	ret = configure(nc, config);
	if (ret == 0)
		ret = open_socket(nc);
	if (ret == 0)
		ret = init_handles(nc);
	if (ret < 0) {
		unwind(nc);
		return ret;
	}
	collect_local_addresses(nc);
	uv_timer_start(&nc->deadline, on_deadline, nc->timeout_ms, 0);
	for (unsigned i = 0; i < nc->nservers; i++)
		start_server(nc, &nc->servers[i]);
	start_portmap(nc);
	maybe_finish(nc);
	*out = nc;
	return 0;
}

void mg_netcheck_close(struct mg_netcheck *nc)
{
	if (!nc || nc->closing)
		return;
	nc->closing = true;
	if (!nc->finished) {
		cancel_work(nc);
		finish(nc);
	}
	if (nc->stop_timer_on)
		uv_close((uv_handle_t *)&nc->stop_timer, on_stop_timer_closed);
	maybe_free(nc);
}
