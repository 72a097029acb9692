#include "tunnel/noise.h"
#include "crypto/blake2s.h"
#include "crypto/primitives.h"
#include "peer/peer.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

/* HASH(CONSTRUCTION) and HASH(HASH(CONSTRUCTION) || IDENTIFIER); a unit test
 * recomputes both from the strings in messages.h. */
static const uint8_t handshake_init_chaining_key[MG_KEY_SIZE] = {
	0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35,
	0xe2, 0xa0, 0x25, 0xd2, 0xd0, 0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72,
	0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36
};
static const uint8_t handshake_init_hash[MG_KEY_SIZE] = { 0x22, 0x11, 0xb3, 0x61, 0x08, 0x1a, 0xc5,
							  0x66, 0x69, 0x12, 0x43, 0xdb, 0x45, 0x8a,
							  0xd5, 0x32, 0x2d, 0x9c, 0x6c, 0x66, 0x22,
							  0x93, 0xe8, 0xb7, 0x0e, 0xe1, 0x9c, 0x65,
							  0xba, 0x07, 0x9e, 0xf3 };

#ifdef MG_TEST_HOOKS
void (*mg_noise_test_ephemeral)(uint8_t private_key[MG_KEY_SIZE], uint8_t public_key[MG_KEY_SIZE]);

static void generate_ephemeral(uint8_t private_key[MG_KEY_SIZE], uint8_t public_key[MG_KEY_SIZE])
{
	if (mg_noise_test_ephemeral)
		mg_noise_test_ephemeral(private_key, public_key);
	else
		mg_x25519_generate(private_key, public_key);
}
#else
static void generate_ephemeral(uint8_t private_key[MG_KEY_SIZE], uint8_t public_key[MG_KEY_SIZE])
{
	mg_x25519_generate(private_key, public_key);
}
#endif

static void mix_hash(uint8_t hash[MG_KEY_SIZE], const uint8_t *in, size_t len)
{
	struct mg_blake2s_state s;
	mg_blake2s_init(&s, MG_KEY_SIZE, NULL, 0);
	mg_blake2s_update(&s, hash, MG_KEY_SIZE);
	mg_blake2s_update(&s, in, len);
	mg_blake2s_final(&s, hash);
}

static void mix_key(uint8_t chaining_key[MG_KEY_SIZE], const uint8_t *in, size_t len)
{
	mg_kdf(chaining_key, NULL, NULL, chaining_key, MG_KEY_SIZE, in, len);
}

/* C, k = KDF2(C, DH(priv, pub)); false on an all-zero DH result. */
static bool mix_dh(uint8_t chaining_key[MG_KEY_SIZE], uint8_t key[MG_KEY_SIZE],
		   const uint8_t priv[MG_KEY_SIZE], const uint8_t pub[MG_KEY_SIZE])
{
	uint8_t dh[MG_KEY_SIZE];
	if (!mg_x25519(dh, priv, pub))
		return false;
	mg_kdf(chaining_key, key, NULL, chaining_key, MG_KEY_SIZE, dh, MG_KEY_SIZE);
	mg_wipe(dh, sizeof(dh));
	return true;
}

static void mix_precomputed_dh(uint8_t chaining_key[MG_KEY_SIZE], uint8_t key[MG_KEY_SIZE],
			       const uint8_t dh[MG_KEY_SIZE])
{
	mg_kdf(chaining_key, key, NULL, chaining_key, MG_KEY_SIZE, dh, MG_KEY_SIZE);
}

static void mix_psk(uint8_t chaining_key[MG_KEY_SIZE], uint8_t hash[MG_KEY_SIZE],
		    uint8_t key[MG_KEY_SIZE], const uint8_t psk[MG_KEY_SIZE])
{
	uint8_t tau[MG_KEY_SIZE];
	mg_kdf(chaining_key, tau, key, chaining_key, MG_KEY_SIZE, psk, MG_KEY_SIZE);
	mix_hash(hash, tau, MG_KEY_SIZE);
	mg_wipe(tau, sizeof(tau));
}

static void message_ephemeral(uint8_t ephemeral_dst[MG_KEY_SIZE],
			      const uint8_t ephemeral_src[MG_KEY_SIZE],
			      uint8_t chaining_key[MG_KEY_SIZE], uint8_t hash[MG_KEY_SIZE])
{
	if (ephemeral_dst != ephemeral_src)
		memcpy(ephemeral_dst, ephemeral_src, MG_KEY_SIZE);
	mix_hash(hash, ephemeral_src, MG_KEY_SIZE);
	mix_key(chaining_key, ephemeral_src, MG_KEY_SIZE);
}

