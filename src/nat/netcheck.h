/* netcheck: what the network looks like from here, before joining anything
 * (the mg_netcheck_* functions of include/meshguard.h). From one UDP socket
 * (the listen port if it is free, else an ephemeral one) it asks every STUN
 * server where it comes from, classifies the NAT's mapping from the
 * answers, and asks the gateway for a port mapping (NAT-PMP, PCP, UPnP
 * IGD), all at once on the caller's loop, and is done when everything
 * answered or the timeout ran out, whichever comes first.
 *
 * Two files: netcheck.c runs the check, netcheck_report.c renders what it
 * found (text and JSON). This header is what they share: the state of one
 * check, which the report only reads, after done. */
#ifndef MG_NAT_NETCHECK_H
#define MG_NAT_NETCHECK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "meshguard.h"
#include "nat/natprobe.h"
#include "nat/portmap.h"
#include "nat/stun_client.h"
#include "tunnel/udp.h"
#include "util/log.h"

#define MG_NETCHECK_MAX_SERVERS 16
#define MG_NETCHECK_MAX_PROBES	(2 * MG_NETCHECK_MAX_SERVERS) /* a name: IPv4 and IPv6 */
#define MG_NETCHECK_MAX_LOCAL	64
#define MG_NETCHECK_TIMEOUT_MIN 100    /* ms */
#define MG_NETCHECK_TIMEOUT_MAX 600000 /* ms */

struct mg_netcheck_server {
	struct mg_netcheck *nc;
	char arg[272]; /* "HOST:PORT" as given */
	char host[256];
	char port[8];
	uv_getaddrinfo_t gai;
	bool resolving; /* the check waits for its name lookup */
	bool in_flight; /* gai's callback has not run yet: nc must not go */
	int error;	/* why it has no address: a libuv error (UV_EAI_*, UV_ETIMEDOUT) */
};

/* One STUN transaction: one server address. */
struct mg_netcheck_probe {
	struct mg_netcheck_server *server;
	struct mg_stun_transaction t;
	struct mg_stun_result r;
	bool running, done;
};

struct mg_netcheck_local {
	char ifname[IFNAMSIZ];
	struct mg_endpoint addr; /* port 0 */
};

struct mg_netcheck {
	uv_loop_t *loop;
	mg_netcheck_done_cb done;
	void *user;
	struct mg_log log;

	/* What was asked. */
	struct mg_netcheck_server servers[MG_NETCHECK_MAX_SERVERS];
	unsigned nservers;
	uint16_t want_port; /* 0: an ephemeral port */
	uint32_t timeout_ms;
	unsigned portmap_protocols; /* MG_PORTMAP_BIT()s; 0: no port mapping asked */
	char *upnp_url;		    /* owned; NULL: SSDP discovery */

	struct mg_udp udp;
	bool port_is_listen_port;
	int listen_port_error; /* why the listen port was not used */

	struct mg_netcheck_probe probes[MG_NETCHECK_MAX_PROBES];
	unsigned nprobes;

	struct mg_portmap_probe *portmap;
	bool portmap_running;
	int portmap_error; /* mg_portmap_probe_start's, or 0 */
	bool have_portmap_result;
	struct mg_portmap_probe_result portmap_result;

	struct mg_netcheck_local local[MG_NETCHECK_MAX_LOCAL];
	unsigned nlocal;

	/* Private to netcheck.c: the loop's side. */
	uv_poll_t poll4, poll6;
	uv_timer_t deadline;
	/* Runs unreferenced from the deadline on: if work still keeps the loop
	 * alive after the grace, the check is done without it. */
	uv_timer_t stop_timer;
	struct mg_stun_client client;
	/* Which of the above are open. The check's work (deadline, polls,
	 * client) closes when it is finished; done runs once all of it has
	 * closed (work_open back at 0). The stop timer closes with
	 * mg_netcheck_close, and nc is freed once everything has. */
	bool deadline_on, poll4_on, poll6_on, client_on, stop_timer_on;
	unsigned work_open;
	bool timed_out, finished;
	bool abandoned; /* done with work outstanding, after the grace */
	bool closing;	/* mg_netcheck_close was called */
};

#endif
