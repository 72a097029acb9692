/* The split (mg_sandbox_enter) and the two processes' set-up; the policy
 * is privsep_policy.c's (see privsep.h). */
#include "node/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "meshguard.h"
#include "mesh/state.h"
#include "node/node.h"
#include "node/wgquick.h"
#include "tunnel/broker.h"

#define DEFAULT_STATE "/var/lib/meshguard"

struct split {
	uid_t uid;
	gid_t gid;
	bool as_root; /* the worker changes uid; else it only drops capabilities */
	const char *state_dir;
	struct mg_privsep ps;
};

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- what the privileged side is told at the start ---- */

static int add_prefixes(struct mg_prefix *out, size_t *n, size_t cap, const char *const *list,
			size_t len, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		if (*n == cap)
			return fail(err, errlen, -E2BIG, "too many prefixes (at most %zu)", cap);
		if (!list[i] || mg_prefix_parse(&out[*n], list[i], true) < 0)
			return fail(err, errlen, -EINVAL, "\"%s\" is not a prefix",
				    list[i] ? list[i] : "(null)");
		(*n)++;
	}
	return 0;
}

static int allow(struct mg_privsep *ps, const struct mg_prefix *p, char *err, size_t errlen)
{
	struct mg_prefix *grown;

	if ((ps->n_allowed & (ps->n_allowed - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		grown = realloc(ps->allowed,
				(ps->n_allowed ? 2 * ps->n_allowed : 4) * sizeof(*grown));
		if (!grown)
			return fail(err, errlen, -ENOMEM, "out of memory");
		ps->allowed = grown;
	}
	ps->allowed[ps->n_allowed++] = *p;
	return 0;
}

/* An Address (10.0.0.1/24) allows its on-link prefix; AllowedIPs their
 * routes (the default route included, when a peer has it). */
static int allow_wgquick(struct mg_privsep *ps, const struct mg_config *c, char *err, size_t errlen)
{
	int ret = 0;

	for (size_t i = 0; i < c->addresses_len && ret == 0; i++) {
		char text[MG_PREFIX_STRLEN];
		struct mg_prefix p;

		mg_prefix_format(text, sizeof(text), &c->addresses[i]);
		if (mg_prefix_parse(&p, text, true) < 0)
			return fail(err, errlen, -EINVAL, "bad address %s", text);
		ret = allow(ps, &p, err, errlen);
	}
	for (size_t i = 0; i < c->peers_len && ret == 0; i++)
		for (size_t k = 0; k < c->peers[i].allowed_ips_len && ret == 0; k++)
			ret = allow(ps, &c->peers[i].allowed_ips[k], err, errlen);
	return ret;
}

static int load_mesh(struct mg_privsep *ps, const char *dir, char *err, size_t errlen)
{
	struct mg_mesh_config mc;
	char msg[256] = "";
	int ret = mg_state_config_read(dir, &mc, msg, sizeof(msg));

	if (ret < 0)
		return fail(err, errlen, ret, "%s", msg[0] ? msg : strerror(-ret));
	ret = allow(ps, &mc.prefix4, err, errlen);
	if (ret == 0)
		ret = allow(ps, &mc.prefix6, err, errlen);
	if (ret < 0)
		return ret;
	memcpy(ps->authority, mc.authority, sizeof(ps->authority));
	memcpy(ps->mesh_id, mc.mesh_id, sizeof(ps->mesh_id));
	ps->mesh = true;
	return 0;
}

static int setup_policy(struct split *sp, const struct mg_sandbox_config *c, char *err,
			size_t errlen)
{
	struct mg_privsep *ps = &sp->ps;
	int ret;

	memset(ps, 0, sizeof(*ps));
	ps->now_ms = monotonic_ms;
	ps->table = c->wgquick && mg_wgquick_fwmark(c->wgquick) ? mg_wgquick_fwmark(c->wgquick)
								: MG_NODE_DEFAULT_TABLE;
	if (!c->ifname || !c->ifname[0] || strlen(c->ifname) >= IFNAMSIZ)
		return fail(err, errlen, -EINVAL, "no interface name");
	snprintf(ps->ifname, sizeof(ps->ifname), "%s", c->ifname);
	ret = c->wgquick ? allow_wgquick(ps, &c->wgquick->config, err, errlen) : 0;
	if (ret == 0)
		ret = add_prefixes(ps->advertise, &ps->n_advertise, MG_BROKER_PREFIXES_MAX,
				   c->advertise, c->advertise_len, err, errlen);
	if (ret == 0 && c->mesh)
		ret = load_mesh(ps, sp->state_dir, err, errlen);
	return ret;
}

/* ---- the state directory ---- */

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* Every directory above dir must let the user through (search permission). */
static int check_reachable(const struct split *sp, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (!realpath(dir, path))
		return fail(err, errlen, -errno, "cannot resolve %s: %s", dir, strerror(errno));
	for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
		struct stat st;

		*slash = '\0';
		if (stat(path[0] ? path : "/", &st) < 0)
			return fail(err, errlen, -errno, "cannot stat %s", path);
		if (!(st.st_mode & S_IXOTH) && !(st.st_uid == sp->uid && (st.st_mode & S_IXUSR)) &&
		    !(st.st_gid == sp->gid && (st.st_mode & S_IXGRP)))
			return fail(err, errlen, -EACCES,
				    "the sandboxed process (user %u) cannot reach %s: %s is mode "
				    "%04o (chmod o+x it, or move the state directory)",
				    (unsigned)sp->uid, dir, path[0] ? path : "/",
				    (unsigned)(st.st_mode & 07777));
	}
	return 0;
}

/* The state directory becomes the user's: the sandboxed process writes it. */
static int hand_over_state(const struct split *sp, bool must_exist, char *err, size_t errlen)
{
	const char *dir = sp->state_dir;
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT || must_exist)
			return fail(err, errlen, -errno, "cannot use %s: %s", dir, strerror(errno));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return fail(err, errlen, -errno, "cannot create %s: %s", dir,
				    strerror(errno));
		if (lstat(dir, &st) < 0)
			return fail(err, errlen, -errno, "cannot use %s", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, -ENOTDIR, "%s is not a directory", dir);
	if (sp->as_root) {
		chown_uid = sp->uid;
		chown_gid = sp->gid;
		if (nftw(dir, chown_one, 16, FTW_PHYS) != 0)
			return fail(err, errlen, -errno, "cannot hand %s to user %u: %s", dir,
				    (unsigned)sp->uid, strerror(errno));
	} else if (st.st_uid != sp->uid) {
		return fail(err, errlen, -EACCES,
			    "%s belongs to user %u, not to us (%u): without root it cannot be "
			    "handed over",
			    dir, (unsigned)st.st_uid, (unsigned)sp->uid);
	}
	return check_reachable(sp, dir, err, errlen);
}

