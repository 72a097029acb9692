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
#include "mesh/directory.h"
#include "mesh/firewall.h"
#include "mesh/joiner.h"
#include "mesh/state.h"
#include "node/node.h"
#include "tunnel/uapi.h"
#include "util/json.h"

#define CONTROL_TIMEOUT_MS 15000
#define CONTROL_REPLY_MAX  (1 << 20)

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
	return mg_mesh_wall_ms() / 1000;
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
	/* One request per connection: the node closes after its reply. */
	if (ret == 0 && shutdown(fd, SHUT_WR) < 0)
		ret = -errno;
	if (ret == 0)
		ret = read_all(fd, reply, &len);
	close(fd);
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE,
				   "the running node of %s did not answer: %s", dir,
				   strerror(-ret));
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
		return mg_mesh_say(msg, msglen, MG_MESH_OK, "%s", err);
	return mg_mesh_say(msg, msglen, MG_MESH_OK, "%s", "");
}

enum mg_mesh_result mg_mesh_invite(const char *dir, const struct mg_mesh_invite_config *c,
				   char *token, char *msg, size_t msglen)
{
	struct mg_mesh_invite_params p = { 0 };
	char req[2048] = "invite\n", *reply, *payload;
	enum mg_mesh_result r;
	int ret = 0;

	if (!dir || !c || c->size < sizeof(*c) || c->uses > 65535 || c->groups_len > 8 ||
	    c->routes_len > 16)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "bad invite parameters");
	p.name = c->name;
	p.expires = c->expires_s;
	p.uses = (uint16_t)c->uses;
	p.groups = c->groups;
	p.n_groups = c->groups_len;
	p.routes = c->routes;
	p.n_routes = c->routes_len;
	p.now = mg_mesh_wall_now();
	if (c->name)
		ret |= append(req, sizeof(req), "name=%s\n", c->name);
	ret |= append(req, sizeof(req), "expires=%llu\nuses=%u\n", (unsigned long long)c->expires_s,
		      c->uses);
	for (size_t i = 0; i < c->groups_len; i++)
		ret |= append(req, sizeof(req), "group=%s\n", c->groups[i]);
	for (size_t i = 0; i < c->routes_len; i++)
		ret |= strchr(c->routes[i], '\n')
			       ? -EINVAL
			       : append(req, sizeof(req), "route=%s\n", c->routes[i]);
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
	char err[512] = "";
	int ret = mg_state_config_read(dir, &c, err, sizeof(err));

	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	mg_agent_ifname(out, c.mesh_name);
	return MG_MESH_OK;
}

/* ---- join ---- */

enum mg_mesh_result mg_mesh_join(const char *dir, const char *token,
				 const struct mg_mesh_join_config *c, char *msg, size_t msglen)
{
	struct mg_joiner_params p = { .dir = dir, .token = token, .now = mg_mesh_wall_now() };

	if (!dir || !token || (c && c->size < sizeof(*c)))
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "a token is needed");
	if (c) {
		p.name = c->name;
		p.listen_port = c->listen_port;
		p.timeout_ms = c->timeout_ms;
	}
	return mg_joiner_run(&p, msg, msglen);
}

/* ---- reading the directory offline ---- */

struct offline {
	struct mg_state st;
	struct mg_mesh_config config;
	struct mg_directory dir;
	bool st_open, dir_open;
};

static void offline_close(struct offline *o)
{
	if (o->dir_open)
		mg_directory_free(&o->dir);
	if (o->st_open)
		mg_state_close(&o->st);
}

/* Our own certificates belong in the directory even before a node ran
 * (init writes none): the issuer's first, then ours. */
static int add_own_certs(struct offline *o, char *err, size_t errlen)
{
	static const char *const files[] = { MG_STATE_ISSUER_C, MG_STATE_MEMBER_C };
	uint8_t item[MG_DIR_ITEM_MAX];
	struct mg_cert c;
	int ret = 0, len;

	for (size_t i = 0; i < 2 && ret >= 0; i++) {
		ret = mg_state_cert_load(&o->st, files[i], &c, err, errlen);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		len = ret < 0 ? ret : mg_dir_cert_item(item, sizeof(item), &c);
		ret = len < 0 ? len
			      : mg_directory_add(&o->dir, item, (size_t)len, mg_mesh_wall_now(),
						 NULL);
	}
	return ret < 0 ? ret : 0;
}

