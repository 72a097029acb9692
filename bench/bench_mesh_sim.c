/* The gossip at scale, in one process: n members (100, 300, 1000 by
 * default), each a real directory and gossip engine, over the in-memory
 * network of tests/unit/mesh_sim.h with a fake clock (rounds of 1 s, the
 * default config), no WireGuard. For each n, from a mesh where all agree
 * and nothing is hot:
 *   - join: a new member's certificate arrives at one member (the join
 *     exchange); the newcomer starts from that member's directory and
 *     announces itself;
 *   - revoke: the authority's revocation of one member is published at
 *     another;
 * and for each event: rounds and simulated seconds until every member holds
 * the same items (same digest), bytes sent per member (total over the
 * event, per round, and the busiest member's), datagrams refused. Also the
 * quiet traffic (a round with nothing new) and the memory per member: the
 * bytes the directory allocates plus the directory and gossip structs.
 * Between the events the mesh runs until every rumor has cooled.
 *
 * Usage: bench_mesh_sim [--sizes 100,300,1000] [--json PATH] [--commit SHA]
 * Prints a table; with --json also writes the raw figures there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/unit/mesh_sim.h"

#define MAX_ROUNDS 200

struct event {
	size_t rounds, members; /* members that take part */
	uint64_t bytes, max_member;
	uint64_t refused, unknown;
};

struct result {
	size_t n;
	struct event join, revoke;
	uint64_t quiet_bytes;
	size_t memory;
	double setup_s, wall_s;
};

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void snapshot(const struct sim *s, uint64_t *per)
{
	for (size_t i = 0; i < s->n; i++)
		per[i] = s->nodes[i]->g.stats.sent_bytes;
}

/* Runs rounds until all agree with ref, and fills e. */
static void measure(struct sim *s, const struct sim_node *ref, struct event *e, uint64_t *before)
{
	uint64_t refused = s->refused, unknown = s->unknown;

	e->rounds = sim_until_agree(s, ref, MAX_ROUNDS);
	e->bytes = e->max_member = 0;
	e->members = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t b = s->nodes[i]->g.stats.sent_bytes - before[i];
		e->bytes += b;
		if (b > e->max_member)
			e->max_member = b;
		e->members += !s->nodes[i]->gone;
	}
	e->refused = s->refused - refused;
	e->unknown = s->unknown - unknown;
}

static bool all_cool(const struct sim *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->nodes[i]->gone && s->nodes[i]->g.n_hot > 0)
			return false;
	return true;
}

static void cool_down(struct sim *s)
{
	for (int r = 0; r < 2 * MG_GOSSIP_HOT_ROUNDS && !all_cool(s); r++)
		sim_round(s);
	/* The newcomer's introduction rounds, too. */
	for (size_t i = 0; i < s->n; i++)
		s->nodes[i]->g.intro_left = 0;
}

static size_t memory(const struct sim *s)
{
	size_t m = 0, live = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->nodes[i]->gone)
			continue;
		m += s->nodes[i]->dir.bytes + sizeof(struct mg_directory) +
		     sizeof(struct mg_gossip);
		live++;
	}
	return m / live;
}

static void run(size_t n, struct result *r)
{
	struct sim s;
	uint64_t *before = calloc(n + 2, sizeof(*before));
	struct sim_node *x;
	double t0 = wall();

	CHECK(before != NULL);
	r->n = n;
	sim_init(&s, n, NULL, 42 + n);
	r->setup_s = wall() - t0;
	t0 = wall();

	snapshot(&s, before);
	before[n] = 0;
	x = sim_join(&s, s.nodes[0]);
	measure(&s, x, &r->join, before);
	cool_down(&s);

	snapshot(&s, before);
	sim_revoke(&s, s.nodes[n / 2], s.nodes[1]);
	measure(&s, s.nodes[1], &r->revoke, before);
	cool_down(&s);

	snapshot(&s, before);
	sim_round(&s);
	r->quiet_bytes = 0;
	for (size_t i = 0; i < s.n; i++)
		r->quiet_bytes += s.nodes[i]->g.stats.sent_bytes - before[i];
	r->quiet_bytes /= n; /* n live members after one join and one revocation */
	r->memory = memory(&s);
	r->wall_s = wall() - t0;
	sim_free(&s);
	free(before);
}

