/* The joiner's side of the join exchange, run to its end (see joiner.h). */
#include "mesh/joiner.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mesh/admin.h"
#include "mesh/bootstrap.h"
#include "mesh/directory.h"
#include "mesh/join.h"
#include "mesh/state.h"
#include "util/ipaddr.h"
#include "util/macros.h"

#define TARGETS_MAX 16

struct target {
	struct sockaddr_storage sa;
	socklen_t len;
};

struct joiner {
	const struct mg_joiner_params *p;
	struct mg_token token;
	struct mg_join_client client;
	uint8_t wg_priv[MG_KEY_LEN], wg_pub[MG_KEY_LEN];
	uint8_t member_sk[MG_ED25519_SECRET_LEN], member_pk[MG_ED25519_PUB_LEN];
	struct target targets[TARGETS_MAX];
	size_t n_targets;
	char tried[512];
	int fd4, fd6;
	int inviter;		/* index into targets once a challenge verified, else -1 */
	uint64_t request_since; /* when the request first went out */
	char name[MG_MESH_NAME_MAX + 1];
	int last_error;
	struct mg_state state;
	bool state_open;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the token ---- */

static enum mg_mesh_result read_token(struct joiner *j, char *msg, size_t msglen)
{
	const char *s = j->p->token;
	size_t n;
	int ret;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	ret = mg_token_decode(&j->token, s, n);
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED, "the token is refused: %s",
				   mg_mesh_strerror(ret));
	/* An issuer's token is checked when its certificate arrives. */
	ret = mg_token_signed_by_authority(&j->token)
		      ? mg_token_verify(&j->token, NULL, j->p->now, NULL)
		      : 0;
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED, "the token is refused: %s",
				   mg_mesh_strerror(ret));
	return MG_MESH_OK;
}

static void add_target(struct joiner *j, const struct sockaddr *sa, socklen_t len)
{
	if (j->n_targets == TARGETS_MAX || len > sizeof(j->targets[0].sa))
		return;
	memcpy(&j->targets[j->n_targets].sa, sa, len);
	j->targets[j->n_targets++].len = len;
}

static void note_tried(struct joiner *j, const char *what, uint16_t port)
{
	size_t n = strlen(j->tried);

	snprintf(j->tried + n, sizeof(j->tried) - n, "%s%s%s%s:%u", n ? ", " : "",
		 strchr(what, ':') ? "[" : "", what, strchr(what, ':') ? "]" : "", port);
}

static void resolve_host(struct joiner *j, const struct mg_token_endpoint *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	char port[8];

	snprintf(port, sizeof(port), "%u", e->port);
	note_tried(j, e->host, e->port);
	if (getaddrinfo(e->host, port, &hints, &res) != 0)
		return;
	for (struct addrinfo *r = res; r; r = r->ai_next)
		add_target(j, r->ai_addr, r->ai_addrlen);
	freeaddrinfo(res);
}

static void resolve_targets(struct joiner *j)
{
	for (unsigned i = 0; i < j->token.n_endpoints; i++) {
		const struct mg_token_endpoint *e = &j->token.endpoints[i];
		struct sockaddr_storage ss = { 0 };
		char text[INET6_ADDRSTRLEN];

		if (e->family == 0) {
			resolve_host(j, e);
			continue;
		}
		if (e->family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			in->sin_family = AF_INET;
			memcpy(&in->sin_addr, e->addr, 4);
			in->sin_port = htons(e->port);
			add_target(j, (struct sockaddr *)in, sizeof(*in));
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			in6->sin6_family = AF_INET6;
			memcpy(&in6->sin6_addr, e->addr, 16);
			in6->sin6_port = htons(e->port);
			add_target(j, (struct sockaddr *)in6, sizeof(*in6));
		}
		inet_ntop(e->family, e->addr, text, sizeof(text));
		note_tried(j, text, e->port);
	}
}

/* ---- the exchange ---- */

static int open_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

static void send_to(struct joiner *j, const struct target *t, const uint8_t *buf, size_t len)
{
	int fd = t->sa.ss_family == AF_INET ? j->fd4 : j->fd6;

	if (fd >= 0)
		(void)sendto(fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&t->sa, t->len);
}

static void send_round(struct joiner *j)
{
	uint8_t buf[MG_CTL_MAX_LEN];
	size_t len;

	if (j->inviter >= 0) {
		len = mg_join_client_request(&j->client, buf);
		if (len)
			send_to(j, &j->targets[j->inviter], buf, len);
		return;
	}
	len = mg_join_client_hello(&j->client, buf);
	for (size_t i = 0; i < j->n_targets; i++)
		send_to(j, &j->targets[i], buf, len);
}

static int target_of(const struct joiner *j, const struct sockaddr_storage *from, socklen_t len)
{
	for (size_t i = 0; i < j->n_targets; i++)
		if (j->targets[i].len == len && !memcmp(&j->targets[i].sa, from, len))
			return (int)i;
	return -1;
}