/* Opens dir (locked when lock: the caller will write) and loads the mesh
 * and its directory. */
static enum mg_mesh_result offline_open(struct offline *o, const char *dir, bool lock, char *msg,
					size_t msglen)
{
	char err[512] = "";
	uint8_t *blob = NULL;
	size_t len = 0;
	int ret;

	memset(o, 0, sizeof(*o));
	ret = mg_state_open(&o->st, dir, lock ? MG_STATE_LOCK : 0, err, sizeof(err));
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	o->st_open = true;
	ret = mg_state_config_load(&o->st, &o->config, err, sizeof(err));
	if (ret == -ENOENT)
		snprintf(err, sizeof(err), "%.300s holds no mesh", dir);
	if (ret == 0)
		ret = mg_directory_init(&o->dir, o->config.mesh_id, o->config.authority, NULL,
					NULL);
	if (ret == 0) {
		o->dir_open = true;
		blob = malloc(MG_STATE_FILE_MAX);
		ret = blob ? mg_state_read(&o->st, MG_STATE_DIRECTORY, blob, MG_STATE_FILE_MAX,
					   &len, err, sizeof(err))
			   : -ENOMEM;
		if (ret == 0 && mg_directory_load(&o->dir, blob, len, mg_mesh_wall_now()) < 0) {
			snprintf(err, sizeof(err), "%.300s/%s is corrupt", dir, MG_STATE_DIRECTORY);
			ret = -EINVAL;
		}
		if (ret == -ENOENT)
			ret = 0;
		free(blob);
	}
	if (ret == 0)
		ret = add_own_certs(o, err, sizeof(err));
	if (ret == 0)
		return MG_MESH_OK;
	offline_close(o);
	return mg_mesh_state_result(ret, err, msg, msglen);
}

/* ---- members ---- */

static void member_line(struct mg_uapi_buf *b, const struct mg_dir_member *m)
{
	char addrs[2][MG_PREFIX_STRLEN] = { "-", "-" }, key[MG_KEY_BASE64_LEN + 1];

	for (unsigned i = 0; i < m->cert.n_addresses && i < 2; i++)
		mg_prefix_format(addrs[i], sizeof(addrs[i]), &m->cert.addresses[i]);
	mg_key_to_base64(key, m->cert.wg_key);
	(void)mg_uapi_buf_printf(b, "%-20s %-18s %-28s %s\n", m->cert.name, addrs[0], addrs[1],
				 key);
}

static void member_object(struct mg_json *j, cJSON *arr, const struct mg_dir_member *m)
{
	struct mg_dir_endpoint eps[MG_DIR_ENDPOINTS_MAX];
	char buf[MG_ENDPOINT_STRLEN];
	cJSON *o = mg_json_object(j, arr, NULL), *a;
	size_t n = mg_directory_endpoints(m, eps);

	mg_agent_json_cert(j, o, &m->cert);
	a = mg_json_array(j, o, "groups");
	for (unsigned i = 0; i < m->cert.n_groups; i++)
		mg_json_string(j, a, NULL, m->cert.groups[i]);
	mg_json_number(j, o, "expires", (double)m->cert.not_after);
	a = mg_json_array(j, o, "endpoints");
	for (size_t i = 0; i < n; i++) {
		struct mg_prefix p = { .family = eps[i].family, .cidr = 0 };

		memcpy(p.addr, eps[i].addr, sizeof(p.addr));
		mg_prefix_format(buf, sizeof(buf), &p);
		buf[strcspn(buf, "/")] = '\0';
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ":%u", eps[i].port);
		mg_json_string(j, a, NULL, buf);
	}
}