/* Handshake keys are used once: the cipher must not keep them. False when
 * the cipher failed; the message must then not be sent. */
static bool message_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[MG_KEY_SIZE], uint8_t hash[MG_KEY_SIZE])
{
	bool ok = mg_aead_seal(dst, src, len, hash, MG_KEY_SIZE, 0, key);

	mg_aead_forget(key);
	if (!ok)
		return false;
	mix_hash(hash, dst, len + MG_TAG_SIZE);
	return true;
}

static bool message_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[MG_KEY_SIZE], uint8_t hash[MG_KEY_SIZE])
{
	bool ok = mg_aead_open(dst, src, len + MG_TAG_SIZE, hash, MG_KEY_SIZE, 0, key);

	mg_aead_forget(key);
	if (!ok)
		return false;
	mix_hash(hash, src, len + MG_TAG_SIZE);
	return true;
}

static void handshake_start(uint8_t chaining_key[MG_KEY_SIZE], uint8_t hash[MG_KEY_SIZE],
			    const uint8_t responder_static[MG_KEY_SIZE])
{
	memcpy(chaining_key, handshake_init_chaining_key, MG_KEY_SIZE);
	memcpy(hash, handshake_init_hash, MG_KEY_SIZE);
	mix_hash(hash, responder_static, MG_KEY_SIZE);
}

void mg_noise_precompute_static_static(struct mg_handshake *hs, const struct mg_static_identity *id)
{
	hs->static_static_valid = id->has_identity && mg_x25519(hs->precomputed_static_static,
								id->private_key, hs->remote_static);
	if (!hs->static_static_valid)
		memset(hs->precomputed_static_static, 0, MG_KEY_SIZE);
}

void mg_noise_handshake_init(struct mg_handshake *hs, struct mg_peer *peer,
			     const struct mg_static_identity *id,
			     const uint8_t remote_static[MG_KEY_SIZE],
			     const uint8_t preshared_key[MG_KEY_SIZE])
{
	memset(hs, 0, sizeof(*hs));
	hs->entry.type = MG_INDEX_HANDSHAKE;
	hs->entry.peer = peer;
	memcpy(hs->remote_static, remote_static, MG_KEY_SIZE);
	if (preshared_key)
		memcpy(hs->preshared_key, preshared_key, MG_KEY_SIZE);
	mg_noise_precompute_static_static(hs, id);
}

static void handshake_zero(struct mg_handshake *hs)
{
	mg_wipe(hs->ephemeral_private, MG_KEY_SIZE);
	mg_wipe(hs->remote_ephemeral, MG_KEY_SIZE);
	mg_wipe(hs->hash, MG_KEY_SIZE);
	mg_wipe(hs->chaining_key, MG_KEY_SIZE);
	hs->remote_index = 0;
	hs->state = MG_HANDSHAKE_ZEROED;
}

void mg_noise_handshake_clear(struct mg_handshake *hs, struct mg_index_table *indices)
{
	mg_index_remove(indices, &hs->entry);
	handshake_zero(hs);
}

bool mg_noise_create_initiation(struct mg_msg_initiation *dst, struct mg_handshake *hs,
				const struct mg_static_identity *id, struct mg_index_table *indices,
				const struct timespec *wall)
{
	uint8_t timestamp[MG_TIMESTAMP_SIZE];
	uint8_t key[MG_KEY_SIZE];
	uint8_t ephemeral_public[MG_KEY_SIZE];
	bool ret = false;

	if (!id->has_identity || !hs->static_static_valid)
		goto out;
	dst->type = htole32(MG_MSG_INITIATION);
	handshake_start(hs->chaining_key, hs->hash, hs->remote_static);

	generate_ephemeral(hs->ephemeral_private, ephemeral_public);
	message_ephemeral(dst->unencrypted_ephemeral, ephemeral_public, hs->chaining_key, hs->hash);
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	if (!message_encrypt(dst->encrypted_static, id->public_key, MG_KEY_SIZE, key, hs->hash))
		goto out;

	mix_precomputed_dh(hs->chaining_key, key, hs->precomputed_static_static);
	mg_tai64n(timestamp, wall);
	if (!message_encrypt(dst->encrypted_timestamp, timestamp, MG_TIMESTAMP_SIZE, key, hs->hash))
		goto out;

	dst->sender_index = htole32(mg_index_insert(indices, &hs->entry));
	hs->state = MG_HANDSHAKE_CREATED_INITIATION;
	ret = true;
out:
	mg_wipe(key, sizeof(key));
	if (!ret)
		handshake_zero(hs);
	return ret;
}

