/* The few macros every module wants, defined once. */
#ifndef MG_UTIL_MACROS_H
#define MG_UTIL_MACROS_H

#include <stddef.h>

/* The struct that embeds member, from a pointer to that member (libuv
 * handles are embedded in their owners and recovered this way). */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