enum mg_mesh_result mg_mesh_members(const char *dir, bool json, char **out, char *msg,
				    size_t msglen)
{
	struct mg_uapi_buf b = { 0 };
	struct mg_json j;
	struct offline o;
	cJSON *arr;
	enum mg_mesh_result r = offline_open(&o, dir, false, msg, msglen);

	if (r != MG_MESH_OK)
		return r;
	*out = NULL;
	if (json && mg_json_init(&j) == 0) {
		mg_json_number(&j, j.root, "schema", 1);
		mg_json_string(&j, j.root, "mesh", o.config.mesh_name);
		arr = mg_json_array(&j, j.root, "members");
		for (size_t i = 0; i < mg_directory_count(&o.dir); i++)
			member_object(&j, arr, mg_directory_member(&o.dir, i));
		*out = mg_json_format(&j);
		mg_json_free(&j);
		if (*out) {
			char *nl = realloc(*out, strlen(*out) + 2);

			if (nl)
				strcat(nl, "\n");
			*out = nl;
		}
	} else if (!json) {
		(void)mg_uapi_buf_printf(&b, "mesh %s: %zu member(s)\n", o.config.mesh_name,
					 mg_directory_count(&o.dir));
		for (size_t i = 0; i < mg_directory_count(&o.dir); i++)
			member_line(&b, mg_directory_member(&o.dir, i));
		if (mg_uapi_buf_append(&b, "", 1) == 0)
			*out = b.data;
		else
			mg_uapi_buf_free(&b);
	}
	offline_close(&o);
	if (!*out)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "out of memory");
	return MG_MESH_OK;
}

/* ---- through the running node ---- */

/* A request the running node must answer: its payload copied to *out. */
static enum mg_mesh_result node_request(const char *dir, const char *req, char **out, char *msg,
					size_t msglen)
{
	char *reply = NULL, *payload = NULL;
	int ret = mg_mesh_control(dir, req, &reply, &payload, msg, msglen);

	if (ret == -ENOENT)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE,
				   "no node runs the mesh in %s (start it with `meshguard up "
				   "--state %s`)",
				   dir, dir);
	if (ret == MG_MESH_OK && out) {
		*out = strdup(payload);
		if (!*out)
			ret = mg_mesh_say(msg, msglen, MG_MESH_STATE, "out of memory");
	}
	if (reply)
		mg_secret_wipe(reply, strlen(reply));
	free(reply);
	return (enum mg_mesh_result)ret;
}

enum mg_mesh_result mg_mesh_status(const char *dir, bool json, char **out, char *msg, size_t msglen)
{
	if (!mg_mesh_present(dir))
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s holds no mesh", dir);
	return node_request(dir, json ? "status\njson=1\n\n" : "status\njson=0\n\n", out, msg,
			    msglen);
}

enum mg_mesh_result mg_mesh_export_wg(const char *dir, const char *name, char **conf, char *msg,
				      size_t msglen)
{
	char req[128];

	if (!name || !mg_mesh_name_valid(name, MG_MESH_NAME_MAX))
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE,
				   "bad name: expected 1-63 of A-Z a-z 0-9 . _ -");
	snprintf(req, sizeof(req), "export\nname=%s\n\n", name);
	return node_request(dir, req, conf, msg, msglen);
}

/* No node runs the mesh: one is run just for the departure, without a TUN
 * (packet I/O by the caller, who sends none) on the mesh's port, until it
 * has gossiped the departure for MG_AGENT_LEAVE_MS and stops itself. */
struct leave_run {
	uv_loop_t loop;
	struct mg_node *node;
	char *msg;
	size_t msglen;
	enum mg_mesh_result result;
};

static void leave_closed(struct mg_node *node, void *user)
{
	struct leave_run *r = user;

	(void)node;
	r->node = NULL;
}

static void leave_event(void *user, const struct mg_event *e)
{
	struct leave_run *r = user;

	if (e->type == MG_EVENT_STOPPED && r->node)
		mg_node_close(r->node, leave_closed);
}

static void leave_log(void *user, enum mg_log_level level, const char *line)
{
	struct leave_run *r = user;

	if (level == MG_LOG_LEVEL_ERROR && r->result == MG_MESH_OK)
		r->result = mg_mesh_say(r->msg, r->msglen, MG_MESH_STATE, "%s", line);
}