/* Replay and flood checks of an authenticated initiation (whitepaper 5.1). */
static bool initiation_is_fresh(const struct mg_handshake *hs,
				const uint8_t timestamp[MG_TIMESTAMP_SIZE], uint64_t now)
{
	if (memcmp(timestamp, hs->latest_timestamp, MG_TIMESTAMP_SIZE) <= 0)
		return false;
	return !hs->has_consumed_initiation ||
	       now >= hs->last_initiation_consumption + MG_NSEC_PER_SEC / INITIATIONS_PER_SECOND;
}

struct mg_peer *mg_noise_consume_initiation(const struct mg_msg_initiation *src,
					    const struct mg_static_identity *id,
					    struct mg_peer_table *peers, uint64_t now)
{
	uint8_t chaining_key[MG_KEY_SIZE], hash[MG_KEY_SIZE], key[MG_KEY_SIZE];
	uint8_t s[MG_KEY_SIZE], e[MG_KEY_SIZE], t[MG_TIMESTAMP_SIZE];
	struct mg_peer *peer = NULL;
	struct mg_handshake *hs;

	if (!id->has_identity)
		goto out;
	handshake_start(chaining_key, hash, id->public_key);
	message_ephemeral(e, src->unencrypted_ephemeral, chaining_key, hash);
	if (!mix_dh(chaining_key, key, id->private_key, e))
		goto out;
	if (!message_decrypt(s, src->encrypted_static, MG_KEY_SIZE, key, hash))
		goto out;

	peer = mg_peer_table_lookup(peers, s);
	if (!peer)
		goto out;
	hs = &peer->handshake;
	if (!hs->static_static_valid)
		goto fail;
	mix_precomputed_dh(chaining_key, key, hs->precomputed_static_static);
	if (!message_decrypt(t, src->encrypted_timestamp, MG_TIMESTAMP_SIZE, key, hash))
		goto fail;
	if (!initiation_is_fresh(hs, t, now))
		goto fail;

	memcpy(hs->remote_ephemeral, e, MG_KEY_SIZE);
	memcpy(hs->latest_timestamp, t, MG_TIMESTAMP_SIZE);
	memcpy(hs->hash, hash, MG_KEY_SIZE);
	memcpy(hs->chaining_key, chaining_key, MG_KEY_SIZE);
	hs->remote_index = le32toh(src->sender_index);
	hs->last_initiation_consumption = now;
	hs->has_consumed_initiation = true;
	hs->state = MG_HANDSHAKE_CONSUMED_INITIATION;
	goto out;
fail:
	peer = NULL;
out:
	mg_wipe(chaining_key, sizeof(chaining_key));
	mg_wipe(hash, sizeof(hash));
	mg_wipe(key, sizeof(key));
	mg_wipe(e, sizeof(e));
	return peer;
}

bool mg_noise_create_response(struct mg_msg_response *dst, struct mg_handshake *hs,
			      struct mg_index_table *indices)
{
	uint8_t key[MG_KEY_SIZE];
	uint8_t ephemeral_public[MG_KEY_SIZE];
	bool ret = false;

	if (hs->state != MG_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	dst->type = htole32(MG_MSG_RESPONSE);
	dst->receiver_index = htole32(hs->remote_index);

	generate_ephemeral(hs->ephemeral_private, ephemeral_public);
	message_ephemeral(dst->unencrypted_ephemeral, ephemeral_public, hs->chaining_key, hs->hash);
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_static))
		goto out;
	mix_psk(hs->chaining_key, hs->hash, key, hs->preshared_key);
	if (!message_encrypt(dst->encrypted_nothing, ephemeral_public, 0, key, hs->hash))
		goto out;

	dst->sender_index = htole32(mg_index_insert(indices, &hs->entry));
	hs->state = MG_HANDSHAKE_CREATED_RESPONSE;
	ret = true;
out:
	mg_wipe(key, sizeof(key));
	return ret;
}

struct mg_peer *mg_noise_consume_response(const struct mg_msg_response *src,
					  const struct mg_static_identity *id,
					  struct mg_index_table *indices)
{
	uint8_t chaining_key[MG_KEY_SIZE], hash[MG_KEY_SIZE], key[MG_KEY_SIZE];
	uint8_t e[MG_KEY_SIZE];
	struct mg_index_entry *entry;
	struct mg_handshake *hs;
	struct mg_peer *peer = NULL;

