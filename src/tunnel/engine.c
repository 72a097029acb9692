#include "tunnel/engine.h"
#include "crypto/primitives.h"
#include "util/macros.h"
#include "util/log.h"
#include "tunnel/offload.h"
#include "tunnel/tun.h"

#include <linux/if_tun.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUN_SLOT_SIZE (MG_DEVICE_HEADROOM + 65535 + MG_DEVICE_TAILROOM + 15)
/* Bounded work per wake-up, so one busy source cannot starve the other. */
#define TUN_READS_PER_WAKEUP   256
#define UDP_BATCHES_PER_WAKEUP 8

/* The caller's UDP (config.udp_send): one call per datagram, in order.
 * Returns how many it refused. */
static unsigned send_each(struct mg_engine *e, const struct mg_udp_tx_item *items, unsigned count)
{
	unsigned failed = 0;

	for (unsigned i = 0; i < count; i++)
		if (e->config.udp_send(e->config.ctx, &items[i].to, items[i].buf, items[i].len) < 0)
			failed++;
	return failed;
}

static int udp_send_now(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
			size_t len)
{
	if (e->config.udp_send)
		return e->config.udp_send(e->config.ctx, to, buf, len);
	return mg_udp_send(&e->udp, to, buf, len);
}

/* Hands the queue to the kernel (or the caller's UDP). The arena is left as it is: a packet in the
 * device's hands, or segments reserved behind it, may still be sealed there. */
static void tx_send_queued(struct mg_engine *e)
{
	if (e->tx.count) {
		e->stats.udp_send_failed +=
			e->config.udp_send ? send_each(e, e->tx.items, e->tx.count)
					   : mg_udp_send_batch(&e->udp, e->tx.items, e->tx.count);
		e->stats.udp_send_calls++;
	}
	e->tx.count = 0;
}

/* Sends the queue and frees the arena for reuse. Only between calls into the
 * device, never from within one (engine_send), so no byte still to be sealed
 * or sent is in the space it frees. */
static void tx_flush(struct mg_engine *e)
{
	tx_send_queued(e);
	e->tx.used = 0;
}

/* Room for one more packet of up to len bytes read into the arena. */
static bool tx_has_room(const struct mg_engine *e, size_t len)
{
	return e->tx.count < MG_UDP_TX_MAX && e->tx.used + len <= MG_ENGINE_ARENA_SIZE;
}

static void tx_queue(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
		     size_t len)
{
	struct mg_udp_tx_item *it;

	/* Transient copies take queue entries the reader did not count on. */
	if (e->tx.count == MG_UDP_TX_MAX)
		tx_send_queued(e);
	it = &e->tx.items[e->tx.count++];
	it->to = *to;
	it->buf = buf;
	it->len = (uint32_t)len;
}

/* A datagram the device sealed in the packet it was handed: queued where it
 * is, once, and only if it lies in that packet's slot. */
static int send_sealed(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
		       size_t len)
{
	if (!e->tx.slot || buf < e->tx.slot || len > (size_t)(e->tx.slot_end - buf)) {
		e->stats.tx_rejected++;
		return -EINVAL;
	}
	e->tx.slot = e->tx.slot_end = NULL;
	tx_queue(e, to, buf, len);
	return 0;
}

/* A datagram valid only during the call: during a wake-up it is copied behind
 * what the arena holds and joins the batch; otherwise, or when the arena is
 * full, it leaves at once, after what is queued. */
static int send_transient(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
			  size_t len)
{
	size_t room = (len + 15) & ~(size_t)15;
	int ret;

	if (e->tx.batching && e->tx.used + room <= MG_ENGINE_ARENA_SIZE) {
		uint8_t *copy = e->tx.arena + e->tx.used;
		memcpy(copy, buf, len);
		e->tx.used += room;
		tx_queue(e, to, copy, len);
		return 0;
	}
	tx_send_queued(e);
	ret = udp_send_now(e, to, buf, len);
	if (ret < 0)
		e->stats.udp_send_failed++;
	return ret;
}

