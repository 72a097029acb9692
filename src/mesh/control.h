/* Requests on the local control socket (DIR/control.sock; agent.h lists
 * the commands): the same framing as the UAPI, one request a connection.
 *
 *   request  COMMAND "\n" (KEY "=" VALUE "\n"){0,16} "\n"
 *   COMMAND  1-15 of [a-z]
 *   KEY      1-15 of [a-z_]
 *   VALUE    0-4096 bytes, none of them NUL or '\n'
 *
 * The parser only splits and checks the shape; what a value means is the
 * command's business. Keys may repeat (group=). */
#ifndef MG_MESH_CONTROL_H
#define MG_MESH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#define MG_CONTROL_NAME_MAX  15
#define MG_CONTROL_PAIRS_MAX 16
#define MG_CONTROL_VALUE_MAX 4096

struct mg_control_pair {
	const char *key, *value; /* into the request, not NUL-terminated */
	size_t key_len, value_len;
};

struct mg_control_request {
	char command[MG_CONTROL_NAME_MAX + 1];
	size_t n_pairs;
	struct mg_control_pair pairs[MG_CONTROL_PAIRS_MAX];
};

/* Parses the request at the start of buf[0, len): its length (up to and
 * including the empty line), -ENODATA when it is not complete yet, or
 * -EINVAL when it breaks a rule above. */
int mg_control_parse(struct mg_control_request *r, const char *buf, size_t len)
	__attribute__((warn_unused_result));

/* Copies the value of the first pair named key at or after *from (a pair
 * index; NULL: from the first) into out[cap] with a NUL, and moves *from
 * past it. False when there is none or it does not fit. */
bool mg_control_get(const struct mg_control_request *r, const char *key, size_t *from, char *out,
		    size_t cap);

#endif
