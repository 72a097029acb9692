/* The port mapper's journal: the mappings this host may hold at the
 * gateway, one line per protocol, in <state_dir>/portmap-<internal port>.
 * A mapping is written before it is asked for and forgotten once deleted,
 * so after a crash the next mapper for the port finds and deletes it. The
 * file is replaced atomically (write, fsync, rename) and removed when
 * empty. */
#ifndef MG_NAT_PORTMAP_JOURNAL_H
#define MG_NAT_PORTMAP_JOURNAL_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/pcp.h"
#include "nat/portmap.h"

/* Longest line we write or read. */
#define MG_PORTMAP_JOURNAL_LINE 160

struct mg_portmap_journal_entry {
	bool used;
	struct in_addr gateway;
	uint16_t internal_port;
	uint16_t external_port; /* the mapped one, or the suggestion before */
	struct in_addr external_addr;
	uint8_t nonce[MG_PCP_NONCE_LEN];
	int64_t expires; /* wall clock (Unix seconds) when the lease ends; 0: never */
};

struct mg_portmap_journal {
	char path[PATH_MAX]; /* "" when disabled */
	struct mg_portmap_journal_entry entry[MG_PORTMAP_PROTO_COUNT];
};

/* Creates dir (0700) if missing and loads the journal of internal_port;
 * a missing file is an empty journal, unreadable lines are skipped. dir ""
 * disables the journal (every call then succeeds and does nothing).
 * Refused, with why in err: a dir that group or others may write to
 * (-EACCES: they could plant a journal that makes us delete their choice
 * of mappings, or a link), a journal that is a symbolic link (-ELOOP) or
 * not a regular file (-EINVAL; a FIFO never blocks us). */
int mg_portmap_journal_open(struct mg_portmap_journal *j, const char *dir, uint16_t internal_port,
			    char *err, size_t errlen);

/* Writes the entries that are used, or removes the file when none is.
 * The new file is made with O_EXCL | O_NOFOLLOW (whatever had its name is
 * removed first), so nothing planted there is written through. */
int mg_portmap_journal_save(const struct mg_portmap_journal *j);

/* Parses journal text into j->entry (for open and the tests): a later line
 * for a protocol replaces an earlier one, bad lines are skipped. Returns the
 * number of entries in use. */
int mg_portmap_journal_parse(struct mg_portmap_journal *j, const char *text, size_t len);

/* Formats the used entries; returns the length, or -ENOSPC. */
int mg_portmap_journal_format(char *out, size_t cap, const struct mg_portmap_journal *j);

#endif