static int engine_send(void *ctx, const struct mg_endpoint *to, enum mg_send_kind kind,
		       const uint8_t *buf, size_t len)
{
	struct mg_engine *e = ctx;

	if (kind == MG_SEND_SEALED)
		return send_sealed(e, to, buf, len);
	return send_transient(e, to, buf, len);
}

int mg_engine_send_transient(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
			     size_t len)
{
	return send_transient(e, to, buf, len);
}

/* Hands the device one packet, whose datagram may take the slot_len bytes
 * from MG_DEVICE_HEADROOM before it and stays there until the batch ends:
 * in the arena, or in a buffer the caller keeps until then. */
static void send_in_slot(struct mg_engine *e, uint8_t *packet, size_t len, size_t slot_len)
{
	e->tx.slot = packet - MG_DEVICE_HEADROOM;
	e->tx.slot_end = e->tx.slot + slot_len;
	mg_device_send_packet(&e->dev, packet, len);
	e->tx.slot = e->tx.slot_end = NULL;
}

/* One wake-up's batch: the clock holds still and transient messages queue up
 * until batch_end sends everything at once. */
static void batch_begin(struct mg_engine *e)
{
	mg_clock_hold(&e->clock);
	e->tx.batching = true;
}

static void batch_end(struct mg_engine *e)
{
	tx_flush(e);
	e->tx.batching = false;
	mg_clock_release(&e->clock);
}

static void tun_write(struct mg_engine *e, const uint8_t *buf, size_t len)
{
	e->stats.tun_writes++;
	/* A full TUN queue drops, as a router would; TCP backs off. */
	if (write(e->tun_fd, buf, len) < 0)
		e->stats.tun_write_dropped++;
}

static int gro_write(void *ctx, const uint8_t *buf, size_t len)
{
	tun_write(ctx, buf, len);
	return 0;
}

static void gro_flush(struct mg_engine *e)
{
	if (e->gro)
		mg_gro_flush(e->gro, gro_write, e);
}

/* The packet sits in our own receive buffer (see mg_device_ops.deliver), so
 * the bytes before it may take the TUN's header without a copy. */
static void engine_deliver(void *ctx, const uint8_t *packet, size_t len)
{
	struct mg_engine *e = ctx;
	uint8_t *p = (uint8_t *)packet;

	if (e->config.on_packet) {
		e->config.on_packet(e->config.ctx, packet, len);
	} else if (e->gro) {
		int ret = mg_gro_add(e->gro, packet, len);
		if (ret == -ENOBUFS) {
			gro_flush(e);
			ret = mg_gro_add(e->gro, packet, len);
		}
		/* Interactive packets do not wait for the batch (see
		 * MG_GRO_PASSED); TCP ACKs do, so a transfer's ACKs in one
		 * direction do not break up the merges of another. */
		if (ret == MG_GRO_PASSED)
			gro_flush(e);
	} else if (e->config.tun_offload & MG_TUN_VNET_HDR) {
		/* Authenticated by WireGuard: no need to check its checksum. */
		memset(p - MG_OFFLOAD_VNET_HDR_LEN, 0, MG_OFFLOAD_VNET_HDR_LEN);
		p[-MG_OFFLOAD_VNET_HDR_LEN] = VIRTIO_NET_HDR_F_DATA_VALID;
		tun_write(e, p - MG_OFFLOAD_VNET_HDR_LEN, len + MG_OFFLOAD_VNET_HDR_LEN);
	} else if (e->config.tun_pi) {
		struct tun_pi pi = { .proto = htons((p[0] >> 4) == 6 ? 0x86dd : 0x0800) };
		memcpy(p - sizeof(pi), &pi, sizeof(pi));
		tun_write(e, p - sizeof(pi), len + sizeof(pi));
	} else {
		tun_write(e, p, len);
	}
}

static void arm_timer(struct mg_engine *e, uint64_t deadline);