	if (!id->has_identity)
		goto out;
	entry = mg_index_lookup(indices, le32toh(src->receiver_index), MG_INDEX_HANDSHAKE);
	if (!entry)
		goto out;
	hs = &entry->peer->handshake;
	if (hs->state != MG_HANDSHAKE_CREATED_INITIATION)
		goto out;
	memcpy(chaining_key, hs->chaining_key, MG_KEY_SIZE);
	memcpy(hash, hs->hash, MG_KEY_SIZE);

	message_ephemeral(e, src->unencrypted_ephemeral, chaining_key, hash);
	if (!mix_dh(chaining_key, NULL, hs->ephemeral_private, e))
		goto out;
	if (!mix_dh(chaining_key, NULL, id->private_key, e))
		goto out;
	mix_psk(chaining_key, hash, key, hs->preshared_key);
	if (!message_decrypt(e, src->encrypted_nothing, 0, key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, e, MG_KEY_SIZE);
	memcpy(hs->hash, hash, MG_KEY_SIZE);
	memcpy(hs->chaining_key, chaining_key, MG_KEY_SIZE);
	hs->remote_index = le32toh(src->sender_index);
	hs->state = MG_HANDSHAKE_CONSUMED_RESPONSE;
	peer = entry->peer;
out:
	mg_wipe(chaining_key, sizeof(chaining_key));
	mg_wipe(hash, sizeof(hash));
	mg_wipe(key, sizeof(key));
	mg_wipe(e, sizeof(e));
	return peer;
}

static void keypair_free(struct mg_keypair *kp, struct mg_index_table *indices)
{
	if (!kp)
		return;
	mg_index_remove(indices, &kp->entry);
	mg_aead_forget(kp->send_key);
	mg_aead_forget(kp->receive_key);
	mg_wipe(kp, sizeof(*kp));
	free(kp);
}

/* The initiator may send at once, so its new keypair becomes current; the
 * responder's waits in next until the initiator proves it has it. */
static void add_new_keypair(struct mg_keypairs *kps, struct mg_keypair *kp,
			    struct mg_index_table *indices)
{
	if (kp->i_am_the_initiator) {
		if (kps->next) {
			keypair_free(kps->previous, indices);
			kps->previous = kps->next;
			kps->next = NULL;
			keypair_free(kps->current, indices);
		} else {
			keypair_free(kps->previous, indices);
			kps->previous = kps->current;
		}
		kps->current = kp;
	} else {
		keypair_free(kps->next, indices);
		kps->next = kp;
		keypair_free(kps->previous, indices);
		kps->previous = NULL;
	}
}

struct mg_keypair *mg_noise_begin_session(struct mg_handshake *hs, struct mg_keypairs *kps,
					  struct mg_index_table *indices, uint64_t now)
{
	struct mg_keypair *kp;
	bool initiator;

	if (hs->state == MG_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == MG_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return NULL;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return NULL;
	kp->entry.type = MG_INDEX_KEYPAIR;
	kp->entry.peer = hs->entry.peer;
	kp->i_am_the_initiator = initiator;
	kp->birth = now;
	kp->remote_index = hs->remote_index;
	mg_replay_init(&kp->replay);
	if (initiator)
		mg_kdf(kp->send_key, kp->receive_key, NULL, hs->chaining_key, MG_KEY_SIZE, NULL, 0);
	else
		mg_kdf(kp->receive_key, kp->send_key, NULL, hs->chaining_key, MG_KEY_SIZE, NULL, 0);
	kp->valid = true;
	mg_index_replace(indices, &hs->entry, &kp->entry);
	handshake_zero(hs);
	add_new_keypair(kps, kp, indices);
	return kp;
}

bool mg_noise_received_with_keypair(struct mg_keypairs *kps, struct mg_keypair *kp,
				    struct mg_index_table *indices)
{
	if (kp != kps->next)
		return false;
	keypair_free(kps->previous, indices);
	kps->previous = kps->current;
	kps->current = kps->next;
	kps->next = NULL;
	return true;
}

void mg_noise_keypairs_clear(struct mg_keypairs *kps, struct mg_index_table *indices)
{
	keypair_free(kps->previous, indices);
	keypair_free(kps->current, indices);
	keypair_free(kps->next, indices);
	kps->previous = kps->current = kps->next = NULL;
}

void mg_noise_expire_current_keypair(struct mg_keypairs *kps)
{
	/* Only sending stops: packets the peer sealed before it learns our new
	 * key still arrive and are still good. */
	if (kps->next)
		kps->next->send_counter = REJECT_AFTER_MESSAGES;
	if (kps->current)
		kps->current->send_counter = REJECT_AFTER_MESSAGES;
}
