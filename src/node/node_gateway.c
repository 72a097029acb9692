/* A mesh gateway (`up --advertise`): other members send traffic for the
 * advertised subnets here (mesh/subnet.h); the kernel forwards it into the
 * LAN, masqueraded as this host so that the LAN's replies come back through
 * the gateway that carried the request (two gateways of one subnet need no
 * routing changes in the LAN). Forwarding is the namespace's sysctl; the
 * masquerade is one nftables table of ours, "meshguard_<ifname>", added
 * through libnftables and deleted when the node closes. */
#include "node/node.h"
#include "tunnel/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NFT_CMD_MAX 4096

static const char *sysctl_path(enum mg_broker_sysctl which)
{
	switch (which) {
	case MG_BROKER_SRC_VALID_MARK:
		return "/proc/sys/net/ipv4/conf/all/src_valid_mark";
	case MG_BROKER_FORWARD4:
		return "/proc/sys/net/ipv4/ip_forward";
	case MG_BROKER_FORWARD6:
		return "/proc/sys/net/ipv6/conf/all/forwarding";
	}
	return NULL;
}

int mg_node_sysctl_on(enum mg_broker_sysctl which)
{
	const char *path = sysctl_path(which);
	int fd, ret = 0;

	if (!path)
		return -EINVAL;
	if (mg_broker_active())
		return mg_broker_sysctl(which);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

/* nftables names: the interface name with anything but [A-Za-z0-9_] as _. */
static void table_name(char *out, size_t cap, const char *ifname)
{
	size_t n = (size_t)snprintf(out, cap, "meshguard_%s", ifname);

	for (size_t i = 10; i < n && i < cap; i++)
		if (!(out[i] >= 'a' && out[i] <= 'z') && !(out[i] >= 'A' && out[i] <= 'Z') &&
		    !(out[i] >= '0' && out[i] <= '9'))
			out[i] = '_';
}

static int run_nft(const struct mg_log *log, const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret;

	if (!ctx)
		return -ENOMEM;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	ret = nft_run_cmd_from_buffer(ctx, cmd);
	if (ret != 0)
		mg_log(log, MG_LOG_ERROR, "nftables: %s", nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
	return ret == 0 ? 0 : -EIO;
}

int mg_node_masquerade_apply(const char *ifname, const struct mg_prefix *p, size_t count,
			     const struct mg_log *log)
{
	char cmd[NFT_CMD_MAX], table[IFNAMSIZ + 16], text[MG_PREFIX_STRLEN];
	size_t len;

	table_name(table, sizeof(table), ifname);
	if (!count) {
		snprintf(cmd, sizeof(cmd), "delete table inet %s\n", table);
		return run_nft(log, cmd);
	}
	/* add-then-delete: a table left by a crash goes, a missing one is no error. */
	len = (size_t)snprintf(cmd, sizeof(cmd),
			       "add table inet %s\ndelete table inet %s\nadd table inet %s\n"
			       "add chain inet %s post { type nat hook postrouting priority "
			       "srcnat; policy accept; }\n",
			       table, table, table, table);
	for (size_t i = 0; i < count && len < sizeof(cmd); i++) {
		mg_prefix_format(text, sizeof(text), &p[i]);
		len += (size_t)snprintf(
			cmd + len, sizeof(cmd) - len,
			"add rule inet %s post iifname \"%s\" %s daddr %s masquerade\n", table,
			ifname, p[i].family == AF_INET ? "ip" : "ip6", text);
	}
	if (len >= sizeof(cmd))
		return -E2BIG;
	return run_nft(log, cmd);
}

/* Under privilege separation the broker runs nftables (broker.h). */
static int masquerade(struct mg_node *n, const struct mg_prefix *p, size_t count)
{
	struct mg_broker_req req = { .op = MG_BROKER_MASQUERADE };
	struct mg_broker_rep rep;

	if (!mg_broker_active())
		return mg_node_masquerade_apply(n->ifname, p, count, &n->log);
	if (count > MG_BROKER_PREFIXES_MAX)
		return -E2BIG;
	snprintf(req.name, sizeof(req.name), "%s", n->ifname);
	req.n_prefixes = (uint32_t)count;
	if (count)
		memcpy(req.prefixes, p, count * sizeof(*p));
	return mg_broker_call(&req, &rep, NULL);
}

int mg_node_forwarding_on(struct mg_node *n, bool v4, bool v6)
{
	int ret = 0;

	if (v4)
		ret = mg_node_sysctl_on(MG_BROKER_FORWARD4);
	if (ret == 0 && v6)
		ret = mg_node_sysctl_on(MG_BROKER_FORWARD6);
	if (ret < 0)
		mg_log(&n->log, MG_LOG_ERROR, "cannot turn on forwarding: %s", strerror(-ret));
	return ret;
}

int mg_node_gateway_on(struct mg_node *n, const struct mg_prefix *p, size_t count)
{
	bool v4 = false, v6 = false;
	int ret;

	for (size_t i = 0; i < count; i++) {
		v4 |= p[i].family == AF_INET;
		v6 |= p[i].family == AF_INET6;
	}
	ret = mg_node_forwarding_on(n, v4, v6);
	if (ret < 0)
		return ret;
	ret = masquerade(n, p, count);
	n->gateway_on = ret == 0;
	return ret;
}

void mg_node_gateway_off(struct mg_node *n)
{
	if (!n->gateway_on)
		return;
	(void)masquerade(n, NULL, 0);
	n->gateway_on = false;
}