static void leave_packet(void *user, const uint8_t *packet, size_t len)
{
	(void)user;
	(void)packet;
	(void)len; /* no one to deliver to: the node only says goodbye */
}

static enum mg_mesh_result leave_offline(const char *dir, char *msg, size_t msglen)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	struct leave_run r = { .msg = msg, .msglen = msglen, .result = MG_MESH_OK };
	char err[512] = "";
	int ret;

	if (uv_loop_init(&r.loop) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "cannot start an event loop");
	c.packet_io = MG_PACKET_IO_CALLER;
	c.udp_io = MG_UDP_IO_SOCKETS;
	c.mesh = true;
	c.state_dir = dir;
	c.log_level = MG_LOG_LEVEL_ERROR;
	c.on_log = leave_log;
	c.on_event = leave_event;
	c.on_packet = leave_packet;
	c.user = &r;
	ret = mg_node_new(&r.loop, &c, &r.node);
	if (ret == 0)
		ret = mg_node_start(r.node);
	if (ret == 0)
		ret = mg_agent_leave(r.node->mesh, err, sizeof(err));
	if (ret < 0 && r.node)
		mg_node_close(r.node, leave_closed);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	uv_loop_close(&r.loop);
	if (r.result != MG_MESH_OK)
		return r.result;
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s", err[0] ? err : strerror(-ret));
	return mg_mesh_say(msg, msglen, MG_MESH_OK, "left the mesh; %s holds no membership", dir);
}

enum mg_mesh_result mg_mesh_leave(const char *dir, char *msg, size_t msglen)
{
	char *reply = NULL, *payload = NULL;
	int ret;

	if (!mg_mesh_present(dir))
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%.300s holds no mesh", dir);
	ret = mg_mesh_control(dir, "leave\n\n", &reply, &payload, msg, msglen);
	free(reply);
	if (ret == -ENOENT)
		return leave_offline(dir, msg, msglen);
	return (enum mg_mesh_result)ret;
}

/* ---- revoke ---- */

static int sign_revocation(struct offline *o, const struct mg_dir_member *m, uint8_t *item,
			   size_t cap, char *err, size_t errlen)
{
	uint8_t sk[MG_ED25519_SECRET_LEN];
	struct mg_dir_revoke r = { 0 };
	int ret = mg_state_ed25519_load(&o->st, MG_STATE_AUTHORITY, sk, err, errlen);

	if (ret == -ENOENT)
		snprintf(
			err, errlen,
			"%.300s holds no authority key: revoke runs on the host that made the mesh",
			o->st.dir);
	if (ret < 0)
		return ret;
	memcpy(r.mesh_id, o->config.mesh_id, MG_MESH_ID_LEN);
	memcpy(r.key, m->cert.key, MG_ED25519_PUB_LEN);
	memcpy(r.wg_key, m->cert.wg_key, MG_KEY_LEN);
	memcpy(r.cert_signer_id, m->cert.signer_id, MG_MESH_KEY_ID_LEN);
	r.cert_serial = m->cert.serial;
	r.time = mg_mesh_wall_now();
	ret = mg_dir_revoke_sign(item, cap, &r, sk);
	mg_wipe(sk, sizeof(sk));
	return ret;
}

/* No node runs: the revocation goes into DIR's directory, and spreads when
 * the node next runs. */
static enum mg_mesh_result revoke_offline(const char *dir, const uint8_t *item, size_t len,
					  char *msg, size_t msglen)
{
	struct offline o;
	char err[512] = "";
	enum mg_mesh_result r = offline_open(&o, dir, true, msg, msglen);
	uint8_t *blob = NULL;
	size_t blen;
	int ret;

	if (r != MG_MESH_OK)
		return r;
	ret = mg_directory_add(&o.dir, item, len, mg_mesh_wall_now(), NULL);
	blen = mg_directory_encoded_len(&o.dir);
	blob = ret >= 0 ? malloc(blen) : NULL;
	if (blob && mg_directory_encode(&o.dir, blob, blen) >= 0)
		ret = mg_state_write(&o.st, MG_STATE_DIRECTORY, blob, blen, err, sizeof(err));
	else if (ret >= 0)
		ret = -ENOMEM;
	free(blob);
	offline_close(&o);
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	return MG_MESH_OK;
}

