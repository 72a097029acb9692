/* The privileged side's policy (node/privsep.h): requests outside what the
 * worker may ask for are refused before anything reaches the kernel, a
 * subnet route needs a certificate of the mesh that carries it, and the
 * channel answers a malformed message with an error instead of acting on
 * it. Only refusals and requests that cannot succeed (an interface index
 * that does not exist) are sent, so nothing of the host changes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "check.h"
#include "mesh_fixture.h"
#include "node/privsep.h"

#define NO_SUCH_IFINDEX 0x7ffffff0u

static uint64_t fake_ms;

static uint64_t fake_now(void)
{
	return fake_ms;
}

static struct mg_prefix allowed[2];

static void policy(struct mg_privsep *ps, const struct fixture *f)
{
	memset(ps, 0, sizeof(*ps));
	snprintf(ps->ifname, sizeof(ps->ifname), "mgtest0");
	ps->ifindex = NO_SUCH_IFINDEX;
	ps->tun_opened = true;
	ps->table = 51820;
	ps->now_ms = fake_now;
	ps->allowed = allowed;
	fx_prefix(&ps->allowed[0], AF_INET, "100.70.0.0/16");
	fx_prefix(&ps->allowed[1], AF_INET6, "fd12:3456:789a::/48");
	ps->n_allowed = 2;
	fx_prefix(&ps->advertise[0], AF_INET, "192.168.10.0/24");
	ps->n_advertise = 1;
	ps->mesh = true;
	memcpy(ps->authority, f->auth_pk, sizeof(ps->authority));
	memcpy(ps->mesh_id, f->mesh_id, sizeof(ps->mesh_id));
}

static int handle(struct mg_privsep *ps, const struct mg_broker_req *req, int fd_in)
{
	struct mg_broker_rep rep;
	int fd_out;

	mg_privsep_handle(ps, req, fd_in, &rep, &fd_out);
	CHECK_EQ(fd_out, -1);
	return rep.result;
}

static struct mg_broker_req *request(enum mg_broker_op op)
{
	static struct mg_broker_req req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.ifindex = NO_SUCH_IFINDEX;
	return &req;
}

static void test_inside(void)
{
	struct mg_prefix a, b;

	fx_prefix(&a, AF_INET, "100.70.3.4/32");
	fx_prefix(&b, AF_INET, "100.70.0.0/16");
	CHECK(mg_privsep_prefix_inside(&a, &b));
	CHECK(!mg_privsep_prefix_inside(&b, &a));
	fx_prefix(&a, AF_INET, "100.71.0.0/24");
	CHECK(!mg_privsep_prefix_inside(&a, &b));
	fx_prefix(&a, AF_INET, "100.70.0.0/15");
	CHECK(!mg_privsep_prefix_inside(&a, &b));
	fx_prefix(&b, AF_INET, "0.0.0.0/0");
	CHECK(mg_privsep_prefix_inside(&a, &b));
	fx_prefix(&b, AF_INET6, "::/0");
	CHECK(!mg_privsep_prefix_inside(&a, &b));
}

static void test_addresses(struct mg_privsep *ps)
{
	struct mg_broker_req *req = request(MG_BROKER_ADDR_ADD);

	fx_prefix(&req->prefix, AF_INET, "10.1.2.3/24");
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	fx_prefix(&req->prefix, AF_INET, "100.70.0.9/32");
	req->ifindex = 1; /* not ours: lo */
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->prefix.family = 99;
	req->ifindex = NO_SUCH_IFINDEX;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	/* Allowed: the kernel then refuses the made-up interface. */
	fx_prefix(&req->prefix, AF_INET, "100.70.0.9/32");
	CHECK(handle(ps, req, -1) != -EPERM);
}

static void test_links(struct mg_privsep *ps)
{
	struct mg_broker_req *req = request(MG_BROKER_LINK_MTU);

	req->ifindex = 1;
	req->value = 1400;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->ifindex = NO_SUCH_IFINDEX;
	req->value = 100;
	CHECK_EQ(handle(ps, req, -1), -EINVAL);
	req = request(MG_BROKER_LINK_DELETE);
	req->ifindex = 1;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
}

