/* Tests that need a network of their own: a private namespace that dies with
 * the process, with lo up, so nothing touches the machine's namespace and
 * nothing needs cleaning up. Exits 77 (skipped) without root. */
#ifndef MG_TEST_NETNS_H
#define MG_TEST_NETNS_H

#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "tunnel/netlink.h"

static inline void enter_netns(void)
{
	struct mg_netlink nl;

	if (geteuid() != 0) {
		printf("skipped: needs root\n");
		exit(77);
	}
	CHECK(unshare(CLONE_NEWNET) == 0);
	CHECK_EQ(mg_netlink_open(&nl), 0);
	CHECK_EQ(mg_netlink_link_set_up(&nl, if_nametoindex("lo"), true), 0);
	mg_netlink_close(&nl);
}

/* HOST:PORT as an endpoint, for tests that talk over the namespace's lo. */
static inline struct mg_endpoint ns_endpoint(const char *host, uint16_t port)
{
	char s[MG_ENDPOINT_STRLEN];
	struct mg_endpoint ep;

	snprintf(s, sizeof(s), "%s:%u", host, port);
	CHECK_EQ(mg_endpoint_parse(&ep, s), 0);
	return ep;
}

#endif