enum mg_mesh_result mg_mesh_revoke(const char *dir, const char *name, char *msg, size_t msglen)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	char text[2 * MG_DIR_ITEM_MAX], req[2 * MG_DIR_ITEM_MAX + 32], err[512] = "";
	const struct mg_dir_member *m;
	struct offline o;
	enum mg_mesh_result r;
	int len;

	if (!name || !mg_mesh_name_valid(name, MG_MESH_NAME_MAX))
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "bad name");
	r = offline_open(&o, dir, false, msg, msglen);
	if (r != MG_MESH_OK)
		return r;
	m = mg_directory_find_name(&o.dir, name);
	len = m ? sign_revocation(&o, m, item, sizeof(item), err, sizeof(err)) : -ENOENT;
	offline_close(&o);
	if (!m)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED, "no member named \"%s\"", name);
	if (len < 0)
		return mg_mesh_state_result(len, err, msg, msglen);
	mg_base64url_encode(text, item, (size_t)len);
	snprintf(req, sizeof(req), "publish\nitem=%s\n\n", text);
	r = node_request(dir, req, NULL, msg, msglen);
	if (r == MG_MESH_UNREACHABLE && mg_mesh_present(dir))
		r = revoke_offline(dir, item, (size_t)len, msg, msglen);
	if (r == MG_MESH_OK)
		mg_mesh_say(msg, msglen, MG_MESH_OK, "%s revoked", name);
	return r;
}

/* ---- the firewall ---- */

/* DIR's rules, opened (locked when changing) and loaded, or a result. */
static enum mg_mesh_result fw_open(struct mg_state *st, const char *dir, bool lock,
				   struct mg_firewall *fw, char *msg, size_t msglen)
{
	char err[512] = "";
	int ret = mg_state_open(st, dir, lock ? MG_STATE_LOCK : 0, err, sizeof(err));

	memset(fw, 0, sizeof(*fw));
	if (ret == 0) {
		ret = mg_fw_load(st, &fw->rules, err, sizeof(err));
		if (ret < 0)
			mg_state_close(st);
	}
	return ret < 0 ? mg_mesh_state_result(ret, err, msg, msglen) : MG_MESH_OK;
}

/* Saves the changed rules of an open, locked DIR and closes it. */
static enum mg_mesh_result fw_save_close(struct mg_state *st, const struct mg_fw_rules *rules,
					 const char *done, char *msg, size_t msglen)
{
	char err[512] = "";
	int ret = mg_fw_save(st, rules, err, sizeof(err));

	mg_state_close(st);
	if (ret < 0)
		return mg_mesh_state_result(ret, err, msg, msglen);
	return mg_mesh_say(msg, msglen, MG_MESH_OK, "%s", done);
}

static enum mg_mesh_result fw_add_offline(const char *dir, const struct mg_fw_rule *rule, char *msg,
					  size_t msglen)
{
	struct mg_firewall fw;
	struct mg_state st;
	enum mg_mesh_result r = fw_open(&st, dir, true, &fw, msg, msglen);
	int ret;

	if (r != MG_MESH_OK)
		return r;
	ret = mg_fw_add(&fw.rules, rule);
	if (ret < 0) {
		mg_state_close(&st);
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "%s",
				   ret == -EEXIST ? "the rule exists already" : "too many rules");
	}
	return fw_save_close(&st, &fw.rules, "rule added", msg, msglen);
}

/* The rule text of r's fields, checked by the same parser the node uses. */
static enum mg_mesh_result fw_rule_text(const struct mg_mesh_firewall_rule *r, char *text,
					size_t cap, struct mg_fw_rule *rule, char *msg,
					size_t msglen)
{
	char err[256] = "";

	const char *field[3] = { r ? r->group : NULL, r ? r->proto : NULL, r ? r->port : NULL };
	static const char *const name[3] = { "group", "proto", "port" };

	if (!r || r->size < sizeof(*r))
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "no rule");
	for (size_t i = 0; i < 3; i++)
		if (field[i] && strpbrk(field[i], " \n"))
			return mg_mesh_say(msg, msglen, MG_MESH_USAGE,
					   "%s \"%.48s\": no spaces or newlines", name[i],
					   field[i]);
	snprintf(text, cap, "group=%s proto=%s port=%s", r->group ? r->group : "any",
		 r->proto ? r->proto : "any", r->port ? r->port : "any");
	if (mg_fw_rule_parse(rule, text, strlen(text), err, sizeof(err)) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "%s", err);
	return MG_MESH_OK;
}

