/* The timers are described in timers.h; the rules follow the kernel's
 * timers.c so that both sides of a session agree on when to rekey. */
#include "tunnel/timers.h"
#include "crypto/primitives.h"
#include "peer/peer.h"
#include "tunnel/device.h"
#include "util/log.h"

#include <string.h>

static uint64_t now_ns(const struct mg_peer *peer)
{
	return mg_clock_now(peer->device->clock);
}

static uint64_t jitter(void)
{
	return (uint64_t)mg_random_uniform(REKEY_TIMEOUT_JITTER_MAX_MS) * MG_NSEC_PER_MSEC;
}

static bool pending(const struct mg_peer *peer, enum mg_timer_kind k)
{
	return peer->timers.deadline[k] != 0;
}

static void arm(struct mg_peer *peer, enum mg_timer_kind k, uint64_t delay)
{
	uint64_t at = now_ns(peer) + delay;
	peer->timers.deadline[k] = at ? at : 1;
	mg_device_schedule(peer->device, peer->timers.deadline[k]);
}

static void disarm(struct mg_peer *peer, enum mg_timer_kind k)
{
	peer->timers.deadline[k] = 0;
}

void mg_timers_init(struct mg_peer *peer)
{
	memset(&peer->timers, 0, sizeof(peer->timers));
}

void mg_timers_stop(struct mg_peer *peer)
{
	for (int k = 0; k < MG_TIMER_COUNT; k++)
		disarm(peer, k);
}

/* We sent data: expect something back soon, or start a new handshake. */
void mg_timers_data_sent(struct mg_peer *peer)
{
	if (!pending(peer, MG_TIMER_NEW_HANDSHAKE))
		arm(peer, MG_TIMER_NEW_HANDSHAKE, KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter());
}

/* We received data: answer within KEEPALIVE_TIMEOUT, with a keepalive if
 * nothing else goes out. */
void mg_timers_data_received(struct mg_peer *peer)
{
	if (!pending(peer, MG_TIMER_SEND_KEEPALIVE))
		arm(peer, MG_TIMER_SEND_KEEPALIVE, KEEPALIVE_TIMEOUT);
	else
		peer->timers.need_another_keepalive = true;
}

void mg_timers_any_authenticated_packet_sent(struct mg_peer *peer)
{
	disarm(peer, MG_TIMER_SEND_KEEPALIVE);
}

void mg_timers_any_authenticated_packet_received(struct mg_peer *peer)
{
	disarm(peer, MG_TIMER_NEW_HANDSHAKE);
}

void mg_timers_handshake_initiated(struct mg_peer *peer)
{
	arm(peer, MG_TIMER_RETRANSMIT_HANDSHAKE, REKEY_TIMEOUT + jitter());
}

void mg_timers_handshake_complete(struct mg_peer *peer)
{
	disarm(peer, MG_TIMER_RETRANSMIT_HANDSHAKE);
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	peer->device->clock->wall(peer->device->clock, &peer->last_handshake);
}

void mg_timers_session_derived(struct mg_peer *peer)
{
	arm(peer, MG_TIMER_ZERO_KEY_MATERIAL, REJECT_AFTER_TIME * 3);
}

void mg_timers_any_authenticated_packet_traversal(struct mg_peer *peer)
{
	if (peer->persistent_keepalive_interval)
		arm(peer, MG_TIMER_PERSISTENT_KEEPALIVE,
		    (uint64_t)peer->persistent_keepalive_interval * MG_NSEC_PER_SEC);
}

void mg_timers_persistent_keepalive_changed(struct mg_peer *peer)
{
	if (peer->persistent_keepalive_interval)
		mg_timers_any_authenticated_packet_traversal(peer);
	else
		disarm(peer, MG_TIMER_PERSISTENT_KEEPALIVE);
}

static void expired_retransmit_handshake(struct mg_peer *peer)
{
	char name[16];

	if (peer->timers.handshake_attempts > MAX_TIMER_HANDSHAKES) {
		mg_log(peer->device->log, MG_LOG_VERBOSE,
		       "peer %s: handshake did not complete after %u attempts",
		       mg_peer_name(peer, name), peer->timers.handshake_attempts + 2);
		disarm(peer, MG_TIMER_SEND_KEEPALIVE);
		mg_device_clear_staged(peer);
		if (!pending(peer, MG_TIMER_ZERO_KEY_MATERIAL))
			arm(peer, MG_TIMER_ZERO_KEY_MATERIAL, REJECT_AFTER_TIME * 3);
		return;
	}
	peer->timers.handshake_attempts++;
	mg_log(peer->device->log, MG_LOG_VERBOSE,
	       "peer %s: no response to handshake, retrying (attempt %u)", mg_peer_name(peer, name),
	       peer->timers.handshake_attempts + 1);
	/* The sticky source may be why there is no answer (the peer no longer
	 * reaches it, or routing changed): let the kernel choose again. */
	mg_endpoint_clear_local(&peer->endpoint);
	mg_device_send_initiation(peer, true);
}

/* Data went out and nothing came back: as above, the source may be the
 * trouble. */
static void expired_new_handshake(struct mg_peer *peer)
{
	mg_endpoint_clear_local(&peer->endpoint);
	mg_device_send_initiation(peer, false);
}

static void expired_send_keepalive(struct mg_peer *peer)
{
	mg_device_send_keepalive(peer);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		arm(peer, MG_TIMER_SEND_KEEPALIVE, KEEPALIVE_TIMEOUT);
	}
}

static void expired(struct mg_peer *peer, enum mg_timer_kind k)
{
	switch (k) {
	case MG_TIMER_RETRANSMIT_HANDSHAKE:
		expired_retransmit_handshake(peer);
		break;
	case MG_TIMER_SEND_KEEPALIVE:
		expired_send_keepalive(peer);
		break;
	case MG_TIMER_NEW_HANDSHAKE:
		expired_new_handshake(peer);
		break;
	case MG_TIMER_ZERO_KEY_MATERIAL:
		mg_device_zero_keys(peer);
		break;
	case MG_TIMER_PERSISTENT_KEEPALIVE:
		if (peer->persistent_keepalive_interval)
			mg_device_send_keepalive(peer);
		break;
	case MG_TIMER_COUNT:
		break;
	}
}

uint64_t mg_timers_expire(struct mg_peer *peer, uint64_t now)
{
	uint64_t next = 0;

	for (int k = 0; k < MG_TIMER_COUNT; k++) {
		if (pending(peer, k) && peer->timers.deadline[k] <= now) {
			disarm(peer, k);
			expired(peer, k);
		}
	}
	for (int k = 0; k < MG_TIMER_COUNT; k++) {
		uint64_t d = peer->timers.deadline[k];
		if (d && (!next || d < next))
			next = d;
	}
	return next;
}