static void engine_wakeup(void *ctx, uint64_t deadline)
{
	struct mg_engine *e = ctx;
	if (!e->timer_deadline || deadline < e->timer_deadline)
		arm_timer(e, deadline);
}

static void engine_event(void *ctx, enum mg_device_event event, const struct mg_peer *peer)
{
	struct mg_engine *e = ctx;

	if (e->config.on_peer_event)
		e->config.on_peer_event(e->config.ctx, event, peer);
}

static const struct mg_device_ops engine_ops = {
	.send = engine_send,
	.deliver = engine_deliver,
	.wakeup = engine_wakeup,
	.event = engine_event,
};

static void on_timer(uv_timer_t *t)
{
	struct mg_engine *e = container_of(t, struct mg_engine, timer);
	uint64_t next;

	e->timer_deadline = 0;
	batch_begin(e);
	next = mg_device_tick(&e->dev);
	batch_end(e);
	if (next)
		arm_timer(e, next);
}

static void arm_timer(struct mg_engine *e, uint64_t deadline)
{
	uint64_t now = mg_clock_now(e->dev.clock);
	uint64_t ms =
		deadline > now ? (deadline - now + MG_NSEC_PER_MSEC - 1) / MG_NSEC_PER_MSEC : 0;

	/* Configured before mg_engine_start: the timer does not exist yet, and
	 * start runs the device's timers at once. */
	if (!e->timer.loop)
		return;
	e->timer_deadline = deadline;
	uv_timer_start(&e->timer, on_timer, ms, 0);
}

/* Reserves the arena room for a datagram built around a packet of len bytes
 * (header, padded payload, tag) and returns its size; 16-byte alignment keeps
 * the next one's crypto aligned. */
static size_t tx_reserve(struct mg_engine *e, size_t len)
{
	size_t room = (MG_DEVICE_HEADROOM + len + MG_DEVICE_TAILROOM + 15) & ~(size_t)15;
	e->tx.used += room;
	return room;
}

static bool tun_read_failed(struct mg_engine *e, ssize_t n)
{
	if (n > 0)
		return false;
	if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK) {
		mg_log(e->config.log, MG_LOG_ERROR, "reading the TUN device: %s", strerror(errno));
		uv_poll_stop(&e->tun_poll);
		if (e->config.on_tun_gone)
			e->config.on_tun_gone(e->config.ctx);
	}
	return true;
}

/* A plain device: each packet is read into the arena where its datagram will
 * be built, so encryption happens in place. Returns false when drained. */
static bool read_plain(struct mg_engine *e)
{
	size_t prefix = e->config.tun_pi ? sizeof(struct tun_pi) : 0;
	uint8_t *packet = e->tx.arena + e->tx.used + MG_DEVICE_HEADROOM;
	ssize_t n = read(e->tun_fd, packet - prefix, 65535 + prefix);

	if (tun_read_failed(e, n))
		return false;
	if ((size_t)n <= prefix)
		return true;
	n -= (ssize_t)prefix;
	e->stats.tun_read_packets++;
	send_in_slot(e, packet, (size_t)n, tx_reserve(e, (size_t)n));
	return true;
}

/* Cuts a super-packet into MTU-sized packets laid out in the arena with room
 * for their WireGuard header and tag, and sends each. */
static void send_segments(struct mg_engine *e, const struct virtio_net_hdr *h, const uint8_t *pkt,
			  size_t len)
{
	size_t lens[MG_UDP_TX_MAX];
	size_t gso = h->gso_size ? h->gso_size : 1;
	size_t stride = (MG_DEVICE_HEADROOM + gso + MG_OFFLOAD_MAX_HDR + MG_DEVICE_TAILROOM + 15) &
			~(size_t)15;
	size_t need = len / gso + 1;
	uint8_t *out;
	int n;

	if (need > MG_UDP_TX_MAX - e->tx.count || need * stride > MG_ENGINE_ARENA_SIZE - e->tx.used)
		tx_flush(e);
	out = e->tx.arena + e->tx.used + MG_DEVICE_HEADROOM;
	n = mg_offload_segment(h, pkt, len, out, MG_ENGINE_ARENA_SIZE - e->tx.used, stride, lens,
			       (int)(MG_UDP_TX_MAX - e->tx.count));
	if (n < 0) {
		e->stats.tun_bad_packets++;
		return;
	}
	/* All n are reserved before the first goes to the device, so whatever
	 * that sends (a handshake initiation at a rekey) lands behind them. */
	e->tx.used += (size_t)n * stride;
	e->stats.tun_segments += (size_t)n;
	for (int i = 0; i < n; i++)
		send_in_slot(e, out + (size_t)i * stride, lens[i], stride);
}

