/* Journal file: one text line per protocol,
 *   <proto> <gateway> <internal port> <external addr> <external port>
 *   <nonce hex> <expires>
 * Lines are read back with the same bounds they are written with. */
#include "nat/portmap_journal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_MAX (MG_PORTMAP_PROTO_COUNT * MG_PORTMAP_JOURNAL_LINE + 256)

static void hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool unhex(uint8_t *out, const char *in, size_t n)
{
	if (strlen(in) != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(in + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static int parse_line(struct mg_portmap_journal *j, const char *line)
{
	char proto[16], gw[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN], nonce[2 * MG_PCP_NONCE_LEN + 2];
	unsigned iport, eport;
	int64_t expires;
	enum mg_portmap_proto p;
	struct mg_portmap_journal_entry e;

	memset(&e, 0, sizeof(e));
	e.used = true;
	if (sscanf(line, "%15s %15s %u %15s %u %25s %" SCNd64, proto, gw, &iport, ext, &eport,
		   nonce, &expires) != 7)
		return -EINVAL;
	if (mg_portmap_proto_parse(&p, proto) < 0 || iport == 0 || iport > 65535 || eport > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, gw, &e.gateway) != 1 ||
	    inet_pton(AF_INET, ext, &e.external_addr) != 1)
		return -EINVAL;
	if (!unhex(e.nonce, nonce, MG_PCP_NONCE_LEN) || expires < 0)
		return -EINVAL;
	e.internal_port = (uint16_t)iport;
	e.external_port = (uint16_t)eport;
	e.expires = expires;
	j->entry[p] = e;
	return 0;
}

int mg_portmap_journal_parse(struct mg_portmap_journal *j, const char *text, size_t len)
{
	char line[MG_PORTMAP_JOURNAL_LINE];
	int taken = 0;

	memset(j->entry, 0, sizeof(j->entry));
	while (len) {
		const char *eol = memchr(text, '\n', len);
		size_t n = eol ? (size_t)(eol - text) : len;
		if (n < sizeof(line) && !memchr(text, '\0', n) && text[0] != '#') {
			memcpy(line, text, n);
			line[n] = '\0';
			(void)parse_line(j, line); /* a bad line is skipped */
		}
		if (!eol)
			break;
		len -= n + 1;
		text = eol + 1;
	}
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		taken += j->entry[p].used;
	return taken;
}

int mg_portmap_journal_format(char *out, size_t cap, const struct mg_portmap_journal *j)
{
	size_t off = 0;
	int n = snprintf(out, cap,
			 "# meshguard port mappings: deleted on clean exit or next start\n");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	off = (size_t)n;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		const struct mg_portmap_journal_entry *e = &j->entry[p];
		char gw[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN], nonce[2 * MG_PCP_NONCE_LEN + 1];
		if (!e->used)
			continue;
		inet_ntop(AF_INET, &e->gateway, gw, sizeof(gw));
		inet_ntop(AF_INET, &e->external_addr, ext, sizeof(ext));
		hex(nonce, e->nonce, MG_PCP_NONCE_LEN);
		n = snprintf(out + off, cap - off, "%s %s %u %s %u %s %" PRId64 "\n",
			     mg_portmap_proto_name(p), gw, e->internal_port, ext, e->external_port,
			     nonce, e->expires);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

static int load(struct mg_portmap_journal *j, char *err, size_t errlen)
{
	char text[JOURNAL_MAX];
	struct stat sb;
	/* O_NONBLOCK: a FIFO put in the journal's place must not hang us. */
	int fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		if (e == ELOOP)
			snprintf(err, errlen, "'%s' is a symbolic link", j->path);
		else
			snprintf(err, errlen, "cannot open '%s': %s", j->path, strerror(e));
		return -e;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", j->path);
		close(fd);
		return -EINVAL;
	}
	ssize_t n = read(fd, text, sizeof(text));
	int e = n < 0 ? errno : 0;
	close(fd);
	if (e) {
		snprintf(err, errlen, "cannot read '%s': %s", j->path, strerror(e));
		return -e;
	}
	mg_portmap_journal_parse(j, text, (size_t)n);
	return 0;
}

/* The journal says which mappings we delete at start: nobody else may put
 * one there. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open state directory '%s': %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "state directory '%s' is writable by group or others (mode %04o); "
			 "expected 0700: chmod 700 '%s'",
			 dir, (unsigned)(sb.st_mode & 07777), dir);
		return -EACCES;
	}
	return 0;
}

int mg_portmap_journal_open(struct mg_portmap_journal *j, const char *dir, uint16_t internal_port,
			    char *err, size_t errlen)
{
	memset(j, 0, sizeof(*j));
	if (errlen)
		err[0] = '\0';
	if (!dir[0])
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "cannot create state directory '%s': %s", dir, strerror(e));
		return -e;
	}
	int ret = check_dir(dir, err, errlen);
	if (ret < 0)
		return ret;
	int n = snprintf(j->path, sizeof(j->path), "%s/portmap-%u", dir, internal_port);
	if (n < 0 || (size_t)n >= sizeof(j->path)) {
		j->path[0] = '\0';
		snprintf(err, errlen, "state directory '%s' is too long a path", dir);
		return -ENAMETOOLONG;
	}
	ret = load(j, err, errlen);
	if (ret < 0)
		j->path[0] = '\0';
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int mg_portmap_journal_save(const struct mg_portmap_journal *j)
{
	char text[JOURNAL_MAX], tmp[PATH_MAX + 8];
	bool any = false;

	if (!j->path[0])
		return 0;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		any |= j->entry[p].used;
	if (!any)
		return unlink(j->path) < 0 && errno != ENOENT ? -errno : 0;
	int len = mg_portmap_journal_format(text, sizeof(text), j);
	if (len < 0)
		return len;
	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	/* A crash may have left one; a FIFO or a link may have been put there. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int err = write_all(fd, text, (size_t)len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, j->path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