/* ---- the worker: drop everything ---- */

static int drop_bounding_set(void)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

static int clear_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

static int change_user(const struct split *sp)
{
	if (!sp->as_root)
		return 0;
	if (setgroups(1, &sp->gid) < 0 || setresgid(sp->gid, sp->gid, sp->gid) < 0 ||
	    setresuid(sp->uid, sp->uid, sp->uid) < 0)
		return -errno;
	/* There is no way back. */
	if (setuid(0) == 0)
		return -EPERM;
	return 0;
}

/* The syscalls the node makes (libuv, libsodium, libgcrypt, glibc,
 * miniupnpc, libnatpmp included); everything else fails with EPERM, and the
 * calls that would undo the sandbox kill the process. */
static const char *const allowed_syscalls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"close",
	"close_range",
	"fstat",
	"newfstatat",
	"statx",
	"stat",
	"lstat",
	"lseek",
	"openat",
	"open",
	"mkdir",
	"mkdirat",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"fsync",
	"fdatasync",
	"ftruncate",
	"fchmod",
	"flock",
	"fcntl",
	"getdents64",
	"readlink",
	"readlinkat",
	"access",
	"faccessat",
	"faccessat2",
	"dup",
	"dup2",
	"dup3",
	"pipe2",
	"eventfd2",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"timerfd_create",
	"timerfd_settime",
	"inotify_init1",
	"inotify_add_watch",
	"inotify_rm_watch",
	"socketpair",
	"bind",
	"connect",
	"listen",
	"accept",
	"accept4",
	"getsockname",
	"getpeername",
	"getsockopt",
	"setsockopt",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"brk",
	"madvise",
	"futex",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"clone",
	"clone3",
	"exit",
	"exit_group",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"tgkill",
	"gettid",
	"getpid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getrandom",
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"nanosleep",
	"clock_nanosleep",
	"sched_yield",
	"sched_getaffinity",
	"uname",
	"sysinfo",
	"getrlimit",
	"prlimit64",
	"umask",
	"ioctl",
	"getcwd",
	"statfs",
	"fstatfs",
	"arch_prctl",
	"set_tid_address",
	"restart_syscall",
	"membarrier",
	"prctl",
	"fadvise64",
	"utimensat",
	"times",
	"getrusage",
	"getpriority",
};

static const char *const killing_syscalls[] = {
	"execve",
	"execveat",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"setuid",
	"setgid",
	"setreuid",
	"setregid",
	"setresuid",
	"setresgid",
	"setgroups",
	"capset",
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"bpf",
	"perf_event_open",
	"keyctl",
	"add_key",
	"request_key",
	"unshare",
	"setns",
	"userfaultfd",
	"personality",
};