/* A device with a virtio-net header: super-packets are read into their own
 * buffer and cut into the arena; plain ones are copied there. */
static bool read_offloaded(struct mg_engine *e)
{
	struct virtio_net_hdr h;
	uint8_t *packet = e->tun_in + MG_OFFLOAD_VNET_HDR_LEN;
	ssize_t n = read(e->tun_fd, e->tun_in, MG_OFFLOAD_VNET_HDR_LEN + 65535);

	if (tun_read_failed(e, n))
		return false;
	if ((size_t)n <= MG_OFFLOAD_VNET_HDR_LEN)
		return true;
	memcpy(&h, e->tun_in, sizeof(h));
	n -= MG_OFFLOAD_VNET_HDR_LEN;
	e->stats.tun_read_packets++;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		send_segments(e, &h, packet, (size_t)n);
		return true;
	}
	if (mg_offload_complete_csum(&h, packet, (size_t)n) < 0) {
		e->stats.tun_bad_packets++;
		return true;
	}
	uint8_t *slot = e->tx.arena + e->tx.used + MG_DEVICE_HEADROOM;
	memcpy(slot, packet, (size_t)n);
	send_in_slot(e, slot, (size_t)n, tx_reserve(e, (size_t)n));
	return true;
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine *e = container_of(h, struct mg_engine, tun_poll);
	bool offloaded = e->config.tun_offload & MG_TUN_VNET_HDR;
	(void)events;

	if (status < 0) {
		/* The device was deleted under us (EBADFD on a detached fd). */
		errno = -status;
		tun_read_failed(e, -1);
		return;
	}
	batch_begin(e);
	for (int i = 0; i < TUN_READS_PER_WAKEUP; i++) {
		if (!tx_has_room(e, TUN_SLOT_SIZE))
			tx_flush(e);
		if (!(offloaded ? read_offloaded(e) : read_plain(e)))
			break;
	}
	batch_end(e);
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

static void read_udp(struct mg_engine *e, int fd, uint16_t sock)
{
	struct mg_udp_batch *b = e->rx;

	batch_begin(e);
	for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
		int n = mg_udp_recv_batch(fd, b);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			b->from[i].local.sock = sock;
			if (b->len[i])
				receive_buffer(e, &b->from[i], b->buf[i], b->len[i], b->segment[i]);
		}
		if (n < MG_UDP_BATCH)
			break;
	}
	if (b->kernel_drops > e->stats.udp_kernel_drops)
		e->stats.udp_kernel_drops = b->kernel_drops;
	gro_flush(e);
	batch_end(e);
}

int mg_engine_send_packets(struct mg_engine *e, const struct mg_packet *packets, size_t count)
{
	if (e->tx.batching)
		return -EBUSY;
	batch_begin(e);
	for (size_t i = 0; i < count; i++) {
		e->stats.tun_read_packets++;
		send_in_slot(e, packets[i].data, packets[i].len,
			     MG_DEVICE_HEADROOM + packets[i].len + MG_DEVICE_TAILROOM);
	}
	batch_end(e);
	return 0;
}

int mg_engine_udp_input(struct mg_engine *e, const struct mg_endpoint *from, uint8_t *buf,
			size_t len)
{
	if (e->tx.batching)
		return -EBUSY;
	batch_begin(e);
	receive_buffer(e, from, buf, len, 0);
	gro_flush(e);
	batch_end(e);
	return 0;
}