/* One datagram: 1 done, 0 go on, -ECONNREFUSED refused (status in client). */
static int receive(struct joiner *j, int fd)
{
	uint8_t buf[MG_CTL_MAX_LEN + 1], out[MG_CTL_MAX_LEN];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	size_t outlen = 0;
	int t, ret;

	if (n <= 0)
		return 0;
	t = target_of(j, &from, fromlen);
	if (t < 0 || (j->inviter >= 0 && t != j->inviter))
		return 0; /* only the inviter's endpoints may answer */
	ret = mg_join_client_input(&j->client, buf, (size_t)n, j->p->now, out, &outlen);
	if (ret == MG_JOIN_DONE || ret == -ECONNREFUSED)
		return ret;
	if (ret == 0 && outlen) {
		j->inviter = t;
		j->request_since = mono_ms();
		send_to(j, &j->targets[t], out, outlen);
	} else if (ret < 0 && ret != -ENOMSG) {
		j->last_error = ret;
	}
	return 0;
}

static int exchange(struct joiner *j)
{
	uint32_t timeout = j->p->timeout_ms ? j->p->timeout_ms : MG_JOINER_TIMEOUT_MS;
	uint64_t start = mono_ms(), next = 0;

	for (;;) {
		struct pollfd fds[2] = { { .fd = j->fd4, .events = POLLIN },
					 { .fd = j->fd6, .events = POLLIN } };
		uint64_t now = mono_ms();
		int ret;

		/* Only answers that fail to verify, for a while: a tampered
		 * token (signed by an issuer, checkable only with the answer),
		 * or the wrong inviter. Waiting longer would not help. */
		if (now - start >= timeout || (j->last_error && now - start >= MG_JOINER_BAD_MS))
			return -ETIMEDOUT;
		/* An inviter that restarted has forgotten our session and will
		 * never answer the request: start over with a new hello. */
		if (j->inviter >= 0 && now - j->request_since >= MG_JOINER_REQUEST_MS) {
			mg_join_client_wipe(&j->client);
			if (mg_join_client_init(&j->client, &j->token, j->wg_pub, j->member_sk,
						j->name) < 0)
				return -EINVAL;
			j->inviter = -1;
			next = now;
		}
		if (now >= next) {
			send_round(j);
			next = now + MG_JOINER_RETRY_MS;
		}
		if (poll(fds, 2, (int)(next - now)) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			ret = receive(j, fds[i].fd);
			if (ret)
				return ret;
		}
	}
}

/* ---- writing the membership ---- */

static const char *const written[] = { MG_STATE_MESH, MG_STATE_DIRECTORY, MG_STATE_MEMBER_C,
				       MG_STATE_MEMBER, MG_STATE_WIREGUARD };

static void unwrite(struct joiner *j)
{
	for (size_t i = 0; i < ARRAY_SIZE(written); i++)
		(void)mg_state_remove(&j->state, written[i], NULL, 0);
}

/* Loads the payload's items into a directory (issuers first, as the order
 * of application wants) and finds our certificate there. */
static int load_items(struct joiner *j, struct mg_directory *d, const struct mg_bootstrap *bs,
		      struct mg_cert *own)
{
	const struct mg_dir_member *m;
	int ret = 0;

	for (int rank = 0; rank <= 3; rank++)
		for (unsigned i = 0; i < bs->n_items; i++) {
			uint8_t kind = bs->items[i][0];
			int r = kind == MG_DIR_CERT
					? (bs->item_len[i] > 2 &&
							   bs->items[i][2] == MG_CERT_ROLE_ISSUER
						   ? 0
						   : 1)
				: kind == MG_DIR_ANNOUNCE ? 3
							  : 2;

			if (r != rank)
				continue;
			ret = mg_directory_add(d, bs->items[i], bs->item_len[i], j->p->now, NULL);
			if (ret < 0 && i == 0)
				return ret; /* our own certificate must verify */
		}
	m = mg_directory_find(d, j->member_pk);
	if (!m || memcmp(m->cert.wg_key, j->wg_pub, MG_KEY_LEN))
		return -MG_MESH_ESIGNATURE;
	*own = m->cert;
	return 0;
}

static int write_membership(struct joiner *j, const struct mg_bootstrap *bs, char *err,
			    size_t errlen)
{
	struct mg_mesh_config c = { 0 };
	struct mg_directory d;
	struct mg_cert own;
	uint8_t *blob = NULL;
	size_t len;
	int ret = mg_directory_init(&d, j->token.mesh_id, j->token.authority, NULL, NULL);

	if (ret == 0)
		ret = load_items(j, &d, bs, &own);
	if (ret < 0) {
		snprintf(err, errlen, "the inviter's answer does not verify: %s",
			 mg_mesh_strerror(ret));
		mg_directory_free(&d);
		return ret;
	}
	len = mg_directory_encoded_len(&d);
	blob = malloc(len);
	ret = blob ? mg_directory_encode(&d, blob, len) : -ENOMEM;
	mg_directory_free(&d);
	memcpy(c.mesh_id, j->token.mesh_id, MG_MESH_ID_LEN);
	memcpy(c.mesh_name, bs->mesh_name, sizeof(c.mesh_name));
	memcpy(c.authority, j->token.authority, MG_ED25519_PUB_LEN);
	c.prefix4 = bs->prefix4;
	c.prefix6 = bs->prefix6;
	memcpy(c.name, own.name, sizeof(c.name));
	c.listen_port = j->p->listen_port ? j->p->listen_port : MG_MESH_LISTEN_PORT;
	if (ret >= 0)
		ret = mg_state_key_save(&j->state, MG_STATE_WIREGUARD, j->wg_priv, err, errlen);
	if (ret >= 0)
		ret = mg_state_key_save(&j->state, MG_STATE_MEMBER, j->member_sk, err, errlen);
	if (ret >= 0)
		ret = mg_state_cert_save(&j->state, MG_STATE_MEMBER_C, &own, err, errlen);
	if (ret >= 0)
		ret = mg_state_write(&j->state, MG_STATE_DIRECTORY, blob, len, err, errlen);
	if (ret >= 0)
		ret = mg_state_config_save(&j->state, &c, err, errlen);
	free(blob);
	if (ret < 0)
		unwrite(j);
	return ret < 0 ? ret : 0;
}

