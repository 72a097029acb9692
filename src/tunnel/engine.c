#include "tunnel/engine.h"
#include "tunnel/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUN_SLOT_SIZE (MG_DEVICE_HEADROOM + 65535 + MG_DEVICE_TAILROOM + 15)
/* Bounded work per wake-up, so one busy source cannot starve the other. */
#define TUN_READS_PER_WAKEUP   256
#define UDP_BATCHES_PER_WAKEUP 8

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void tx_flush(struct mg_engine *e)
{
	if (e->tx.count) {
		e->stats.udp_send_failed += mg_udp_send_batch(&e->udp, e->tx.items, e->tx.count);
		e->stats.udp_send_calls++;
	}
	e->tx.count = 0;
	e->tx.used = 0;
}

static bool in_arena(const struct mg_engine *e, const uint8_t *buf)
{
	return buf >= e->tx.arena && buf < e->tx.arena + MG_ENGINE_ARENA_SIZE;
}

/* Room for one more packet of up to len bytes read into the arena. */
static bool tx_has_room(const struct mg_engine *e, size_t len)
{
	return e->tx.count < MG_UDP_TX_MAX && e->tx.used + len <= MG_ENGINE_ARENA_SIZE;
}

/* Datagrams the device built in the arena are queued where they are; the
 * others (handshake messages, staged packets) are copied in. */
static void engine_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct mg_engine *e = ctx;
	struct mg_udp_tx_item *it;

	if (!in_arena(e, buf)) {
		if (!tx_has_room(e, len))
			tx_flush(e);
		memcpy(e->tx.arena + e->tx.used, buf, len);
		buf = e->tx.arena + e->tx.used;
		e->tx.used += len;
	} else if (e->tx.count == MG_UDP_TX_MAX) {
		/* Cannot happen: callers check tx_has_room before reading. */
		e->stats.udp_send_failed++;
		return;
	}
	it = &e->tx.items[e->tx.count++];
	it->to = *to;
	it->buf = buf;
	it->len = (uint32_t)len;
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
	tx_flush(e);
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

/* Each packet is read into the arena where its datagram will be built, so
 * encryption happens in place and the whole batch leaves in one sendmmsg. */
static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine *e = container_of(h, struct mg_engine, tun_poll);
	(void)events;

	if (status < 0)
		return;
	for (int i = 0; i < TUN_READS_PER_WAKEUP; i++) {
		uint8_t *slot, *packet;
		ssize_t n;

		if (!tx_has_room(e, TUN_SLOT_SIZE))
			tx_flush(e);
		slot = e->tx.arena + e->tx.used;
		packet = slot + MG_DEVICE_HEADROOM;
		n = read(e->tun_fd, packet, 65535);
		if (n <= 0)
			break;
		e->stats.tun_read_packets++;
		/* Keep the datagram (header, padded payload, tag) in the arena;
		 * 16-byte alignment keeps the next slot's crypto aligned. */
		e->tx.used +=
			(MG_DEVICE_HEADROOM + (size_t)n + MG_DEVICE_TAILROOM + 15) & ~(size_t)15;
		mg_device_send_packet(&e->dev, packet, (size_t)n);
	}
	tx_flush(e);
}

/* One received buffer: a datagram, or with UDP GRO several of one size. */
static void receive_buffer(struct mg_engine *e, const struct mg_endpoint *from, uint8_t *buf,
			   size_t len, size_t segment)
{
	if (!segment)
		segment = len;
	for (size_t off = 0; off < len; off += segment) {
		size_t n = len - off < segment ? len - off : segment;
		e->stats.udp_read_datagrams++;
		mg_device_receive(&e->dev, from, buf + off, n);
	}
}

static void read_udp(struct mg_engine *e, int fd)
{
	struct mg_udp_batch *b = e->rx;

	for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
		int n = mg_udp_recv_batch(fd, b);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (b->len[i])
				receive_buffer(e, &b->from[i], b->buf[i], b->len[i], b->segment[i]);
		if (n < MG_UDP_BATCH)
			break;
	}
	if (b->kernel_drops > e->stats.udp_kernel_drops)
		e->stats.udp_kernel_drops = b->kernel_drops;
	tx_flush(e);
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
	e->tx.arena = aligned_alloc(64, MG_ENGINE_ARENA_SIZE);
	if (!e->rx || !e->tx.arena) {
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
	free(e->tx.arena);
	e->rx = NULL;
	e->tx.arena = NULL;
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
	free(e->tx.arena);
	e->rx = NULL;
	e->tx.arena = NULL;
}
