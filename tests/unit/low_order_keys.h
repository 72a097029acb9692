/* The X25519 public keys of small order (base64) that the kernel's netns.sh
 * gives peers: every shared secret with them is zero. */
#ifndef MG_TEST_LOW_ORDER_KEYS_H
#define MG_TEST_LOW_ORDER_KEYS_H

#include <stddef.h>

static const char *const low_order[] = {
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
	"X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=",
	"7P///////////////////////////////////////38=",
	"7f///////////////////////////////////////38=",
	"7v///////////////////////////////////////38=",
};
#define N_LOW (sizeof(low_order) / sizeof(low_order[0]))

#endif
