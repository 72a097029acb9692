#include "tunnel/engine.h"
#include "tunnel/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUN_BUF_SIZE (MG_DEVICE_HEADROOM + 65535 + MG_DEVICE_TAILROOM)
/* Bounded work per wake-up, so one busy source cannot starve the other. */
#define TUN_READS_PER_WAKEUP   256
#define UDP_BATCHES_PER_WAKEUP 8

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void engine_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct mg_engine *e = ctx;
	if (mg_udp_send(&e->udp, to, buf, len) < 0)
		e->stats.udp_send_failed++;
}

static void engine_deliver(void *ctx, const uint8_t *packet, size_t len)
{
	struct mg_engine *e = ctx;
	/* A full TUN queue drops, as a router would; TCP backs off. */
	if (write(e->tun_fd, packet, len) < 0)
		e->stats.tun_write_dropped++;
}

static void arm_timer(struct mg_engine *e, uint64_t deadline);

static void engine_wakeup(void *ctx, uint64_t deadline)
{
	struct mg_engine *e = ctx;
	if (!e->timer_deadline || deadline < e->timer_deadline)
		arm_timer(e, deadline);
}

static const struct mg_device_ops engine_ops = {
	.send = engine_send,
	.deliver = engine_deliver,
	.wakeup = engine_wakeup,
};

static void on_timer(uv_timer_t *t)
{
	struct mg_engine *e = container_of(t, struct mg_engine, timer);
	uint64_t next;

	e->timer_deadline = 0;
	next = mg_device_tick(&e->dev);
	if (next)
		arm_timer(e, next);
}

static void arm_timer(struct mg_engine *e, uint64_t deadline)
{
	uint64_t now = mg_clock_now(e->dev.clock);
	uint64_t ms =
		deadline > now ? (deadline - now + MG_NSEC_PER_MSEC - 1) / MG_NSEC_PER_MSEC : 0;
	e->timer_deadline = deadline;
	uv_timer_start(&e->timer, on_timer, ms, 0);
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine *e = container_of(h, struct mg_engine, tun_poll);
	uint8_t *packet = e->tun_buf + MG_DEVICE_HEADROOM;
	(void)events;

	if (status < 0)
		return;
	for (int i = 0; i < TUN_READS_PER_WAKEUP; i++) {
		ssize_t n = read(e->tun_fd, packet, 65535);
		if (n <= 0)
			break;
		e->stats.tun_read_packets++;
		mg_device_send_packet(&e->dev, packet, (size_t)n);
	}
}

static void read_udp(struct mg_engine *e, int fd)
{
	struct mg_udp_batch *b = e->rx;

	for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
		int n = mg_udp_recv_batch(fd, b);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (!b->len[i])
				continue;
			e->stats.udp_read_datagrams++;
			mg_device_receive(&e->dev, &b->from[i], b->buf[i], b->len[i]);
		}
		if (n < MG_UDP_BATCH)
			return;
	}
}

static void on_udp4_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine *e = container_of(h, struct mg_engine, udp4_poll);
	(void)events;
	if (status >= 0)
		read_udp(e, e->udp.fd4);
}

static void on_udp6_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine *e = container_of(h, struct mg_engine, udp6_poll);
	(void)events;
	if (status >= 0)
		read_udp(e, e->udp.fd6);
}

int mg_engine_init(struct mg_engine *e, uv_loop_t *loop, int tun_fd, uint16_t port, uint32_t fwmark)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->tun_fd = tun_fd;
	e->udp.fd4 = e->udp.fd6 = -1;
	e->rx = malloc(sizeof(*e->rx));
	e->tun_buf = malloc(TUN_BUF_SIZE);
	if (!e->rx || !e->tun_buf) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = mg_device_init(&e->dev, &mg_clock_system, &engine_ops, e);
	if (ret < 0)
		goto fail;
	ret = mg_udp_open(&e->udp, port, fwmark);
	if (ret < 0) {
		mg_device_free(&e->dev);
		goto fail;
	}
	return 0;
fail:
	free(e->rx);
	free(e->tun_buf);
	e->rx = NULL;
	e->tun_buf = NULL;
	return ret;
}

static int start_poll(struct mg_engine *e, uv_poll_t *h, int fd, uv_poll_cb cb)
{
	int ret = uv_poll_init(e->loop, h, fd);
	if (ret < 0)
		return ret;
	e->open_handles++;
	return uv_poll_start(h, UV_READABLE, cb);
}

int mg_engine_start(struct mg_engine *e)
{
	int ret = uv_timer_init(e->loop, &e->timer);
	if (ret < 0)
		return ret;
	e->open_handles++;
	ret = start_poll(e, &e->tun_poll, e->tun_fd, on_tun_readable);
	if (ret == 0 && e->udp.fd4 >= 0)
		ret = start_poll(e, &e->udp4_poll, e->udp.fd4, on_udp4_readable);
	if (ret == 0 && e->udp.fd6 >= 0)
		ret = start_poll(e, &e->udp6_poll, e->udp.fd6, on_udp6_readable);
	/* Configuration may already have armed timers (persistent keepalive). */
	if (ret == 0)
		on_timer(&e->timer);
	return ret;
}

static void on_closed(uv_handle_t *h)
{
	struct mg_engine *e = h->data;
	e->open_handles--;
}

static void close_handle(struct mg_engine *e, uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h)) {
		h->data = e;
		uv_close(h, on_closed);
	}
}

void mg_engine_close(struct mg_engine *e)
{
	close_handle(e, (uv_handle_t *)&e->timer);
	close_handle(e, (uv_handle_t *)&e->tun_poll);
	close_handle(e, (uv_handle_t *)&e->udp4_poll);
	close_handle(e, (uv_handle_t *)&e->udp6_poll);
}

void mg_engine_free(struct mg_engine *e)
{
	mg_device_free(&e->dev);
	mg_udp_close(&e->udp);
	free(e->rx);
	free(e->tun_buf);
	e->rx = NULL;
	e->tun_buf = NULL;
}