/* A proof: the member's certificate (signed by signer_sk) and, when given,
 * its issuer's, each after a 2-byte length. */
static void prove(struct mg_broker_req *req, const struct mg_cert *leaf,
		  const struct mg_cert *issuer)
{
	int n = mg_cert_encode(req->proof + 2, sizeof(req->proof) - 2, leaf);

	CHECK(n > 0);
	req->proof[0] = (uint8_t)(n >> 8);
	req->proof[1] = (uint8_t)n;
	req->proof_len = 2 + (uint32_t)n;
	if (!issuer)
		return;
	n = mg_cert_encode(req->proof + req->proof_len + 2, sizeof(req->proof) - req->proof_len - 2,
			   issuer);
	CHECK(n > 0);
	req->proof[req->proof_len] = (uint8_t)(n >> 8);
	req->proof[req->proof_len + 1] = (uint8_t)n;
	req->proof_len += 2 + (uint32_t)n;
}

static void member_now(struct mg_cert *c, const struct fixture *f, const uint8_t *sk)
{
	uint64_t now = (uint64_t)time(NULL);

	fx_member(c, f, "gw");
	c->not_before = now - 3600;
	c->not_after = now + 30 * 24 * 3600;
	CHECK_EQ(mg_cert_sign(c, sk), 0);
}

static void test_routes(struct mg_privsep *ps, const struct fixture *f)
{
	struct mg_broker_req *req = request(MG_BROKER_ROUTE_ADD);
	struct fixture other;
	struct mg_cert gw, forged, issuer = f->issuer;
	uint64_t now = (uint64_t)time(NULL);

	req->route.ifindex = NO_SUCH_IFINDEX;
	fx_prefix(&req->route.dst, AF_INET, "100.70.0.0/16");
	CHECK(handle(ps, req, -1) != -EPERM); /* the mesh's own prefix */
	fx_prefix(&req->route.dst, AF_INET, "192.168.10.0/24");
	CHECK_EQ(handle(ps, req, -1), -EPERM); /* outside, no proof */
	req->route.table = 254 + 1;
	fx_prefix(&req->route.dst, AF_INET, "100.70.0.0/16");
	CHECK_EQ(handle(ps, req, -1), -EPERM); /* another table */
	req->route.table = 0;
	req->route.ifindex = 1;
	CHECK_EQ(handle(ps, req, -1), -EPERM); /* another interface */
	req->route.ifindex = NO_SUCH_IFINDEX;

	/* A member certificate of the mesh carrying 192.168.10.0/24. */
	member_now(&gw, f, f->auth_sk);
	fx_prefix(&req->route.dst, AF_INET, "192.168.10.0/24");
	prove(req, &gw, NULL);
	CHECK(handle(ps, req, -1) != -EPERM);
	fx_prefix(&req->route.dst, AF_INET, "192.168.10.128/25");
	CHECK(handle(ps, req, -1) != -EPERM);
	fx_prefix(&req->route.dst, AF_INET, "192.168.11.0/24");
	CHECK_EQ(handle(ps, req, -1), -EPERM); /* not a route of the certificate */

	/* Through an issuer the authority certified. */
	issuer.not_before = now - 3600;
	issuer.not_after = now + 30 * 24 * 3600;
	CHECK_EQ(mg_cert_sign(&issuer, f->auth_sk), 0);
	member_now(&gw, f, f->issuer_sk);
	fx_prefix(&req->route.dst, AF_INET, "192.168.10.0/24");
	prove(req, &gw, &issuer);
	CHECK(handle(ps, req, -1) != -EPERM);
	prove(req, &gw, NULL); /* the issuer left out */
	CHECK_EQ(handle(ps, req, -1), -EPERM);

	/* Signed by another mesh's authority. */
	fx_init(&other);
	memcpy(other.mesh_id, f->mesh_id, sizeof(other.mesh_id));
	member_now(&forged, &other, other.auth_sk);
	prove(req, &forged, NULL);
	CHECK_EQ(handle(ps, req, -1), -EPERM);

	/* Garbage and truncated proofs. */
	prove(req, &gw, &issuer);
	req->proof_len -= 1;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->proof_len = sizeof(req->proof) + 1;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->proof_len = 2;
	req->proof[0] = 0xff;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
}

