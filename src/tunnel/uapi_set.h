/* A set request: its lines parsed into a change set (device -> peers ->
 * allowed IPs), checked as a whole, then applied, so that a request refused
 * changes nothing (see uapi.h). */
#ifndef MG_TUNNEL_UAPI_SET_H
#define MG_TUNNEL_UAPI_SET_H

#include <stddef.h>

#include "tunnel/device.h"
#include "tunnel/uapi.h"

/* lines[0, len) are a set request's lines after "set=1\n", through the empty
 * line that ends it, as mg_uapi_frame framed them. Returns 0 or the negative
 * errno wireguard-go answers, for the caller's "errno=N" reply; a refusal is
 * logged on dev->log with the line that caused it. */
int mg_uapi_set(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		const char *lines, size_t len);

#endif
