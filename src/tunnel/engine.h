/* The event loop around a device: one libuv loop reads the TUN device and the
 * UDP sockets, feeds the device, writes what it produces, and runs its timers.
 *
 * Ownership: the caller embeds struct mg_engine and owns the loop. After
 * mg_engine_close(), run the loop until it returns (the handles close), then
 * call mg_engine_free(). The TUN fd stays the caller's. */
#ifndef MG_TUNNEL_ENGINE_H
#define MG_TUNNEL_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/clock.h"
#include "tunnel/device.h"
#include "tunnel/udp.h"

struct mg_engine_stats {
	uint64_t tun_write_dropped; /* the TUN queue was full */
	uint64_t udp_send_failed;
	uint64_t udp_kernel_drops; /* receive queue overflows the kernel reported */
	uint64_t tun_read_packets, udp_read_datagrams;
	uint64_t udp_send_calls;  /* flushes of the transmit queue */
	uint64_t tun_bad_packets; /* offload headers we could not honour */
	uint64_t tun_segments;	  /* packets cut from TUN super-packets */
	uint64_t tun_writes;
	/* Sealed datagrams from outside the packet handed to the device:
	 * never sent, and a bug if ever counted. */
	uint64_t tx_rejected;
};

/* Datagrams waiting for one sendmmsg. Nothing queued is written again until
 * it has left: packets read from the TUN are laid out in the arena so the
 * device seals them where they are (MG_SEND_SEALED), transient messages sent
 * during a wake-up (handshakes, keepalives, staged data, STUN answers) are
 * copied into it behind them, and the arena is reused only after the queue
 * has left, between two calls into the device. The arena and the queue are
 * sized once at start-up; nothing is allocated per packet. */
#define MG_ENGINE_ARENA_SIZE (1 << 20)

struct mg_engine_tx {
	uint8_t *arena;
	size_t used;
	unsigned count;
	/* The arena bytes of the packet in the device's hands, during one
	 * mg_device_send_packet call: the only place a sealed datagram may
	 * come from, once. NULL between calls. */
	uint8_t *slot, *slot_end;
	/* Inside one of the engine's own callbacks, whose end flushes the
	 * queue: transient messages join the batch. Outside (a UAPI change,
	 * a NAT timer) they go out at once. */
	bool batching;
	struct mg_udp_tx_item items[MG_UDP_TX_MAX];
};

struct mg_engine_socket;

/* How the engine is set up; see mg_engine_init. */
struct mg_engine_config {
	/* -1: no TUN. The caller then hands packets in (mg_engine_send_packets)
	 * and takes decrypted ones from on_packet. */
	int tun_fd;
	/* MG_TUN_* bits of tun.h the fd was opened with: with a virtio-net
	 * header the engine segments what it reads and coalesces what it
	 * writes. */
	unsigned tun_offload;
	/* The fd carries the 4-byte struct tun_pi (a device opened without
	 * IFF_NO_PI, as wireguard-go's are). */
	bool tun_pi;
	uint16_t port;
	uint32_t fwmark;
	/* The device's clock; NULL: the system's. Tests pass a fake one. */
	const struct mg_clock *clock;
	/* The node's logger, given to the device too; NULL: the default. */
	const struct mg_log *log;
	/* Called when the TUN device is gone (deleted by someone else). */
	void (*on_tun_gone)(void *ctx);
	/* With no TUN: one decrypted IP packet, valid only during the call. */
	void (*on_packet)(void *ctx, const uint8_t *packet, size_t len);
	/* The caller's UDP: when set, no socket is opened; every datagram
	 * leaves through it (buf valid only during the call; 0 or -errno) and
	 * arrives through mg_engine_udp_input. port and fwmark are then only
	 * what the engine reports. */
	int (*udp_send)(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len);
	/* Optional: the device's peer events (see mg_device_ops.event). */
	void (*on_peer_event)(void *ctx, enum mg_device_event event, const struct mg_peer *peer);
	void *ctx;
};

struct mg_engine {
	uv_loop_t *loop;
	struct mg_device dev;
	/* The device's clock: held still while one wake-up's batch runs. */
	struct mg_held_clock clock;
	struct mg_udp udp;
	int tun_fd;
	uv_poll_t tun_poll;
	/* One per UDP socket; replaced when the port is rebound. */
	struct mg_engine_socket *udp4_watch;
	struct mg_engine_socket *udp6_watch;
	struct mg_engine_socket *extra_watch[MG_UDP_EXTRA_MAX]; /* udp.h's extra sockets */
	uv_timer_t timer;
	uint64_t timer_deadline; /* monotonic ns the uv timer is armed for; 0: idle */
	struct mg_udp_batch *rx;
	struct mg_engine_tx tx;
	struct mg_engine_config config;
	/* With a virtio-net header: the packet read, and the coalescer of what
	 * goes back to the TUN. */
	uint8_t *tun_in;
	struct mg_gro *gro;
	unsigned open_handles;
	struct mg_engine_stats stats;
};

/* Sets up the device (call mg_device_* on e->dev to configure it before or
 * after) and opens the UDP sockets on port with fwmark. Nothing is read until
 * mg_engine_start. */
int mg_engine_init(struct mg_engine *e, uv_loop_t *loop, const struct mg_engine_config *config);
int mg_engine_start(struct mg_engine *e);
void mg_engine_close(struct mg_engine *e);
/* Rebinds the UDP sockets to port (0: any free one); on failure the old
 * sockets stay. 0 or -errno (-EADDRINUSE). */
int mg_engine_set_listen_port(struct mg_engine *e, uint16_t port);
int mg_engine_set_fwmark(struct mg_engine *e, uint32_t fwmark);
void mg_engine_free(struct mg_engine *e);

/* Encrypts and sends packets (struct mg_packet of the public header: data
 * with MG_DEVICE_HEADROOM writable bytes before it and MG_DEVICE_TAILROOM
 * after it) as one batch; each is sealed where it lies, so
 * the buffers are the engine's until this returns. -EBUSY when called from
 * inside one of the engine's own callbacks (on_packet, udp_send): a host
 * that loops datagrams back to a node in the same process hands them over
 * from its loop instead. */
int mg_engine_send_packets(struct mg_engine *e, const struct mg_packet *packets, size_t count);
/* One datagram from the caller's UDP; decrypted in place. -EBUSY as above. */
int mg_engine_udp_input(struct mg_engine *e, const struct mg_endpoint *from, uint8_t *buf,
			size_t len);

/* An extra UDP socket (udp.h) of family on a port the kernel picks, read
 * like the others: what arrives on it has its number in from->local.sock,
 * and what goes to an endpoint with that number leaves from it. Its number
 * (1..MG_UDP_EXTRA_MAX), or -errno (-ENOSPC: all open; -ENOTSUP with the
 * caller's UDP or before mg_engine_start). */
int mg_engine_extra_open(struct mg_engine *e, int family);
/* Closes extra socket n; datagrams still queued for it leave from the
 * WireGuard port's socket. */
void mg_engine_extra_close(struct mg_engine *e, unsigned n);

/* Sends a datagram that is not the device's (a STUN answer or request) from
 * the engine's sockets, behind the data queued before it. buf is only read
 * during the call. 0 when it left or was queued, else -errno. */
int mg_engine_send_transient(struct mg_engine *e, const struct mg_endpoint *to, const uint8_t *buf,
			     size_t len);

#endif
