/* Time units. Every clock in meshguard counts nanoseconds in a uint64_t
 * (see util/clock.h); these name the conversions. */
#ifndef MG_UTIL_TIME_H
#define MG_UTIL_TIME_H

#include <stdint.h>

#define MG_NSEC_PER_SEC	 UINT64_C(1000000000)
#define MG_NSEC_PER_MSEC UINT64_C(1000000)

#endif