static void print_event(const char *name, const struct result *r, const struct event *e)
{
	size_t members = e->members;

	printf("%6zu  %-7s %6zu %6zu %12.0f %11.0f %11llu %8llu\n", r->n, name, e->rounds,
	       e->rounds, (double)e->bytes / (double)members,
	       (double)e->bytes / (double)members / (double)e->rounds,
	       (unsigned long long)e->max_member, (unsigned long long)e->refused);
}

static void json_event(FILE *f, const char *name, const struct event *e)
{
	size_t members = e->members;

	fprintf(f,
		"\"%s\": {\"rounds\": %zu, \"sim_seconds\": %zu, \"bytes_total\": %llu, "
		"\"bytes_per_member\": %.1f, \"bytes_per_member_per_round\": %.1f, "
		"\"bytes_busiest_member\": %llu, \"refused\": %llu, \"refused_unknown_sender\": "
		"%llu}",
		name, e->rounds, e->rounds, (unsigned long long)e->bytes,
		(double)e->bytes / (double)members,
		(double)e->bytes / (double)members / (double)e->rounds,
		(unsigned long long)e->max_member, (unsigned long long)e->refused,
		(unsigned long long)e->unknown);
}

static void write_json(const char *path, const char *commit, const struct result *res, size_t k)
{
	struct mg_gossip_config c;
	FILE *f = fopen(path, "w");
	time_t now = time(NULL);
	char date[32];

	CHECK(f != NULL);
	mg_gossip_config_default(&c);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "{\"bench\": \"mesh-sim\", \"date\": \"%s\", \"commit\": \"%s\",\n", date,
		commit);
	fprintf(f,
		" \"config\": {\"round_ms\": %u, \"fanout\": %u, \"ae_every\": %u, "
		"\"rumor_misses\": %u, \"reply_max\": %u, \"round_budget\": %u, "
		"\"intro_rounds\": %u, \"buckets\": %d},\n",
		c.round_ms, c.fanout, c.ae_every, c.rumor_misses, c.reply_max, c.round_budget,
		c.intro_rounds, MG_DIR_BUCKETS);
	fprintf(f, " \"results\": [\n");
	for (size_t i = 0; i < k; i++) {
		fprintf(f, "  {\"n\": %zu, ", res[i].n);
		json_event(f, "join", &res[i].join);
		fprintf(f, ", ");
		json_event(f, "revoke", &res[i].revoke);
		fprintf(f,
			", \"quiet_bytes_per_member_per_round\": %llu, \"memory_per_member\": %zu, "
			"\"setup_seconds\": %.2f, \"wall_seconds\": %.2f}%s\n",
			(unsigned long long)res[i].quiet_bytes, res[i].memory, res[i].setup_s,
			res[i].wall_s, i + 1 < k ? "," : "");
	}
	fprintf(f, " ]}\n");
	CHECK_EQ(fclose(f), 0);
}

int main(int argc, char **argv)
{
	size_t sizes[8] = { 100, 300, 1000 }, k = 3;
	const char *json = NULL, *commit = "unknown";
	struct result res[8];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--json") == 0) {
			json = argv[i + 1];
		} else if (strcmp(argv[i], "--commit") == 0) {
			commit = argv[i + 1];
		} else if (strcmp(argv[i], "--sizes") == 0) {
			char *p = argv[i + 1];
			for (k = 0; k < 8 && *p; k++) {
				sizes[k] = strtoul(p, &p, 10);
				CHECK(sizes[k] >= 3);
				p += *p == ',';
			}
		} else {
			fprintf(stderr,
				"usage: %s [--sizes 100,300,1000] [--json PATH] "
				"[--commit SHA]\n",
				argv[0]);
			return 2;
		}
	}
	printf("     n  event   rounds  sim s  bytes/member  /member/rnd  busiest B  refused\n");
	for (size_t i = 0; i < k; i++) {
		run(sizes[i], &res[i]);
		print_event("join", &res[i], &res[i].join);
		print_event("revoke", &res[i], &res[i].revoke);
		printf("        quiet round %llu B/member, memory %zu B/member (setup %.1f s, run "
		       "%.1f "
		       "s)\n",
		       (unsigned long long)res[i].quiet_bytes, res[i].memory, res[i].setup_s,
		       res[i].wall_s);
		fflush(stdout);
	}
	if (json)
		write_json(json, commit, res, k);
	return 0;
}
