/* The state directory: opening and locking, atomic files, key and
 * certificate files (see state.h for the layout and the rules). */
#include "mesh/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mesh/cert.h"
#include "util/json.h"

#define INVITES_PREFIX "invites/"

static bool component_valid(const char *s)
{
	size_t n = strnlen(s, NAME_MAX + 1);

	if (n == 0 || n > NAME_MAX - 8 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A file directly in DIR, or one under invites/. */
static bool name_valid(const char *name)
{
	if (strncmp(name, INVITES_PREFIX, strlen(INVITES_PREFIX)) == 0)
		return component_valid(name + strlen(INVITES_PREFIX));
	return component_valid(name);
}

static void path_of(char *out, size_t cap, const struct mg_state *st, const char *name)
{
	snprintf(out, cap, "%s/%s", st->dir, name);
}

static bool private_mode(mode_t mode)
{
	return (mode & 077) == 0;
}

static int check_dir(int fd, const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0) {
		int e = errno;
		mg_mesh_msg(err, errlen, "cannot stat '%s': %s", dir, strerror(e));
		return -e;
	}
	if (!private_mode(sb.st_mode)) {
		mg_mesh_msg(err, errlen,
			    "state directory '%s' is accessible by group or others (mode %04o); "
			    "expected "
			    "0700: chmod 700 '%s'",
			    dir, (unsigned)(sb.st_mode & 07777), dir);
		return -EACCES;
	}
	return 0;
}

static int open_dir(struct mg_state *st, unsigned flags, char *err, size_t errlen)
{
	if ((flags & MG_STATE_CREATE) && mkdir(st->dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		mg_mesh_msg(err, errlen, "cannot create state directory '%s': %s", st->dir,
			    strerror(e));
		return -e;
	}
	st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		int e = errno;
		if (e == ENOENT)
			mg_mesh_msg(err, errlen,
				    "no meshguard state in '%s' (run 'meshguard init' or "
				    "'meshguard join')",
				    st->dir);
		else
			mg_mesh_msg(err, errlen, "cannot open state directory '%s': %s", st->dir,
				    strerror(e));
		return -e;
	}
	return check_dir(st->dirfd, st->dir, err, errlen);
}

/* A link where a state file belongs is refused (O_NOFOLLOW): say so. */
static void open_failed(const char *path, int e, char *err, size_t errlen)
{
	if (e == ELOOP)
		mg_mesh_msg(err, errlen, "'%s' is a symbolic link: refused", path);
	else
		mg_mesh_msg(err, errlen, "cannot open '%s': %s", path, strerror(e));
}

static int take_lock(struct mg_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX + 8];

	path_of(path, sizeof(path), st, "lock");
	/* O_NONBLOCK: whatever was put in its place must not hang the open. */
	st->lockfd = openat(st->dirfd, "lock",
			    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (st->lockfd < 0) {
		int e = errno;
		open_failed(path, e, err, errlen);
		return -e;
	}
	struct stat sb;
	if (fstat(st->lockfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		mg_mesh_msg(err, errlen, "'%s' is not a regular file", path);
		close(st->lockfd);
		st->lockfd = -1;
		return -EINVAL;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK)
			mg_mesh_msg(
				err, errlen,
				"'%s' is in use by another meshguard process (a running daemon?)",
				st->dir);
		else
			mg_mesh_msg(err, errlen, "cannot lock '%s': %s", path, strerror(e));
		close(st->lockfd);
		st->lockfd = -1;
		return -e;
	}
	return 0;
}

int mg_state_open(struct mg_state *st, const char *dir, unsigned flags, char *err, size_t errlen)
{
	int ret;

	st->dirfd = -1;
	st->lockfd = -1;
	if (strlen(dir) == 0 || strlen(dir) >= sizeof(st->dir)) {
		mg_mesh_msg(err, errlen, "state directory '%s': bad path", dir);
		return -EINVAL;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	ret = open_dir(st, flags, err, errlen);
	if (ret == 0 && (flags & MG_STATE_LOCK))
		ret = take_lock(st, err, errlen);
	if (ret < 0)
		mg_state_close(st);
	return ret;
}

void mg_state_close(struct mg_state *st)
{
	/* Closing the only descriptor of the lock file releases the flock. */
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->lockfd = -1;
	st->dirfd = -1;
}

bool mg_state_locked(const struct mg_state *st)
{
	return st->lockfd >= 0;
}

static int bad_name(const char *name, char *err, size_t errlen)
{
	mg_mesh_msg(err, errlen, "bad state file name '%s'", name);
	return -EINVAL;
}

static int check_file(int fd, const char *path, size_t cap, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0) {
		int e = errno;
		mg_mesh_msg(err, errlen, "cannot stat '%s': %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(sb.st_mode)) {
		mg_mesh_msg(err, errlen, "'%s' is not a regular file", path);
		return -EINVAL;
	}
	if (!private_mode(sb.st_mode)) {
		mg_mesh_msg(err, errlen,
			    "'%s' is accessible by group or others (mode %04o); expected 0600: "
			    "chmod 600 "
			    "'%s'",
			    path, (unsigned)(sb.st_mode & 07777), path);
		return -EACCES;
	}
	if ((uint64_t)sb.st_size > cap) {
		mg_mesh_msg(err, errlen, "'%s' is too big (%lld bytes, at most %zu expected)", path,
			    (long long)sb.st_size, cap);
		return -EFBIG;
	}
	return 0;
}

/* Reads to end of file; a file that grew past cap since fstat is -EFBIG. */
static int read_all(int fd, const char *path, uint8_t *buf, size_t cap, size_t *len, char *err,
		    size_t errlen)
{
	uint8_t extra;
	ssize_t n;

	*len = 0;
	for (;;) {
		n = *len < cap ? read(fd, buf + *len, cap - *len) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			mg_mesh_msg(err, errlen, "cannot read '%s': %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			return 0;
		if (*len == cap) {
			mg_mesh_msg(err, errlen, "'%s' is too big (more than %zu bytes)", path,
				    cap);
			return -EFBIG;
		}
		*len += (size_t)n;
	}
}

int mg_state_read(struct mg_state *st, const char *name, uint8_t *buf, size_t cap, size_t *len,
		  char *err, size_t errlen)
{
	char path[PATH_MAX + NAME_MAX];
	int fd, ret;

	*len = 0;
	if (!name_valid(name))
		return bad_name(name, err, errlen);
	path_of(path, sizeof(path), st, name);
	/* O_NONBLOCK: a FIFO put in our place must not hang the open. */
	fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		open_failed(path, e, err, errlen);
		return -e;
	}
	ret = check_file(fd, path, cap, err, errlen);
	if (ret == 0)
		ret = read_all(fd, path, buf, cap, len, err, errlen);
	close(fd);
	if (ret < 0) {
		mg_wipe(buf, cap);
		*len = 0;
	}
	return ret;
}

int mg_state_exists(struct mg_state *st, const char *name)
{
	struct stat sb;

	if (!name_valid(name))
		return -EINVAL;
	return fstatat(st->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

/* The directory holding name (DIR or DIR/invites, made when create) as a
 * descriptor the caller closes, and the last component. */
static int parent_of(struct mg_state *st, const char *name, bool create, const char **base,
		     char *err, size_t errlen)
{
	size_t plen = strlen(INVITES_PREFIX);
	int fd;

	if (strncmp(name, INVITES_PREFIX, plen) != 0) {
		*base = name;
		fd = dup(st->dirfd);
	} else {
		*base = name + plen;
		if (create && mkdirat(st->dirfd, MG_STATE_INVITES, 0700) < 0 && errno != EEXIST)
			fd = -1;
		else
			fd = openat(st->dirfd, MG_STATE_INVITES,
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		int e = errno;
		mg_mesh_msg(err, errlen, "cannot open the directory of '%s/%s': %s", st->dir, name,
			    strerror(e));
		return -e;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* DIR/.base.tmp with the content, synced; then renamed over base. */
static int replace(int pfd, const char *base, const void *buf, size_t len)
{
	char tmp[NAME_MAX + 1];
	int fd, ret;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", base);
	/* A crash may have left one; we hold the lock, so nobody else's. */
	if (unlinkat(pfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && renameat(pfd, tmp, pfd, base) < 0)
		ret = -errno;
	if (ret < 0) {
		unlinkat(pfd, tmp, 0);
		return ret;
	}
	/* The rename is durable only once the directory is. */
	return fsync(pfd) < 0 ? -errno : 0;
}

static int need_lock(struct mg_state *st, const char *name, char *err, size_t errlen)
{
	if (mg_state_locked(st))
		return 0;
	mg_mesh_msg(err, errlen, "cannot write '%s/%s' without holding '%s/lock'", st->dir, name,
		    st->dir);
	return -ENOLCK;
}

int mg_state_write(struct mg_state *st, const char *name, const void *buf, size_t len, char *err,
		   size_t errlen)
{
	const char *base;
	int pfd, ret;

	if (!name_valid(name))
		return bad_name(name, err, errlen);
	ret = need_lock(st, name, err, errlen);
	if (ret < 0)
		return ret;
	pfd = parent_of(st, name, true, &base, err, errlen);
	if (pfd < 0)
		return pfd;
	ret = replace(pfd, base, buf, len);
	close(pfd);
	if (ret < 0)
		mg_mesh_msg(err, errlen, "cannot write '%s/%s': %s", st->dir, name, strerror(-ret));
	return ret;
}

int mg_state_remove(struct mg_state *st, const char *name, char *err, size_t errlen)
{
	const char *base;
	int pfd, ret = 0;

	if (!name_valid(name))
		return bad_name(name, err, errlen);
	ret = need_lock(st, name, err, errlen);
	if (ret < 0)
		return ret;
	pfd = parent_of(st, name, false, &base, err, errlen);
	if (pfd == -ENOENT)
		return 0;
	if (pfd < 0)
		return pfd;
	if (unlinkat(pfd, base, 0) < 0)
		ret = errno == ENOENT ? 0 : -errno;
	else if (fsync(pfd) < 0)
		ret = -errno;
	close(pfd);
	if (ret < 0)
		mg_mesh_msg(err, errlen, "cannot remove '%s/%s': %s", st->dir, name,
			    strerror(-ret));
	return ret;
}

/* Keys: 44 base64 characters and an optional newline. */
int mg_state_key_load(struct mg_state *st, const char *name, uint8_t key[MG_KEY_LEN], char *err,
		      size_t errlen)
{
	uint8_t buf[MG_KEY_BASE64_LEN + 2];
	char text[MG_KEY_BASE64_LEN + 1];
	size_t len;
	int ret;

	ret = mg_state_read(st, name, buf, sizeof(buf), &len, err, errlen);
	if (ret == -EFBIG)
		ret = -EINVAL;
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	if (len == MG_KEY_BASE64_LEN || (len == MG_KEY_BASE64_LEN + 1 && buf[len - 1] == '\n')) {
		memcpy(text, buf, MG_KEY_BASE64_LEN);
		text[MG_KEY_BASE64_LEN] = '\0';
		ret = mg_key_from_base64(key, text);
	}
	if (ret < 0)
		mg_mesh_msg(err, errlen,
			    "'%s/%s' is not a key (expected one line of base64, as wg genkey "
			    "prints)",
			    st->dir, name);
out:
	mg_wipe(buf, sizeof(buf));
	mg_wipe(text, sizeof(text));
	return ret;
}

int mg_state_key_save(struct mg_state *st, const char *name, const uint8_t key[MG_KEY_LEN],
		      char *err, size_t errlen)
{
	char text[MG_KEY_BASE64_LEN + 2];
	int ret;

	mg_key_to_base64(text, key);
	text[MG_KEY_BASE64_LEN] = '\n';
	ret = mg_state_write(st, name, text, MG_KEY_BASE64_LEN + 1, err, errlen);
	mg_wipe(text, sizeof(text));
	return ret;
}

int mg_state_ed25519_load(struct mg_state *st, const char *name, uint8_t sk[MG_ED25519_SECRET_LEN],
			  char *err, size_t errlen)
{
	uint8_t seed[MG_ED25519_SEED_LEN], pk[MG_ED25519_PUB_LEN];
	int ret;

	ret = mg_state_key_load(st, name, seed, err, errlen);
	if (ret == 0)
		mg_ed25519_from_seed(sk, pk, seed);
	mg_wipe(seed, sizeof(seed));
	return ret;
}

int mg_state_cert_load(struct mg_state *st, const char *name, struct mg_cert *c, char *err,
		       size_t errlen)
{
	uint8_t buf[MG_CERT_MAX_LEN];
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = mg_state_read(st, name, buf, sizeof(buf), &len, err, errlen);
	if (ret == -EFBIG)
		ret = -MG_MESH_EMALFORMED;
	else if (ret < 0)
		return ret;
	else
		ret = mg_cert_decode(c, buf, len);
	if (ret < 0)
		mg_mesh_msg(err, errlen, "'%s/%s': certificate %s", st->dir, name,
			    mg_mesh_strerror(ret));
	return ret;
}

int mg_state_cert_save(struct mg_state *st, const char *name, const struct mg_cert *c, char *err,
		       size_t errlen)
{
	uint8_t buf[MG_CERT_MAX_LEN];
	int n;

	n = mg_cert_encode(buf, sizeof(buf), c);
	if (n < 0) {
		mg_mesh_msg(err, errlen, "certificate for '%s/%s': %s", st->dir, name,
			    mg_mesh_strerror(n));
		return n;
	}
	return mg_state_write(st, name, buf, (size_t)n, err, errlen);
}

/* mesh.json */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-';
}

static int parse_host_endpoint(struct mg_token_endpoint *out, const char *s, size_t len)
{
	const char *colon = memrchr(s, ':', len);
	size_t hlen = colon ? (size_t)(colon - s) : 0;
	char port[8];
	unsigned long v;

	if (hlen == 0 || hlen > MG_TOKEN_HOST_MAX || len - hlen - 1 >= sizeof(port))
		return -EINVAL;
	for (size_t i = 0; i < hlen; i++)
		if (!host_char(s[i]))
			return -EINVAL;
	memcpy(port, colon + 1, len - hlen - 1);
	port[len - hlen - 1] = '\0';
	if (mg_decimal_parse(&v, port, 5, 65535) < 0 || v == 0)
		return -EINVAL;
	memcpy(out->host, s, hlen);
	out->host[hlen] = '\0';
	out->port = (uint16_t)v;
	return 0;
}

static int parse_numeric_endpoint(struct mg_token_endpoint *out, const char *s)
{
	struct mg_endpoint ep;

	if (mg_endpoint_parse(&ep, s) < 0)
		return -EINVAL;
	if (ep.sa.sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->addr, &ep.in4.sin_addr, 4);
		out->port = ntohs(ep.in4.sin_port);
	} else {
		/* A scope names an interface of the inviter, meaningless to a joiner. */
		if (ep.in6.sin6_scope_id != 0)
			return -EINVAL;
		out->family = AF_INET6;
		memcpy(out->addr, &ep.in6.sin6_addr, 16);
		out->port = ntohs(ep.in6.sin6_port);
	}
	return out->port == 0 ? -EINVAL : 0;
}

int mg_mesh_endpoint_parse(struct mg_token_endpoint *out, const char *s)
{
	struct mg_token_endpoint e;
	size_t len = strnlen(s, MG_MESH_CONFIG_ENDPOINT_MAX + 1);
	bool numeric = true;
	int ret;

	memset(&e, 0, sizeof(e));
	if (len == 0 || len > MG_MESH_CONFIG_ENDPOINT_MAX)
		return -EINVAL;
	/* Digits and dots only is meant as an address: "1.2.3.999:1" is a
	 * typo, not a host name. */
	for (size_t i = 0; i < len && s[i] != ':'; i++)
		numeric = numeric && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9'));
	numeric = numeric || s[0] == '[';
	ret = numeric ? parse_numeric_endpoint(&e, s) : parse_host_endpoint(&e, s, len);
	if (ret == 0 && out)
		*out = e;
	return ret;
}

static bool prefix_ok(const struct mg_prefix *p, int family, int min, int max)
{
	struct mg_prefix m = *p;

	mg_prefix_mask(&m);
	return p->family == family && p->cidr >= min && p->cidr <= max &&
	       memcmp(m.addr, p->addr, sizeof(m.addr)) == 0;
}

static bool config_valid(const struct mg_mesh_config *c)
{
	if (!mg_mesh_name_valid(c->mesh_name, MG_MESH_NAME_MAX) ||
	    !mg_mesh_name_valid(c->name, MG_MESH_NAME_MAX) || c->listen_port == 0 ||
	    !prefix_ok(&c->prefix4, AF_INET, 8, 30) || !prefix_ok(&c->prefix6, AF_INET6, 32, 64) ||
	    c->n_endpoints > MG_MESH_CONFIG_ENDPOINTS_MAX)
		return false;
	for (size_t i = 0; i < c->n_endpoints; i++)
		if (mg_mesh_endpoint_parse(NULL, c->endpoints[i]) < 0)
			return false;
	return true;
}

static void hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Lower-case only, so that each value has one spelling. */
static int unhex(uint8_t *out, const char *in, size_t len)
{
	if (strlen(in) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < 2 * len; i++) {
		char c = in[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

int mg_mesh_config_format(char *out, size_t cap, const struct mg_mesh_config *c)
{
	char id[2 * MG_MESH_ID_LEN + 1], auth[MG_KEY_BASE64_LEN + 1];
	char p4[MG_PREFIX_STRLEN], p6[MG_PREFIX_STRLEN];
	size_t n;
	int w;

	if (!config_valid(c))
		return -MG_MESH_EMALFORMED;
	hex(id, c->mesh_id, MG_MESH_ID_LEN);
	mg_key_to_base64(auth, c->authority);
	mg_prefix_format(p4, sizeof(p4), &c->prefix4);
	mg_prefix_format(p6, sizeof(p6), &c->prefix6);
	/* Every string is of characters JSON needs no escape for. */
	w = snprintf(out, cap,
		     "{\n\t\"version\": %d,\n\t\"mesh_id\": \"%s\",\n\t\"mesh_name\": \"%s\",\n"
		     "\t\"authority\": \"%s\",\n\t\"prefix4\": \"%s\",\n\t\"prefix6\": \"%s\",\n"
		     "\t\"name\": \"%s\",\n\t\"listen_port\": %u,\n\t\"endpoints\": [",
		     MG_MESH_CONFIG_VERSION, id, c->mesh_name, auth, p4, p6, c->name,
		     (unsigned)c->listen_port);
	for (size_t i = 0; w >= 0 && (size_t)w < cap && i < c->n_endpoints; i++) {
		n = (size_t)w;
		w = snprintf(out + n, cap - n, "%s\"%s\"", i ? ", " : "", c->endpoints[i]);
		w = w < 0 ? w : w + (int)n;
	}
	if (w >= 0 && (size_t)w < cap) {
		n = (size_t)w;
		w = snprintf(out + n, cap - n, "]\n}\n");
		w = w < 0 ? w : w + (int)n;
	}
	if (w < 0 || (size_t)w >= cap)
		return -MG_MESH_ETOOBIG;
	return w;
}

enum config_member {
	CM_VERSION,
	CM_MESH_ID,
	CM_MESH_NAME,
	CM_AUTHORITY,
	CM_PREFIX4,
	CM_PREFIX6,
	CM_NAME,
	CM_LISTEN_PORT,
	CM_ENDPOINTS,
	CM_COUNT,
};

static const char *const config_members[CM_COUNT] = {
	"version", "mesh_id", "mesh_name",   "authority", "prefix4",
	"prefix6", "name",    "listen_port", "endpoints",
};

static int member_index(const char *key)
{
	for (int i = 0; i < CM_COUNT; i++)
		if (key && strcmp(key, config_members[i]) == 0)
			return i;
	return -1;
}

/* A JSON number that is an integer in [min, max]. */
static bool json_uint(const cJSON *v, double min, double max, unsigned long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= min && d <= max) || d != (double)(unsigned long)d)
		return false;
	*out = (unsigned long)d;
	return true;
}

static bool json_str(const cJSON *v, char *out, size_t cap)
{
	if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) >= cap)
		return false;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return true;
}

static bool parse_prefix(const cJSON *v, struct mg_prefix *p)
{
	char s[MG_PREFIX_STRLEN];

	return json_str(v, s, sizeof(s)) && mg_prefix_parse(p, s, false) == 0;
}

static bool parse_endpoints(const cJSON *v, struct mg_mesh_config *c)
{
	const cJSON *e;

	if (!cJSON_IsArray(v))
		return false;
	cJSON_ArrayForEach(e, v)
	{
		if (c->n_endpoints == MG_MESH_CONFIG_ENDPOINTS_MAX ||
		    !json_str(e, c->endpoints[c->n_endpoints], MG_MESH_CONFIG_ENDPOINT_MAX + 1))
			return false;
		c->n_endpoints++;
	}
	return true;
}

static int parse_member(struct mg_mesh_config *c, int m, const cJSON *v)
{
	char s[MG_KEY_BASE64_LEN + 1];
	unsigned long n;
	bool ok = false;

	switch (m) {
	case CM_VERSION:
		if (!json_uint(v, 0, 65535, &n))
			return -MG_MESH_EMALFORMED;
		return n == MG_MESH_CONFIG_VERSION ? 0 : -MG_MESH_EVERSION;
	case CM_MESH_ID:
		ok = json_str(v, s, sizeof(s)) && unhex(c->mesh_id, s, MG_MESH_ID_LEN) == 0;
		break;
	case CM_MESH_NAME:
		ok = json_str(v, c->mesh_name, sizeof(c->mesh_name));
		break;
	case CM_AUTHORITY:
		ok = json_str(v, s, sizeof(s)) && mg_key_from_base64(c->authority, s) == 0;
		break;
	case CM_PREFIX4:
		ok = parse_prefix(v, &c->prefix4);
		break;
	case CM_PREFIX6:
		ok = parse_prefix(v, &c->prefix6);
		break;
	case CM_NAME:
		ok = json_str(v, c->name, sizeof(c->name));
		break;
	case CM_LISTEN_PORT:
		ok = json_uint(v, 1, 65535, &n);
		c->listen_port = ok ? (uint16_t)n : 0;
		break;
	case CM_ENDPOINTS:
		ok = parse_endpoints(v, c);
		break;
	}
	return ok ? 0 : -MG_MESH_EMALFORMED;
}

static int parse_object(struct mg_mesh_config *c, const cJSON *root)
{
	unsigned seen = 0;
	const cJSON *v;
	int m, ret;

	if (!cJSON_IsObject(root))
		return -MG_MESH_EMALFORMED;
	cJSON_ArrayForEach(v, root)
	{
		m = member_index(v->string);
		if (m < 0 || (seen & (1u << m)))
			return -MG_MESH_EMALFORMED;
		seen |= 1u << m;
		ret = parse_member(c, m, v);
		if (ret < 0)
			return ret;
	}
	if (seen != (1u << CM_COUNT) - 1 || !config_valid(c))
		return -MG_MESH_EMALFORMED;
	return 0;
}

int mg_mesh_config_parse(struct mg_mesh_config *c, const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *root;
	int ret;

	memset(c, 0, sizeof(*c));
	/* cJSON stops at a NUL; one inside would hide what follows it. */
	if (len == 0 || len > MG_MESH_CONFIG_TEXT_MAX || memchr(text, '\0', len))
		return -MG_MESH_EMALFORMED;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root)
		return -MG_MESH_EMALFORMED;
	ret = parse_object(c, root);
	cJSON_Delete(root);
	for (; ret == 0 && end < text + len; end++)
		if (!strchr(" \t\r\n", *end))
			ret = -MG_MESH_EMALFORMED;
	if (ret < 0)
		memset(c, 0, sizeof(*c));
	return ret;
}

int mg_state_config_load(struct mg_state *st, struct mg_mesh_config *c, char *err, size_t errlen)
{
	char buf[MG_MESH_CONFIG_TEXT_MAX];
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = mg_state_read(st, MG_STATE_MESH, (uint8_t *)buf, sizeof(buf), &len, err, errlen);
	if (ret == -EFBIG)
		ret = -MG_MESH_EMALFORMED;
	else if (ret < 0)
		return ret;
	else
		ret = mg_mesh_config_parse(c, buf, len);
	if (ret < 0)
		mg_mesh_msg(err, errlen,
			    "'%s/%s' is corrupt (%s); expected the mesh configuration that "
			    "init or join writes",
			    st->dir, MG_STATE_MESH, mg_mesh_strerror(ret));
	return ret;
}

int mg_state_config_read(const char *dir, struct mg_mesh_config *c, char *err, size_t errlen)
{
	struct mg_state st;
	int ret = mg_state_open(&st, dir, 0, err, errlen);

	if (ret < 0)
		return ret;
	ret = mg_state_config_load(&st, c, err, errlen);
	mg_state_close(&st);
	return ret;
}

int mg_state_config_save(struct mg_state *st, const struct mg_mesh_config *c, char *err,
			 size_t errlen)
{
	char buf[MG_MESH_CONFIG_TEXT_MAX];
	int n;

	n = mg_mesh_config_format(buf, sizeof(buf), c);
	if (n < 0) {
		mg_mesh_msg(err, errlen, "mesh configuration for '%s': %s", st->dir,
			    mg_mesh_strerror(n));
		return n;
	}
	return mg_state_write(st, MG_STATE_MESH, buf, (size_t)n, err, errlen);
}

/* Invite records */

void mg_invite_record_wipe(struct mg_invite_record *r)
{
	mg_wipe(r, sizeof(*r));
}

static bool record_valid(const struct mg_invite_record *r)
{
	if (r->expiry >= MG_MESH_TIME_MAX || r->uses == 0 || r->used > r->uses ||
	    r->n_groups > MG_MESH_GROUPS_MAX || r->n_routes > MG_CERT_ROUTES_MAX)
		return false;
	if (r->name[0] && !mg_mesh_name_valid(r->name, MG_MESH_NAME_MAX))
		return false;
	for (size_t i = 0; i < r->n_groups; i++)
		if (!mg_mesh_name_valid(r->groups[i], MG_MESH_GROUP_MAX))
			return false;
	return true;
}

int mg_invite_record_encode(uint8_t *out, size_t cap, const struct mg_invite_record *r)
{
	struct mg_mesh_buf b = { .p = out, .left = cap };

	if (!record_valid(r))
		return -MG_MESH_EMALFORMED;
	mg_mesh_put_u8(&b, MG_INVITE_RECORD_VERSION);
	mg_mesh_put(&b, r->id, sizeof(r->id));
	mg_mesh_put(&b, r->secret, sizeof(r->secret));
	mg_mesh_put_u64(&b, r->expiry);
	mg_mesh_put_u16(&b, r->uses);
	mg_mesh_put_u16(&b, r->used);
	if (r->name[0])
		mg_mesh_put_str(&b, r->name);
	else
		mg_mesh_put_u8(&b, 0);
	mg_mesh_put_u8(&b, r->n_groups);
	for (size_t i = 0; i < r->n_groups; i++)
		mg_mesh_put_str(&b, r->groups[i]);
	mg_mesh_put_u8(&b, r->n_routes);
	for (size_t i = 0; i < r->n_routes; i++)
		mg_mesh_put_prefix(&b, &r->routes[i]);
	if (b.bad)
		return -MG_MESH_ETOOBIG;
	return (int)(cap - b.left);
}

int mg_invite_record_decode(struct mg_invite_record *r, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = { .r = in, .left = len };

	memset(r, 0, sizeof(*r));
	if (len >= 1 && in[0] != MG_INVITE_RECORD_VERSION)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	mg_mesh_get(&b, r->id, sizeof(r->id));
	mg_mesh_get(&b, r->secret, sizeof(r->secret));
	r->expiry = mg_mesh_get_u64(&b);
	r->uses = mg_mesh_get_u16(&b);
	r->used = mg_mesh_get_u16(&b);
	/* A zero length means "not pinned"; mg_mesh_get_str refuses it. */
	if (!b.bad && b.left > 0 && b.r[0] == 0)
		(void)mg_mesh_get_u8(&b);
	else
		mg_mesh_get_str(&b, r->name, MG_MESH_NAME_MAX);
	r->n_groups = mg_mesh_get_u8(&b);
	if (r->n_groups > MG_MESH_GROUPS_MAX)
		b.bad = true;
	for (size_t i = 0; i < r->n_groups && !b.bad; i++)
		mg_mesh_get_str(&b, r->groups[i], MG_MESH_GROUP_MAX);
	r->n_routes = mg_mesh_get_u8(&b);
	if (r->n_routes > MG_CERT_ROUTES_MAX)
		b.bad = true;
	for (size_t i = 0; i < r->n_routes && !b.bad; i++)
		mg_mesh_get_prefix(&b, &r->routes[i]);
	if (b.bad || b.left != 0 || !record_valid(r)) {
		mg_invite_record_wipe(r);
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

void mg_invite_record_name(char *name, size_t cap, const uint8_t id[MG_TOKEN_INVITE_ID_LEN])
{
	char h[MG_INVITE_ID_HEX_LEN + 1];

	hex(h, id, MG_TOKEN_INVITE_ID_LEN);
	snprintf(name, cap, "%s%s", INVITES_PREFIX, h);
}

int mg_state_invite_save(struct mg_state *st, const struct mg_invite_record *r, char *err,
			 size_t errlen)
{
	uint8_t buf[MG_INVITE_RECORD_MAX_LEN];
	char name[sizeof(INVITES_PREFIX) + MG_INVITE_ID_HEX_LEN];
	int n;

	n = mg_invite_record_encode(buf, sizeof(buf), r);
	if (n < 0) {
		mg_mesh_msg(err, errlen, "invite record: %s", mg_mesh_strerror(n));
		return n;
	}
	mg_invite_record_name(name, sizeof(name), r->id);
	n = mg_state_write(st, name, buf, (size_t)n, err, errlen);
	mg_wipe(buf, sizeof(buf));
	return n;
}

int mg_state_invite_load(struct mg_state *st, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
			 struct mg_invite_record *r, char *err, size_t errlen)
{
	uint8_t buf[MG_INVITE_RECORD_MAX_LEN];
	char name[sizeof(INVITES_PREFIX) + MG_INVITE_ID_HEX_LEN];
	uint8_t want[MG_TOKEN_INVITE_ID_LEN];
	size_t len;
	int ret;

	/* id may point into r, which is cleared next. */
	mg_invite_record_name(name, sizeof(name), id);
	memcpy(want, id, sizeof(want));
	memset(r, 0, sizeof(*r));
	ret = mg_state_read(st, name, buf, sizeof(buf), &len, err, errlen);
	if (ret == -ENOENT)
		mg_mesh_msg(err, errlen, "unknown invitation (no '%s/%s')", st->dir, name);
	if (ret == -EFBIG)
		ret = -MG_MESH_EMALFORMED;
	else if (ret < 0)
		return ret;
	else
		ret = mg_invite_record_decode(r, buf, len);
	mg_wipe(buf, sizeof(buf));
	if (ret == 0 && !mg_equal(r->id, want, MG_TOKEN_INVITE_ID_LEN)) {
		mg_invite_record_wipe(r);
		ret = -MG_MESH_EMALFORMED;
	}
	if (ret < 0)
		mg_mesh_msg(err, errlen, "invite record '%s/%s' is corrupt (%s)", st->dir, name,
			    mg_mesh_strerror(ret));
	return ret;
}

int mg_state_invite_consume(struct mg_state *st, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
			    uint64_t now, struct mg_invite_record *out, char *err, size_t errlen)
{
	struct mg_invite_record r;
	int ret;

	ret = need_lock(st, MG_STATE_INVITES, err, errlen);
	if (ret < 0)
		return ret;
	ret = mg_state_invite_load(st, id, &r, err, errlen);
	if (ret < 0)
		goto out;
	if (now > r.expiry) {
		mg_mesh_msg(err, errlen, "the invitation expired");
		ret = -EKEYEXPIRED;
	} else if (r.used >= r.uses) {
		mg_mesh_msg(err, errlen, "the invitation was already used (%u of %u uses)",
			    (unsigned)r.used, (unsigned)r.uses);
		ret = -EUSERS;
	} else {
		r.used++;
		ret = mg_state_invite_save(st, &r, err, errlen);
	}
	if (ret == 0 && out)
		*out = r;
out:
	mg_invite_record_wipe(&r);
	return ret;
}

static bool id_name(uint8_t id[MG_TOKEN_INVITE_ID_LEN], const char *name)
{
	return unhex(id, name, MG_TOKEN_INVITE_ID_LEN) == 0;
}

int mg_state_invite_list(struct mg_state *st,
			 int (*fn)(void *ctx, const struct mg_invite_record *r), void *ctx,
			 char *err, size_t errlen)
{
	uint8_t id[MG_TOKEN_INVITE_ID_LEN];
	struct mg_invite_record r;
	struct dirent *de;
	DIR *d;
	int fd, ret = 0;

	fd = openat(st->dirfd, MG_STATE_INVITES, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		mg_mesh_msg(err, errlen, "cannot read '%s/%s': %s", st->dir, MG_STATE_INVITES,
			    strerror(-ret));
		return ret;
	}
	while (ret == 0 && (de = readdir(d))) {
		/* Temporary files and anything else not named by an id. */
		if (!id_name(id, de->d_name))
			continue;
		ret = mg_state_invite_load(st, id, &r, err, errlen);
		if (ret == 0)
			ret = fn(ctx, &r);
		mg_invite_record_wipe(&r);
	}
	closedir(d);
	return ret;
}