static void test_rules_sysctl_masquerade(struct mg_privsep *ps)
{
	struct mg_broker_req *req = request(MG_BROKER_RULE_ADD);

	req->rule.family = AF_INET;
	req->rule.kind = MG_NETLINK_RULE_NOT_FWMARK;
	req->rule.table = 254; /* main: not ours */
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->rule.kind = 7;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req = request(MG_BROKER_SYSCTL);
	req->value = 42;
	CHECK_EQ(handle(ps, req, -1), -EINVAL);
	req = request(MG_BROKER_MASQUERADE);
	snprintf(req->name, sizeof(req->name), "eth0");
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	snprintf(req->name, sizeof(req->name), "mgtest0");
	req->n_prefixes = 1;
	fx_prefix(&req->prefixes[0], AF_INET, "10.0.0.0/8");
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req->n_prefixes = MG_BROKER_PREFIXES_MAX + 1;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	memset(req->name, 'x', sizeof(req->name)); /* no NUL */
	req->n_prefixes = 0;
	CHECK_EQ(handle(ps, req, -1), -EPERM);
}

static void test_descriptors(struct mg_privsep *ps)
{
	struct mg_broker_req *req = request(MG_BROKER_TUN_OPEN);
	int pipefd[2], tcp;

	snprintf(req->name, sizeof(req->name), "eth0");
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	snprintf(req->name, sizeof(req->name), "mgtest0");
	CHECK_EQ(handle(ps, req, -1), -EPERM); /* opened once already */
	req = request(MG_BROKER_UAPI_LISTEN);
	snprintf(req->name, sizeof(req->name), "../../etc");
	CHECK_EQ(handle(ps, req, -1), -EPERM);
	req = request(MG_BROKER_UDP_MARK);
	req->value = 1;
	CHECK_EQ(handle(ps, req, -1), -EBADF);
	CHECK_EQ(pipe(pipefd), 0);
	CHECK_EQ(handle(ps, req, pipefd[0]), -EBADF);
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(tcp >= 0);
	CHECK_EQ(handle(ps, req, tcp), -EPERM);
	close(tcp);
	close(pipefd[0]);
	close(pipefd[1]);
	req = request(MG_BROKER_UDP_SOCKET);
	req->family = AF_UNIX;
	CHECK_EQ(handle(ps, req, -1), -EINVAL);
	CHECK_EQ(handle(ps, request(0), -1), -EINVAL);
	CHECK_EQ(handle(ps, request(MG_BROKER_OP_END), -1), -EINVAL);
}

/* The channel: the monitor's loop in a child, a malformed message, a
 * refused request, then the end of the channel ends the loop. */
static void test_channel(struct mg_privsep *ps)
{
	struct mg_broker_req *req = request(MG_BROKER_ADDR_ADD);
	struct mg_broker_rep rep;
	int sv[2], fd, status;
	pid_t pid;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		mg_privsep_serve(ps, sv[1]);
		_exit(0);
	}
	close(sv[1]);
	CHECK_EQ(mg_broker_send(sv[0], "short", 5, -1), 0);
	CHECK_EQ(mg_broker_recv(sv[0], &rep, sizeof(rep), &fd), 0);
	CHECK_EQ(rep.result, -EINVAL);
	CHECK_EQ(fd, -1);
	fx_prefix(&req->prefix, AF_INET, "198.51.100.1/32");
	CHECK_EQ(mg_broker_send(sv[0], req, sizeof(*req), -1), 0);
	CHECK_EQ(mg_broker_recv(sv[0], &rep, sizeof(rep), &fd), 0);
	CHECK_EQ(rep.result, -EPERM);
	close(sv[0]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	static struct fixture f;
	static struct mg_privsep ps;

	fx_init(&f);
	policy(&ps, &f);
	test_inside();
	test_addresses(&ps);
	test_links(&ps);
	test_routes(&ps, &f);
	test_rules_sysctl_masquerade(&ps);
	test_descriptors(&ps);
	test_channel(&ps);
	mg_test_pass("privsep");
	return 0;
}
