/* What the UAPI tests and the UAPI fuzz harness share: a device whose
 * datagrams go nowhere, and fake sockets for the hooks that record what was
 * asked of them and fail where told to. Header-only: include it once. */
#ifndef MG_TEST_UAPI_FIXTURE_H
#define MG_TEST_UAPI_FIXTURE_H

#include <errno.h>
#include <stdint.h>

#include "tunnel/device.h"
#include "tunnel/uapi.h"

struct sockets {
	uint16_t port;
	uint32_t mark;
	uint16_t picked_port;  /* what a rebind to port 0 gets (0: stays 0) */
	uint16_t busy_port;    /* a rebind to it fails, EADDRINUSE (0: none) */
	uint32_t failing_mark; /* setting it fails, EPERM (0: none) */
	int rebinds, marks;
};

static inline int set_port(void *ctx, uint16_t port)
{
	struct sockets *s = ctx;

	if (s->busy_port && port == s->busy_port)
		return -EADDRINUSE;
	s->port = port ? port : s->picked_port;
	s->rebinds++;
	return 0;
}

static inline uint16_t get_port(void *ctx)
{
	return ((struct sockets *)ctx)->port;
}

static inline int set_mark(void *ctx, uint32_t mark)
{
	struct sockets *s = ctx;

	if (s->failing_mark && mark == s->failing_mark)
		return -EPERM;
	s->mark = mark;
	s->marks++;
	return 0;
}

static inline uint32_t get_mark(void *ctx)
{
	return ((struct sockets *)ctx)->mark;
}

static const struct mg_uapi_hooks hooks = { set_port, get_port, set_mark, get_mark };

/* Datagrams the device tried to send. */
static int datagrams_sent;

static inline int count_send(void *ctx, const struct mg_endpoint *to, enum mg_send_kind kind,
			     const uint8_t *buf, size_t len)
{
	(void)ctx, (void)to, (void)kind, (void)buf, (void)len;
	datagrams_sent++;
	return 0;
}

static inline void nop_deliver(void *ctx, const uint8_t *packet, size_t len)
{
	(void)ctx, (void)packet, (void)len;
}

static inline void nop_wakeup(void *ctx, uint64_t deadline)
{
	(void)ctx, (void)deadline;
}

static const struct mg_device_ops ops = { count_send, nop_deliver, nop_wakeup };

#endif
