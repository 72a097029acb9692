/* Cryptokey routing table cost: nanoseconds per lookup and heap bytes per
 * route at 1k, 100k and 1M random routes, IPv4 only and mixed IPv4/IPv6.
 *
 * Routes are random, mostly long (IPv4 /16../32, IPv6 /32../128) and spread
 * over 1,000 peers. Three quarters of the probe addresses fall inside some
 * inserted route, the rest are anywhere. Memory is the heap in use as glibc
 * counts it (mallinfo2), so it includes allocator overhead per node. */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macros.h"
#include "peer/allowedips.h"

#define NPEERS	1000
#define NPROBES (1u << 20)
#define ROUNDS	8 /* lookups per row: ROUNDS * NPROBES */

struct probe {
	uint8_t family;
	uint8_t addr[16];
};

static max_align_t fake_peers[NPEERS];
static uint64_t rng_state = UINT64_C(0x62656e6368);

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

static void random_prefix(struct mg_prefix *p, bool v4_only)
{
	memset(p, 0, sizeof(*p));
	p->family = v4_only || rnd() & 1 ? AF_INET : AF_INET6;
	for (int i = 0; i < 16; i += 8) {
		uint64_t r = rnd();
		memcpy(p->addr + i, &r, 8);
	}
	if (p->family == AF_INET)
		p->cidr = (uint8_t)(16 + rnd() % 17);
	else
		p->cidr = (uint8_t)(32 + rnd() % 97);
	mg_prefix_mask(p);
}

/* An address inside p: its prefix bits, random host bits. */
static void probe_inside(struct probe *pr, const struct mg_prefix *p)
{
	struct mg_prefix host = *p;

	random_prefix(&host, p->family == AF_INET);
	host.family = p->family;
	for (int bit = 0; bit < p->cidr; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		host.addr[bit / 8] = (uint8_t)((host.addr[bit / 8] & ~m) | (p->addr[bit / 8] & m));
	}
	pr->family = p->family;
	memcpy(pr->addr, host.addr, 16);
}

/* Fills t with n random routes; the probes sample them. Returns insert ns. */
static double fill(struct mg_allowedips *t, size_t n, bool v4_only, struct probe *probes)
{
	struct mg_prefix *routes = malloc(n * sizeof(*routes));
	double start;

	if (!routes)
		exit(1);
	for (size_t i = 0; i < n; i++)
		random_prefix(&routes[i], v4_only);
	start = now_ns();
	for (size_t i = 0; i < n; i++)
		if (mg_allowedips_insert(t, &routes[i], (struct mg_peer *)&fake_peers[i % NPEERS]))
			exit(1);
	start = (now_ns() - start) / (double)n;
	for (size_t i = 0; i < NPROBES; i++) {
		struct mg_prefix any;
		if (rnd() % 4) {
			probe_inside(&probes[i], &routes[rnd() % n]);
			continue;
		}
		random_prefix(&any, v4_only);
		probes[i].family = any.family;
		memcpy(probes[i].addr, any.addr, 16);
	}
	free(routes);
	return start;
}

static double time_lookups(const struct mg_allowedips *t, const struct probe *probes, size_t *hits)
{
	uintptr_t sink = 0;
	double start = now_ns();

	*hits = 0;
	for (unsigned r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NPROBES; i++) {
			struct mg_peer *p =
				mg_allowedips_lookup(t, probes[i].family, probes[i].addr);
			sink += (uintptr_t)p;
			*hits += p != NULL;
		}
	start = (now_ns() - start) / ((double)ROUNDS * NPROBES);
	if (sink == 1)
		puts("");
	return start;
}

static void row(size_t n, bool v4_only, struct probe *probes)
{
	struct mg_allowedips t;
	size_t heap0 = heap_in_use(), bytes, hits;
	double insert_ns, lookup_ns;

	mg_allowedips_init(&t);
	insert_ns = fill(&t, n, v4_only, probes);
	bytes = heap_in_use() - heap0;
	lookup_ns = time_lookups(&t, probes, &hits);
	printf("%9zu  %-7s  %9zu  %9.1f  %5.1f%%  %11.1f  %9.1f\n", n, v4_only ? "v4" : "v4+v6",
	       mg_allowedips_count(&t), lookup_ns, 100.0 * (double)hits / (ROUNDS * NPROBES),
	       (double)bytes / (double)mg_allowedips_count(&t), insert_ns);
	mg_allowedips_free(&t);
}

int main(void)
{
	static const size_t sizes[] = { 1000, 100000, 1000000 };
	struct probe *probes = malloc(NPROBES * sizeof(*probes));

	if (!probes)
		return 1;
	printf("%9s  %-7s  %9s  %9s  %6s  %11s  %9s\n", "inserted", "family", "routes", "ns/lookup",
	       "hit", "bytes/route", "ns/insert");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		row(sizes[i], false, probes);
		row(sizes[i], true, probes);
	}
	free(probes);
	return 0;
}
