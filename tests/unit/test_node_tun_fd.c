/* A node given a TUN fd opened elsewhere (MG_PACKET_IO_TUN_FD), in a
 * private network namespace (root, else skipped): it learns the device's
 * name from the fd, mg_node_configure_interface hands the request to the
 * caller's apply_interface instead of touching the kernel, and closing the
 * node calls it again with NULL to undo, then closes the fd (the device
 * goes away). */
#include "check.h"
#include "netns.h"

#include "meshguard.h"
#include "tunnel/tun.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

static unsigned applied, undone, closed;
static char seen_ifname[IFNAMSIZ];
static uint32_t seen_mtu;
static size_t seen_addresses;

static int apply_interface(void *user, const char *ifname, const struct mg_interface_config *c)
{
	(void)user;
	snprintf(seen_ifname, sizeof(seen_ifname), "%s", ifname);
	if (!c) {
		undone++;
		return 0;
	}
	applied++;
	seen_mtu = c->mtu;
	seen_addresses = c->addresses_len;
	return 0;
}

static void on_closed(struct mg_node *node, void *user)
{
	(void)node, (void)user;
	closed++;
}

int main(void)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	struct mg_interface_config ic = MG_INTERFACE_CONFIG_INIT;
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	const char *addrs[] = { "10.9.0.1/24", "fd09::1/64" };
	char ifname[IFNAMSIZ];
	struct mg_node *node;
	uv_loop_t loop;
	int fd;

	enter_netns();
	CHECK_EQ(mg_tun_open("mgfd0", ifname, &fd), 0);
	CHECK_EQ(uv_loop_init(&loop), 0);
	c.packet_io = MG_PACKET_IO_TUN_FD;
	c.tun_fd = fd;
	c.udp_io = MG_UDP_IO_SOCKETS;
	c.apply_interface = apply_interface;
	CHECK_EQ(mg_node_new(&loop, &c, &node), 0);
	CHECK_EQ(mg_node_status(node, &st), 0);
	CHECK(!strcmp(st.ifname, "mgfd0"));
	CHECK_EQ(mg_node_start(node), 0);

	ic.addresses = addrs;
	ic.addresses_len = 2;
	ic.mtu = 1380;
	CHECK_EQ(mg_node_configure_interface(node, &ic), 0);
	CHECK_EQ(applied, 1);
	CHECK(!strcmp(seen_ifname, "mgfd0"));
	CHECK_EQ(seen_mtu, 1380);
	CHECK_EQ(seen_addresses, 2);
	CHECK_EQ(mg_node_set_mtu(node, 1300), 0);
	CHECK_EQ(mg_node_status(node, &st), 0);
	CHECK_EQ(st.mtu, 1300);
	/* A bad prefix is refused before the callback runs. */
	addrs[1] = "fd09::1/129";
	CHECK_EQ(mg_node_configure_interface(node, &ic), -EINVAL);
	CHECK_EQ(applied, 1);

	mg_node_close(node, on_closed);
	CHECK_EQ(undone, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ(closed, 1);
	CHECK_EQ(uv_loop_close(&loop), 0);
	CHECK_EQ(if_nametoindex("mgfd0"), 0); /* the fd was the node's, and closed */
	printf("ok\n");
	return 0;
}
