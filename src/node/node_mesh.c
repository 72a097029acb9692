/* A node that runs a mesh (struct mg_node_config.mesh): the agent of
 * src/mesh loads the state directory before the TUN opens (it names the
 * interface and the port), takes the engine's control messages at start,
 * and gets the interface its overlay addresses and the mesh's routes. */
#include "node/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/state.h"
#include "util/macros.h"

static void on_forward(void *ctx)
{
	struct mg_node *n = ctx;

	if (n->config.packet_io != MG_PACKET_IO_CALLER)
		(void)mg_node_forwarding_on(n, true, true);
}

/* The agent announces the gateway's port mapping (candidate.h). */
static bool mapped(void *ctx, struct mg_endpoint *out)
{
	struct mg_node *n = ctx;

	return mg_nat_discovery_mapped(&n->nat, out);
}

static void on_leave_done(void *ctx)
{
	struct mg_node *n = ctx;

	mg_node_report_stopped(n);
}

int mg_node_mesh_open(struct mg_node *n, const struct mg_node_config *c)
{
	const char *dir = c->state_dir ? c->state_dir : MG_STATE_DIR_DEFAULT;
	char err[512] = "";
	int ret;

	n->mesh = calloc(1, sizeof(*n->mesh));
	if (!n->mesh)
		return -ENOMEM;
	ret = mg_agent_load(n->mesh, dir, &n->log, err, sizeof(err));
	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "mesh: %s", err[0] ? err : strerror(-ret));
		free(n->mesh);
		n->mesh = NULL;
		return ret;
	}
	ret = mg_agent_advertise(n->mesh, c->mesh_advertise, c->mesh_advertise_len, err,
				 sizeof(err));
	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "mesh: %s", err);
		mg_agent_close(n->mesh);
		free(n->mesh);
		n->mesh = NULL;
		return ret;
	}
	n->mesh->stop = on_leave_done;
	n->mesh->forward = on_forward;
	n->mesh->mapped = mapped;
	n->mesh->relay_mode = c->mesh_relay > 0	  ? MG_AGENT_RELAY_ON
			      : c->mesh_relay < 0 ? MG_AGENT_RELAY_OFF
						  : MG_AGENT_RELAY_AUTO;
	n->mesh->stop_ctx = n;
	if (!n->ifname[0])
		mg_agent_ifname(n->ifname, n->mesh->config.mesh_name);
	if (!n->config.listen_port)
		n->config.listen_port = n->mesh->config.listen_port;
	return 0;
}

static int configure(struct mg_node *n)
{
	struct mg_interface_config ic = MG_INTERFACE_CONFIG_INIT;
	char addrs[2][64], routes[2][64];
	const char *ap[2], *rp[2];
	size_t na, nr;

	mg_agent_interface(n->mesh, addrs, &na, routes, &nr);
	for (size_t i = 0; i < na; i++)
		ap[i] = addrs[i];
	for (size_t i = 0; i < nr; i++)
		rp[i] = routes[i];
	ic.addresses = ap;
	ic.addresses_len = na;
	ic.routes = rp;
	ic.routes_len = nr;
	/* A relayed packet still fits a 1500-byte IPv6 underlay (relay.h). */
	ic.mtu = MG_RELAY_INNER_MTU;
	return mg_node_configure_interface(n, &ic);
}

static void on_addr_events(uv_poll_t *h, int status, int events)
{
	struct mg_node *n = container_of(h, struct mg_node, addr_poll);
	bool changed = false;

	(void)events;
	if (status < 0 || mg_netlink_addr_events(&n->addr_events, n->ifindex, &changed) < 0 ||
	    changed)
		mg_agent_network_changed(n->mesh);
}

/* Address and route changes of interfaces other than ours restart the
 * search for direct paths (path.h). Not fatal: the API's
 * mg_node_network_changed does the same. */
static void watch_addresses(struct mg_node *n)
{
	if (mg_netlink_open_addr_events(&n->addr_events) < 0)
		return;
	if (uv_poll_init(n->loop, &n->addr_poll, n->addr_events.fd) < 0) {
		mg_netlink_close(&n->addr_events);
		return;
	}
	n->watching_addrs = true;
	if (uv_poll_start(&n->addr_poll, UV_READABLE, on_addr_events) < 0)
		mg_log(&n->log, MG_LOG_INFO, "mesh: cannot follow address changes");
}

int mg_node_mesh_start(struct mg_node *n)
{
	int ret;

	n->mesh->ifindex = n->config.packet_io == MG_PACKET_IO_TUN ? n->ifindex : 0;
	ret = mg_agent_start(n->mesh, n->loop, &n->engine);

	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "mesh: cannot start: %s", strerror(-ret));
		return ret;
	}
	if (n->config.packet_io == MG_PACKET_IO_CALLER)
		return 0;
	ret = configure(n);
	if (ret < 0)
		mg_log(&n->log, MG_LOG_ERROR, "mesh: cannot configure %s: %s", n->ifname,
		       strerror(-ret));
	if (ret == 0 && n->mesh->n_advertised)
		ret = mg_node_gateway_on(n, n->mesh->advertised, n->mesh->n_advertised);
	if (ret == 0)
		watch_addresses(n);
	return ret;
}

void mg_node_mesh_close(struct mg_node *n)
{
	if (!n->mesh)
		return;
	if (n->watching_addrs && !uv_is_closing((uv_handle_t *)&n->addr_poll))
		uv_close((uv_handle_t *)&n->addr_poll, NULL);
	mg_node_gateway_off(n);
	mg_agent_close(n->mesh);
}

void mg_node_mesh_free(struct mg_node *n)
{
	if (n->watching_addrs)
		mg_netlink_close(&n->addr_events);
	n->watching_addrs = false;
	free(n->mesh);
	n->mesh = NULL;
}
