/* The mesh calls of meshguard.h: each works on a state directory, offline
 * under its lock, or through the running node's control socket
 * (DIR/control.sock, mesh/agent.h) when a node holds the lock. Every call
 * ends in one enum mg_mesh_result and one line for the user. */
#include "meshguard.h"
#include "node/mesh_api.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mesh/admin.h"
#include "mesh/agent.h"
#include "mesh/state.h"

#define CONTROL_TIMEOUT_MS 15000
#define CONTROL_REPLY_MAX  (1 << 20)

enum mg_mesh_result mg_mesh_say(char *msg, size_t msglen, enum mg_mesh_result r, const char *fmt,
				...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* A state error from state.h/admin.h (its message in err) as a result. */
enum mg_mesh_result mg_mesh_state_result(int err, const char *text, char *msg, size_t msglen)
{
	if (err == -EWOULDBLOCK)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE,
				   "%s (a running node holds the state directory)", text);
	return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s", text[0] ? text : strerror(-err));
}

uint64_t mg_mesh_wall_now(void)
{
	return (uint64_t)time(NULL);
}

bool mg_mesh_present(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, MG_STATE_MESH);
	return stat(path, &st) == 0;
}

/* ---- the control socket, client side ---- */

static int control_connect(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, MG_AGENT_CONTROL_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the node closes, within the timeout. */
static int read_all(int fd, char **out, size_t *outlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (poll(&p, 1, CONTROL_TIMEOUT_MS) <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (len == cap) {
			char *b = cap < CONTROL_REPLY_MAX ? realloc(buf, 2 * cap + 1) : NULL;

			if (!b) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Splits "result=N\nmessage=...\n\n" + payload. */
static enum mg_mesh_result parse_reply(char *reply, char **payload, char *msg, size_t msglen)
{
	char *end = strstr(reply, "\n\n"), *m;
	unsigned r;

	if (!end || sscanf(reply, "result=%u\n", &r) != 1 || r > MG_MESH_STATE)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE,
				   "the running node sent a reply that is not one");
	*end = '\0';
	*payload = end + 2;
	m = strstr(reply, "\nmessage=");
	mg_mesh_say(msg, msglen, (enum mg_mesh_result)r, "%s", m ? m + 9 : "");
	return (enum mg_mesh_result)r;
}

int mg_mesh_control(const char *dir, const char *request, char **reply, char **payload, char *msg,
		    size_t msglen)
{
	size_t len;
	int fd = control_connect(dir), ret;

	*reply = NULL;
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return -ENOENT;
	if (fd < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE,
				   "cannot reach the running node at %s/%s: %s", dir,
				   MG_AGENT_CONTROL_SOCKET, strerror(-fd));
	ret = write_all(fd, request, strlen(request));
	if (ret == 0)
		ret = read_all(fd, reply, &len);
	close(fd);
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE,
				   "the running node of %s did not answer: %s", dir, strerror(-ret));
	return parse_reply(*reply, payload, msg, msglen);
}

/* ---- init ---- */

enum mg_mesh_result mg_mesh_init(const char *dir, const struct mg_mesh_init_config *c, char *msg,
				 size_t msglen)
{
	struct mg_mesh_init_params p = { 0 };
	char err[512] = "";
	int ret;

	if (!dir || !c || c->size < sizeof(*c) || !c->mesh_name)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "a mesh name is needed");
	p.mesh_name = c->mesh_name;
	p.node = c->node_name;
	p.prefix4 = c->prefix4;
	p.prefix6 = c->prefix6;
	p.listen_port = c->listen_port;
	p.endpoints = c->endpoints;
	p.n_endpoints = c->endpoints_len;
	p.now = mg_mesh_wall_now();
	ret = mg_mesh_admin_init(dir, &p, err, sizeof(err));
	if (ret == -EINVAL)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "%s", err);
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	return mg_mesh_say(msg, msglen, MG_MESH_OK, "mesh \"%s\" made in %s", c->mesh_name, dir);
}

/* ---- invite ---- */

static int append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap - len ? -ENOSPC : 0;
}

static enum mg_mesh_result invite_offline(const char *dir, const struct mg_mesh_invite_params *p,
					  char *token, char *msg, size_t msglen)
{
	char err[512] = "";
	size_t dropped = 0;
	int ret = mg_mesh_admin_invite(dir, p, NULL, 0, token, &dropped, err, sizeof(err));

	if (ret == -EINVAL)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "%s", err);
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	if (dropped)
		return mg_mesh_say(msg, msglen, MG_MESH_OK,
				   "%zu endpoint(s) left out of the token: it holds at most %d "
				   "characters",
				   dropped, MG_MESH_TOKEN_MAX);
	return mg_mesh_say(msg, msglen, MG_MESH_OK, "%s", "");
}

enum mg_mesh_result mg_mesh_invite(const char *dir, const struct mg_mesh_invite_config *c,
				   char *token, char *msg, size_t msglen)
{
	struct mg_mesh_invite_params p = { 0 };
	char req[1024] = "invite\n", *reply, *payload;
	enum mg_mesh_result r;
	int ret = 0;

	if (!dir || !c || c->size < sizeof(*c) || c->uses > 65535 || c->groups_len > 8)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "bad invite parameters");
	p.name = c->name;
	p.expires = c->expires_s;
	p.uses = (uint16_t)c->uses;
	p.groups = c->groups;
	p.n_groups = c->groups_len;
	p.now = mg_mesh_wall_now();
	if (c->name)
		ret |= append(req, sizeof(req), "name=%s\n", c->name);
	ret |= append(req, sizeof(req), "expires=%llu\nuses=%u\n", (unsigned long long)c->expires_s,
		      c->uses);
	for (size_t i = 0; i < c->groups_len; i++)
		ret |= append(req, sizeof(req), "group=%s\n", c->groups[i]);
	ret |= append(req, sizeof(req), "\n");
	if (ret || strchr(c->name ? c->name : "", '\n'))
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "bad invite parameters");
	ret = mg_mesh_control(dir, req, &reply, &payload, msg, msglen);
	if (ret == -ENOENT)
		return invite_offline(dir, &p, token, msg, msglen);
	r = (enum mg_mesh_result)ret;
	if (r == MG_MESH_OK && strlen(payload) > MG_MESH_TOKEN_MAX + 1)
		r = mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE, "the node sent no token");
	if (r == MG_MESH_OK) {
		snprintf(token, MG_MESH_TOKEN_MAX + 1, "%s", payload);
		token[strcspn(token, "\n")] = '\0';
	}
	if (reply)
		mg_secret_wipe(reply, strlen(reply));
	free(reply);
	return r;
}

/* ---- the interface name ---- */

enum mg_mesh_result mg_mesh_ifname(const char *dir, char out[16], char *msg, size_t msglen)
{
	struct mg_mesh_config c;
	struct mg_state st;
	char err[512] = "";
	int ret = mg_state_open(&st, dir, 0, err, sizeof(err));

	if (ret == 0) {
		ret = mg_state_config_load(&st, &c, err, sizeof(err));
		mg_state_close(&st);
	}
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	mg_agent_ifname(out, c.mesh_name);
	return MG_MESH_OK;
}
