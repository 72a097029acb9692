/* The reply to a get: the device, then each peer with its allowed IPs, in
 * wireguard-go's order and forms. */
#ifndef MG_TUNNEL_UAPI_GET_H
#define MG_TUNNEL_UAPI_GET_H

#include "tunnel/device.h"
#include "tunnel/uapi.h"

/* Appends the whole reply, through "errno=0\n\n", to out and returns 0; or
 * appends nothing and returns -ENOMEM (or -EINVAL, for a line our fixed
 * buffer cannot hold). The reply carries the private key. */
int mg_uapi_get(const struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		struct mg_uapi_buf *out);

#endif
