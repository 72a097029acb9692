/* The protocol timers of one peer (whitepaper 6), driven by protocol events.
 *
 * Every timer is a deadline on the device's monotonic clock (0: not armed);
 * the device runs the expired ones from mg_device_tick(), so tests move a
 * fake clock instead of sleeping:
 *  - retransmit_handshake: REKEY_TIMEOUT + jitter after an initiation, send
 *    it again; after MAX_TIMER_HANDSHAKES tries give up and drop what waits.
 *  - send_keepalive: KEEPALIVE_TIMEOUT after data arrived and we sent
 *    nothing back, send a keepalive so the peer knows the session works.
 *  - new_handshake: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after we sent
 *    data and heard nothing, start a new handshake.
 *  - zero_key_material: REJECT_AFTER_TIME * 3 after the last session was
 *    derived, wipe every key of the peer.
 *  - persistent_keepalive: every N seconds without authenticated traffic,
 *    send a keepalive (keeps NAT mappings open).
 * Send and receive code call the mg_timers_<event>() hooks and never touch a
 * deadline themselves. */
#ifndef MG_TUNNEL_TIMERS_H
#define MG_TUNNEL_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct mg_peer;

enum mg_timer_kind {
	MG_TIMER_RETRANSMIT_HANDSHAKE,
	MG_TIMER_SEND_KEEPALIVE,
	MG_TIMER_NEW_HANDSHAKE,
	MG_TIMER_ZERO_KEY_MATERIAL,
	MG_TIMER_PERSISTENT_KEEPALIVE,
	MG_TIMER_COUNT,
};

struct mg_timers {
	uint64_t deadline[MG_TIMER_COUNT];
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	/* This attempt's initiation was already resent for a cookie reply
	 * (device.h): the next one waits for the retransmit timer. */
	bool cookie_retried;
};

void mg_timers_init(struct mg_peer *peer);
void mg_timers_stop(struct mg_peer *peer);

void mg_timers_data_sent(struct mg_peer *peer);
void mg_timers_data_received(struct mg_peer *peer);
void mg_timers_any_authenticated_packet_sent(struct mg_peer *peer);
void mg_timers_any_authenticated_packet_received(struct mg_peer *peer);
void mg_timers_handshake_initiated(struct mg_peer *peer);
void mg_timers_handshake_complete(struct mg_peer *peer);
void mg_timers_session_derived(struct mg_peer *peer);
void mg_timers_any_authenticated_packet_traversal(struct mg_peer *peer);
/* Persistent keepalive interval changed. */
void mg_timers_persistent_keepalive_changed(struct mg_peer *peer);

/* Runs every expired timer of the peer. Returns its earliest deadline
 * afterwards, or 0 when none is armed. */
uint64_t mg_timers_expire(struct mg_peer *peer, uint64_t now);

#endif