/* A UDP socket's poll handle. It owns its fd from the moment it is
 * replaced, and closes it only once libuv is done with the handle. */
struct mg_engine_socket {
	uv_poll_t poll;
	struct mg_engine *engine;
	int fd;
	uint16_t sock; /* udp.h's number: 0 for the port's own sockets */
	bool owns_fd;
};

static void on_udp_readable(uv_poll_t *h, int status, int events)
{
	struct mg_engine_socket *s = container_of(h, struct mg_engine_socket, poll);
	(void)events;
	if (status >= 0)
		read_udp(s->engine, s->fd, s->sock);
}

static void on_socket_closed(uv_handle_t *h)
{
	struct mg_engine_socket *s = container_of((uv_poll_t *)h, struct mg_engine_socket, poll);
	s->engine->open_handles--;
	if (s->owns_fd)
		close(s->fd);
	free(s);
}

static void unwatch(struct mg_engine_socket **sp, bool owns_fd)
{
	struct mg_engine_socket *s = *sp;
	if (!s)
		return;
	*sp = NULL;
	s->owns_fd = owns_fd;
	uv_close((uv_handle_t *)&s->poll, on_socket_closed);
}

static int watch(struct mg_engine *e, struct mg_engine_socket **sp, int fd)
{
	struct mg_engine_socket *s;
	int ret;

	/* Already watched: a listen port set before mg_engine_start. */
	if (fd < 0 || *sp)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->engine = e;
	s->fd = fd;
	ret = uv_poll_init(e->loop, &s->poll, fd);
	if (ret < 0) {
		free(s);
		return ret;
	}
	e->open_handles++;
	*sp = s;
	return uv_poll_start(&s->poll, UV_READABLE, on_udp_readable);
}

static int watch_udp(struct mg_engine *e)
{
	int ret = watch(e, &e->udp4_watch, e->udp.fd4);
	if (ret == 0)
		ret = watch(e, &e->udp6_watch, e->udp.fd6);
	return ret;
}

int mg_engine_extra_open(struct mg_engine *e, int family)
{
	int fd, n, ret;

	if (e->config.udp_send || (!e->udp4_watch && !e->udp6_watch))
		return -ENOTSUP;
	n = mg_udp_extra_open(&e->udp, family, &fd);
	if (n <= 0) /* numbers start at 1 */
		return n < 0 ? n : -EIO;
	ret = watch(e, &e->extra_watch[n - 1], fd);
	if (ret < 0) {
		unwatch(&e->extra_watch[n - 1], false);
		mg_udp_extra_close(&e->udp, (unsigned)n);
		return ret;
	}
	e->extra_watch[n - 1]->sock = (uint16_t)n;
	return n;
}

void mg_engine_extra_close(struct mg_engine *e, unsigned n)
{
	if (!n || n > MG_UDP_EXTRA_MAX || !e->udp.extra_open[n - 1])
		return;
	/* The handle closes the fd once libuv is done with it. */
	e->udp.extra_open[n - 1] = false;
	unwatch(&e->extra_watch[n - 1], true);
}