enum mg_mesh_result mg_mesh_firewall_add(const char *dir, const struct mg_mesh_firewall_rule *r,
					 char *msg, size_t msglen)
{
	char text[512], req[640];
	struct mg_fw_rule rule;
	enum mg_mesh_result res;
	char *reply = NULL, *payload;
	int ret;

	if (!dir || !mg_mesh_present(dir))
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s holds no mesh", dir ? dir : "");
	res = fw_rule_text(r, text, sizeof(text), &rule, msg, msglen);
	if (res != MG_MESH_OK)
		return res;
	mg_fw_rule_format(&rule, text);
	snprintf(req, sizeof(req), "firewall\nop=add\nrule=%s\n\n", text);
	ret = mg_mesh_control(dir, req, &reply, &payload, msg, msglen);
	free(reply);
	return ret == -ENOENT ? fw_add_offline(dir, &rule, msg, msglen) : (enum mg_mesh_result)ret;
}

static enum mg_mesh_result fw_del_offline(const char *dir, unsigned n, char *msg, size_t msglen)
{
	struct mg_firewall fw;
	struct mg_state st;
	enum mg_mesh_result r = fw_open(&st, dir, true, &fw, msg, msglen);

	if (r != MG_MESH_OK)
		return r;
	if (mg_fw_del(&fw.rules, n) < 0) {
		mg_state_close(&st);
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "no rule %u (see firewall list)", n);
	}
	return fw_save_close(&st, &fw.rules, "rule deleted", msg, msglen);
}

enum mg_mesh_result mg_mesh_firewall_del(const char *dir, unsigned n, char *msg, size_t msglen)
{
	char req[64], *reply = NULL, *payload;
	int ret;

	if (!dir || !mg_mesh_present(dir))
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s holds no mesh", dir ? dir : "");
	if (n == 0)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "rules are numbered from 1");
	snprintf(req, sizeof(req), "firewall\nop=del\nn=%u\n\n", n);
	ret = mg_mesh_control(dir, req, &reply, &payload, msg, msglen);
	free(reply);
	return ret == -ENOENT ? fw_del_offline(dir, n, msg, msglen) : (enum mg_mesh_result)ret;
}

static enum mg_mesh_result fw_list_offline(const char *dir, bool json, char **out, char *msg,
					   size_t msglen)
{
	struct mg_firewall fw;
	struct mg_state st;
	enum mg_mesh_result r = fw_open(&st, dir, false, &fw, msg, msglen);

	if (r != MG_MESH_OK)
		return r;
	mg_state_close(&st);
	*out = malloc(MG_FW_LIST_MAX);
	if (*out)
		mg_fw_list(&fw, json, false, *out);
	return *out ? MG_MESH_OK : mg_mesh_say(msg, msglen, MG_MESH_STATE, "out of memory");
}

enum mg_mesh_result mg_mesh_firewall_list(const char *dir, bool json, char **out, char *msg,
					  size_t msglen)
{
	char *reply = NULL, *payload;
	int ret;

	*out = NULL;
	if (!dir || !mg_mesh_present(dir))
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s holds no mesh", dir ? dir : "");
	ret = mg_mesh_control(dir, json ? "firewall\nop=list\njson=1\n\n" : "firewall\nop=list\n\n",
			      &reply, &payload, msg, msglen);
	if (ret == -ENOENT)
		return fw_list_offline(dir, json, out, msg, msglen);
	if (ret == MG_MESH_OK && !(*out = strdup(payload)))
		ret = mg_mesh_say(msg, msglen, MG_MESH_STATE, "out of memory");
	free(reply);
	return (enum mg_mesh_result)ret;
}