/* ---- the whole join ---- */

static enum mg_mesh_result open_state(struct joiner *j, char *msg, size_t msglen)
{
	char err[512] = "";
	int ret = mg_state_open(&j->state, j->p->dir, MG_STATE_CREATE | MG_STATE_LOCK, err,
				sizeof(err));

	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s", err[0] ? err : strerror(-ret));
	j->state_open = true;
	if (mg_state_exists(&j->state, MG_STATE_MESH) == 0)
		return mg_mesh_say(
			msg, msglen, MG_MESH_STATE,
			"%s already holds a mesh (leave it first, or use another --state)",
			j->p->dir);
	return MG_MESH_OK;
}

static enum mg_mesh_result start_client(struct joiner *j, char *msg, size_t msglen)
{
	char name[MG_MESH_NAME_MAX + 1] = "", err[512] = "";

	/* A pinned name wins; the inviter applies it when we ask for none. */
	if (!j->token.name[0] && mg_mesh_node_name(name, j->p->name, err, sizeof(err)) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "%s", err);
	mg_x25519_generate(j->wg_priv, j->wg_pub);
	mg_ed25519_generate(j->member_sk, j->member_pk);
	if (mg_join_client_init(&j->client, &j->token, j->wg_pub, j->member_sk, name) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_USAGE, "bad name \"%s\"", name);
	memcpy(j->name, name, sizeof(j->name));
	return MG_MESH_OK;
}

static enum mg_mesh_result finish(struct joiner *j, int ret, char *msg, size_t msglen)
{
	struct mg_bootstrap bs;
	char err[512] = "";

	if (ret == -ECONNREFUSED)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED, "the inviter refused: %s",
				   mg_join_status_str(j->client.status));
	if (ret == -ETIMEDOUT && j->last_error)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED,
				   "the inviter's answers were refused: %s (tried %s)",
				   mg_mesh_strerror(j->last_error), j->tried);
	if (ret == -ETIMEDOUT)
		return mg_mesh_say(
			msg, msglen, MG_MESH_UNREACHABLE,
			"cannot reach the inviter (is its `meshguard up` running?): no answer "
			"from %s",
			j->tried[0] ? j->tried : "any endpoint in the token");
	if (ret < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_UNREACHABLE, "%s", strerror(-ret));
	if (mg_bootstrap_decode(&bs, j->client.payload, j->client.payload_len) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_REFUSED,
				   "the inviter's answer is malformed");
	if (write_membership(j, &bs, err, sizeof(err)) < 0)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "%s", err);
	return mg_mesh_say(msg, msglen, MG_MESH_OK,
			   "joined mesh \"%s\"; run `meshguard up --state %s` to connect",
			   bs.mesh_name, j->p->dir);
}

enum mg_mesh_result mg_joiner_run(const struct mg_joiner_params *p, char *msg, size_t msglen)
{
	struct joiner *j = calloc(1, sizeof(*j));
	enum mg_mesh_result r;

	if (!j)
		return mg_mesh_say(msg, msglen, MG_MESH_STATE, "out of memory");
	j->p = p;
	j->fd4 = j->fd6 = -1;
	j->inviter = -1;
	r = read_token(j, msg, msglen);
	if (r == MG_MESH_OK)
		r = open_state(j, msg, msglen);
	if (r == MG_MESH_OK)
		r = start_client(j, msg, msglen);
	if (r == MG_MESH_OK) {
		resolve_targets(j);
		j->fd4 = open_socket(AF_INET);
		j->fd6 = open_socket(AF_INET6);
		r = finish(j, exchange(j), msg, msglen);
	}
	if (j->fd4 >= 0)
		close(j->fd4);
	if (j->fd6 >= 0)
		close(j->fd6);
	if (j->state_open)
		mg_state_close(&j->state);
	mg_join_client_wipe(&j->client);
	mg_token_wipe(&j->token);
	mg_wipe(j->wg_priv, sizeof(j->wg_priv));
	mg_wipe(j->member_sk, sizeof(j->member_sk));
	free(j);
	return r;
}