static int add_rules(scmp_filter_ctx f, const char *const *names, size_t n, uint32_t action)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (seccomp_rule_add(f, action, nr, 0) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Sockets: only the families the node uses; netlink only for routes. */
static int add_socket_rules(scmp_filter_ctx f)
{
	static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	int ret = 0;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && ret == 0; i++)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
	if (ret == 0)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				       SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
				       SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
	return ret < 0 ? -EINVAL : 0;
}

static int enter_seccomp(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int ret;

	if (!f)
		return -ENOMEM;
	ret = add_rules(f, allowed_syscalls, sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]),
			SCMP_ACT_ALLOW);
	if (ret == 0)
		ret = add_rules(f, killing_syscalls,
				sizeof(killing_syscalls) / sizeof(killing_syscalls[0]),
				SCMP_ACT_KILL_PROCESS);
	if (ret == 0)
		ret = add_socket_rules(f);
	if (ret == 0)
		ret = seccomp_load(f);
	seccomp_release(f);
	return ret;
}

static void worker_die(const char *what, int ret)
{
	fprintf(stderr, "meshguard: cannot enter the sandbox: %s: %s\n", what, strerror(-ret));
	_exit(4);
}

static void become_worker(const struct split *sp, int sock, pid_t monitor)
{
	int ret = sp->as_root ? drop_bounding_set() : 0;

	if (ret < 0)
		worker_die("dropping the capability bounding set", ret);
	ret = change_user(sp);
	if (ret < 0)
		worker_die("changing user", ret);
	ret = clear_capabilities();
	if (ret < 0)
		worker_die("dropping capabilities", ret);
	/* The parent-death signal is reset by a change of credentials. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != monitor)
		worker_die("following the privileged process", -ESRCH);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		worker_die("no_new_privs", -errno);
	/* No core file, no ptrace: the process holds the keys. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		worker_die("not dumpable", -errno);
	ret = enter_seccomp();
	if (ret < 0)
		worker_die("seccomp", ret);
	mg_broker_attach(sock);
}

/* ---- the monitor ---- */

static volatile sig_atomic_t worker_pid;

static void forward_signal(int sig)
{
	if (worker_pid > 0)
		kill((pid_t)worker_pid, sig);
}

static void forward_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void run_monitor(struct split *sp, int sock, pid_t child)
{
	int status = 0;

	worker_pid = child;
	forward_signals();
	mg_privsep_serve(&sp->ps, sock);
	close(sock);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	mg_privsep_cleanup(&sp->ps);
	if (WIFSIGNALED(status))
		exit(128 + WTERMSIG(status));
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
}

/* ---- the split ---- */

static int resolve_user(struct split *sp, const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	sp->as_root = geteuid() == 0;
	if (!sp->as_root) {
		sp->uid = getuid();
		sp->gid = getgid();
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return fail(err, errlen, -ENOENT,
			    "no user \"%s\" to run the network side as: create it (scripts/deps "
			    "does; or: useradd --system --no-create-home --shell /usr/sbin/nologin "
			    "%s), or run with --no-sandbox",
			    user, user);
	if (pw->pw_uid == 0)
		return fail(err, errlen, -EPERM, "user \"%s\" is root: that is no sandbox", user);
	sp->uid = pw->pw_uid;
	sp->gid = pw->pw_gid;
	return 0;
}

int mg_sandbox_enter(const struct mg_sandbox_config *c, char *err, size_t errlen)
{
	static struct split sp;
	struct mg_sandbox_config cfg = MG_SANDBOX_CONFIG_INIT;
	int pair[2], ret;
	pid_t child, monitor;

	if (!c || c->size < offsetof(struct mg_sandbox_config, forget))
		return fail(err, errlen, -EINVAL, "bad sandbox configuration");
	memcpy(&cfg, c, c->size < sizeof(cfg) ? c->size : sizeof(cfg));
	memset(&sp, 0, sizeof(sp));
	sp.state_dir = cfg.state_dir ? cfg.state_dir : DEFAULT_STATE;
	ret = resolve_user(&sp, cfg.user ? cfg.user : MG_SANDBOX_USER, err, errlen);
	if (ret == 0)
		ret = setup_policy(&sp, &cfg, err, errlen);
	if (ret == 0)
		ret = hand_over_state(&sp, cfg.mesh, err, errlen);
	sp.ps.chown_uapi = sp.as_root;
	sp.ps.uapi_uid = sp.uid;
	sp.ps.uapi_gid = sp.gid;
	if (ret < 0)
		return ret;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
	fflush(NULL);
	monitor = getpid();
	child = fork();
	if (child < 0) {
		ret = -errno;
		close(pair[0]);
		close(pair[1]);
		return fail(err, errlen, ret, "fork: %s", strerror(-ret));
	}
	if (child == 0) {
		close(pair[0]);
		become_worker(&sp, pair[1], monitor);
		return 0;
	}
	close(pair[1]);
	if (cfg.forget)
		cfg.forget(cfg.ctx);
	run_monitor(&sp, pair[0], child);
	return 0; /* not reached */
}