int mg_engine_set_listen_port(struct mg_engine *e, uint16_t port)
{
	struct mg_udp *fresh;
	int ret;

	if (port && port == e->udp.port)
		return 0;
	if (e->config.udp_send) {
		/* The caller's sockets: the port is only what we report. */
		e->udp.port = port;
		return 0;
	}
	fresh = malloc(sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	ret = mg_udp_open(fresh, port, e->udp.fwmark);
	if (ret == 0) {
		tx_flush(e);
		/* The old sockets close when their handles have closed. */
		unwatch(&e->udp4_watch, true);
		unwatch(&e->udp6_watch, true);
		e->udp.fd4 = fresh->fd4;
		e->udp.fd6 = fresh->fd6;
		e->udp.port = fresh->port;
		ret = watch_udp(e);
	}
	free(fresh);
	return ret;
}

int mg_engine_set_fwmark(struct mg_engine *e, uint32_t fwmark)
{
	if (e->config.udp_send) {
		e->udp.fwmark = fwmark;
		return 0;
	}
	return mg_udp_set_fwmark(&e->udp, fwmark);
}

/* aligned_alloc wants a multiple of the alignment. */
#define TUN_IN_SIZE ((MG_OFFLOAD_VNET_HDR_LEN + 65535 + 63) & ~(size_t)63)

static int alloc_buffers(struct mg_engine *e)
{
	e->rx = calloc(1, sizeof(*e->rx));
	e->tx.arena = aligned_alloc(64, MG_ENGINE_ARENA_SIZE);
	if (!e->rx || !e->tx.arena)
		return -ENOMEM;
	if (!(e->config.tun_offload & MG_TUN_VNET_HDR))
		return 0;
	e->tun_in = aligned_alloc(64, TUN_IN_SIZE);
	if (!e->tun_in)
		return -ENOMEM;
	if (!(e->config.tun_offload & MG_TUN_TSO))
		return 0;
	/* Coalescing only pays when the kernel takes TSO packets back. */
	e->gro = malloc(sizeof(*e->gro) + MG_GRO_ARENA_SIZE);
	if (!e->gro)
		return -ENOMEM;
	mg_gro_init(e->gro, (uint8_t *)(e->gro + 1), MG_GRO_ARENA_SIZE);
	e->gro->authenticated = true;
	return 0;
}

/* The buffers hold the last batches' plaintext (TUN reads, decrypted
 * datagrams, coalesced segments): wiped once, when the engine goes, and
 * never per packet. */
static void wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	mg_wipe(p, len);
	free(p);
}

static void free_buffers(struct mg_engine *e)
{
	wipe_free(e->rx, sizeof(*e->rx));
	wipe_free(e->tx.arena, MG_ENGINE_ARENA_SIZE);
	wipe_free(e->tun_in, TUN_IN_SIZE);
	wipe_free(e->gro, sizeof(*e->gro) + MG_GRO_ARENA_SIZE);
	e->rx = NULL;
	e->tx.arena = NULL;
	e->tun_in = NULL;
	e->gro = NULL;
}

int mg_engine_init(struct mg_engine *e, uv_loop_t *loop, const struct mg_engine_config *config)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->config = *config;
	e->tun_fd = config->tun_fd;
	e->udp.fd4 = e->udp.fd6 = -1;
	ret = alloc_buffers(e);
	if (ret < 0)
		goto fail;
	mg_held_clock_init(&e->clock, config->clock ? config->clock : &mg_clock_system);
	ret = mg_device_init(&e->dev, &e->clock.clock, &engine_ops, e);
	e->dev.log = config->log;
	/* Handshake work is timed by the clock that does not hold still
	 * during a batch (device.h, "Under load"). */
	e->dev.work_clock = e->clock.base;
	if (ret < 0)
		goto fail;
	if (config->udp_send) {
		e->udp.port = config->port;
		e->udp.fwmark = config->fwmark;
	} else {
		ret = mg_udp_open(&e->udp, config->port, config->fwmark);
	}
	if (ret < 0) {
		mg_device_free(&e->dev);
		goto fail;
	}
	return 0;
fail:
	free_buffers(e);
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
	if (e->tun_fd >= 0)
		ret = start_poll(e, &e->tun_poll, e->tun_fd, on_tun_readable);
	if (ret == 0)
		ret = watch_udp(e);
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
	/* mg_engine_free closes the current sockets. */
	unwatch(&e->udp4_watch, false);
	unwatch(&e->udp6_watch, false);
	for (unsigned i = 0; i < MG_UDP_EXTRA_MAX; i++)
		unwatch(&e->extra_watch[i], false);
}

void mg_engine_free(struct mg_engine *e)
{
	mg_device_free(&e->dev);
	mg_udp_close(&e->udp);
	free_buffers(e);
}
