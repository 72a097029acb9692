#include "nat/stun_port.h"

#include <string.h>

static int port_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct mg_stun_port *p = ctx;
	return mg_engine_send_transient(p->engine, to, buf, len);
}

/* Responses are the client's; requests the responder's; the rest goes on. */
static void dispatch(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	struct mg_stun_port *p = ctx;

	if (mg_stun_is_stun(buf, len)) {
		if (!mg_stun_client_receive(&p->client, from, buf, len))
			mg_stun_server_receive(&p->server, from, buf, len);
		return;
	}
	if (p->next)
		p->next(p->next_ctx, from, buf, len);
	else
		p->not_stun++;
}

int mg_stun_port_attach(struct mg_stun_port *p, struct mg_engine *e,
			const struct mg_stun_schedule *schedule)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->engine = e;
	ret = mg_stun_client_init(&p->client, e->loop, e->dev.clock, port_send, p, schedule);
	if (ret < 0)
		return ret;
	mg_stun_server_init(&p->server, e->dev.clock, port_send, p, NULL);
	p->next = e->dev.other_handler;
	p->next_ctx = e->dev.other_ctx;
	mg_device_set_other_handler(&e->dev, dispatch, p);
	p->attached = true;
	return 0;
}

void mg_stun_port_detach(struct mg_stun_port *p)
{
	if (!p->attached)
		return;
	p->attached = false;
	if (p->engine->dev.other_handler == dispatch && p->engine->dev.other_ctx == p)
		mg_device_set_other_handler(&p->engine->dev, p->next, p->next_ctx);
	mg_stun_client_close(&p->client, NULL);
}
