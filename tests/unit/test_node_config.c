/* mg_node_new's checks of struct mg_node_config: a smaller struct from an
 * older caller is accepted (the rest reads as zero), a larger one only when
 * what this library does not know is zero; bad combinations are refused
 * with -EINVAL and a line to the caller's log callback, and leave nothing
 * behind (the loop closes clean; valgrind or ASan see no leak). Also the
 * caller-mode answers: configure_interface -ENOTSUP, UAPI errors, an
 * unknown peer. No root: no TUN, no socket. */
#include "check.h"

#include "meshguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static uv_loop_t loop;
static unsigned error_lines;
static char last_line[512];

static void on_log(void *user, enum mg_log_level level, const char *line)
{
	(void)user;
	if (level == MG_LOG_LEVEL_ERROR)
		error_lines++;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

static void on_packet(void *user, const uint8_t *packet, size_t len)
{
	(void)user, (void)packet, (void)len;
}

static int udp_send(void *user, const struct mg_udp_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)user, (void)to, (void)buf, (void)len;
	return 0;
}

static struct mg_node_config caller_config(void)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;

	c.ifname = "cfg0";
	c.packet_io = MG_PACKET_IO_CALLER;
	c.udp_io = MG_UDP_IO_CALLER;
	c.on_log = on_log;
	c.on_packet = on_packet;
	c.udp_send = udp_send;
	return c;
}

static void refused(const struct mg_node_config *c, const char *why)
{
	struct mg_node *node = (struct mg_node *)&loop; /* must stay untouched */
	unsigned before = error_lines;

	CHECK_EQ(mg_node_new(&loop, c, &node), -EINVAL);
	CHECK(node == (struct mg_node *)&loop);
	CHECK_EQ(error_lines, before + 1);
	if (!strstr(last_line, why)) {
		fprintf(stderr, "log line \"%s\" does not say \"%s\"\n", last_line, why);
		exit(1);
	}
}

static void bad_combinations(void)
{
	struct mg_node_config c;
	int fd;

	c = caller_config();
	c.on_packet = NULL;
	refused(&c, "needs on_packet");
	c = caller_config();
	c.udp_send = NULL;
	refused(&c, "needs udp_send");
	c = caller_config();
	c.stun_servers_len = 1;
	c.stun_servers = (const char *const[]){ "192.0.2.9:3478" };
	refused(&c, "own sockets");
	c = caller_config();
	c.uapi_socket = true;
	c.uapi_fd = 0;
	refused(&c, "exclude each other");
	c = caller_config();
	c.mtu = 100;
	refused(&c, "mtu");
	c = caller_config();
	c.packet_io = 7;
	refused(&c, "packet_io");
	c = caller_config();
	c.ifname = "much-too-long-name";
	refused(&c, "ifname");
	/* A TUN fd with another mode, and the mode without one. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	c = caller_config();
	c.tun_fd = fd;
	refused(&c, "tun_fd");
	close(fd);
	c = caller_config();
	c.packet_io = MG_PACKET_IO_TUN_FD;
	refused(&c, "tun_fd");
	CHECK_EQ(mg_node_new(&loop, NULL, &(struct mg_node *){ NULL }), -EINVAL);
}

static int closed;

static void on_closed(struct mg_node *node, void *user)
{
	(void)node, (void)user;
	closed++;
}

/* Creates, checks and closes one node from c. */
static void accepted(const void *c)
{
	struct mg_interface_config ic = MG_INTERFACE_CONFIG_INIT;
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	uint8_t key[MG_KEY_BYTES] = { 1 };
	struct mg_node *node = NULL;
	char *reply = NULL;
	int before = closed;

	CHECK_EQ(mg_node_new(&loop, c, &node), 0);
	CHECK_EQ(mg_node_start(node), 0);
	CHECK_EQ(mg_node_configure_interface(node, &ic), -ENOTSUP);
	CHECK_EQ(mg_node_status(node, &st), 0);
	CHECK_EQ(st.mtu, 1420);
	CHECK_EQ(st.peers, 0);
	CHECK_EQ(mg_node_remove_peer(node, key), -ENOENT);
	CHECK_EQ(mg_node_uapi(node, "set=1\nbogus=1\n\n", 16, &reply), -EINVAL);
	CHECK(strstr(reply, "errno=-22"));
	mg_node_uapi_free(reply);
	CHECK_EQ(mg_node_uapi(node, "nonsense", 8, &reply), -EINVAL);
	mg_node_uapi_free(reply);
	mg_node_close(node, on_closed);
	mg_node_close(node, on_closed); /* the second is ignored */
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ(closed, before + 1);
}

static void sizes(void)
{
	struct mg_node_config c = caller_config();
	struct {
		struct mg_node_config c;
		uint64_t future;
	} bigger;

	accepted(&c);
	/* An older caller's struct: everything up to and with udp_send, no
	 * more (apply_interface, user and discovery read as zero). */
	c.size = offsetof(struct mg_node_config, apply_interface);
	accepted(&c);
	/* Too small to hold even the modes: refused, and with no usable log
	 * callback the line goes to stderr. */
	c.size = 2;
	CHECK_EQ(mg_node_new(&loop, &c, &(struct mg_node *){ NULL }), -EINVAL);
	memset(&bigger, 0, sizeof(bigger));
	bigger.c = caller_config();
	bigger.c.size = sizeof(bigger);
	accepted(&bigger);
	bigger.future = 1;
	refused(&bigger.c, "does not know");
}

int main(void)
{
	CHECK_EQ(uv_loop_init(&loop), 0);
	bad_combinations();
	sizes();
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ(uv_loop_close(&loop), 0);
	printf("ok\n");
	return 0;
}
