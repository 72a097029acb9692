/* TAI64N: a known wall time gives known bytes, the low 24 bits of the
 * nanoseconds are dropped, and later times compare greater as byte strings,
 * which is how the responder checks replayed initiations. */
#include "check.h"
#include "crypto/primitives.h"

static void label(uint8_t out[MG_TAI64N_LEN], time_t sec, long nsec)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };

	mg_tai64n(out, &ts);
}

int main(void)
{
	/* 1500000000 s, 123456789 ns: 0x400000000000000a + 0x59682f00, then
	 * 0x075bcd15 with its low 24 bits cleared. */
	static const struct {
		time_t sec;
		long nsec;
	} ordered[] = {
		{ 0, 0 },
		{ 0, 16777216 },
		{ 0, 999999999 },
		{ 1, 0 },
		{ 1500000000, 123456789 },
		{ 1500000000, 999999999 },
		{ 1500000001, 16777216 },
		{ 4102444800, 0 },
	};
	uint8_t want[MG_TAI64N_LEN], a[MG_TAI64N_LEN], b[MG_TAI64N_LEN];
	size_t i;

	mg_test_unhex(want, sizeof(want), "4000000059682f0a07000000");
	label(a, 1500000000, 123456789);
	CHECK_MEM(a, want, sizeof(want));

	/* Times within one 2^24 ns step are indistinguishable. */
	label(a, 1500000000, 117440512);
	label(b, 1500000000, 134217727);
	CHECK_MEM(a, b, sizeof(a));

	for (i = 1; i < sizeof(ordered) / sizeof(ordered[0]); i++) {
		label(a, ordered[i - 1].sec, ordered[i - 1].nsec);
		label(b, ordered[i].sec, ordered[i].nsec);
		CHECK(memcmp(a, b, MG_TAI64N_LEN) < 0);
	}
	mg_test_pass("test_crypto_tai64n");
	return 0;
}
