/* The mapping journal: written before a mapping is asked for, read back
 * after a crash so the next mapper deletes the stale mapping (PCP with its
 * nonce) before it maps anything, pruned of other gateways' and expired
 * entries, removed on a clean exit, kept when the gateway did not answer
 * the delete. */
#include <fcntl.h>

#include "nat/portmap_journal.h"
#include "portmap_fake.h"

#define PCP MG_PORTMAP_PCP

static size_t slurp(const char *dir, char *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/portmap-51820", dir);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, cap - 1);
	CHECK(n > 0);
	close(fd);
	buf[n] = '\0';
	return (size_t)n;
}

static void spill(const char *dir, const char *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/portmap-51820", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void text_round_trip(void)
{
	struct mg_portmap_journal j, back;
	char text[1024];
	static const char messy[] =
		"# comment\n"
		"pcp 10.0.0.1 51820 198.51.100.1 40000 000102030405060708090a0b 1700000120\n"
		"upnp 10.0.0.1 51820 198.51.100.1 99999 000102030405060708090a0b 0\n"
		"natpmp 10.0.0.1 0 198.51.100.1 1 000102030405060708090a0b 0\n"
		"bogus 10.0.0.1 51820 198.51.100.1 1 000102030405060708090a0b 0\n"
		"upnp 10.0.0.300 51820 198.51.100.1 1 000102030405060708090a0b 0\n"
		"upnp 10.0.0.1 51820 198.51.100.1 1 0001020304050607 0\n"
		"natpmp 10.0.0.1 51820 0.0.0.0 0 ffffffffffffffffffffffff 0";

	memset(&j, 0, sizeof(j));
	CHECK_EQ(mg_portmap_journal_parse(&j, messy, strlen(messy)), 2);
	CHECK(j.entry[PCP].used);
	CHECK_EQ(j.entry[PCP].external_port, 40000);
	CHECK_EQ(j.entry[PCP].expires, 1700000120);
	CHECK_EQ(j.entry[PCP].nonce[11], 11);
	CHECK(!j.entry[MG_PORTMAP_UPNP].used);
	CHECK(j.entry[MG_PORTMAP_NATPMP].used);
	CHECK_EQ(j.entry[MG_PORTMAP_NATPMP].nonce[0], 0xff);
	int n = mg_portmap_journal_format(text, sizeof(text), &j);
	CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	CHECK_EQ(mg_portmap_journal_parse(&back, text, (size_t)n), 2);
	CHECK_MEM(back.entry, j.entry, sizeof(j.entry));
	CHECK_EQ(mg_portmap_journal_format(text, 40, &j), -ENOSPC);
}

static struct mg_portmap *start(uv_loop_t *loop, struct mg_portmap_config *c)
{
	struct mg_portmap *pm;
	CHECK_EQ(mg_portmap_start(&pm, loop, c, 51820, record_event, NULL), 0);
	return pm;
}

static void crash_then_cleanup(uv_loop_t *loop, struct mg_portmap_config *c, const char *dir)
{
	char snapshot[1024];
	uint8_t nonce[MG_PCP_NONCE_LEN];
	bool done = false;
	c->protocols = MG_PORTMAP_BIT(PCP);

	/* Write-ahead: the journal holds the mapping before the answer. */
	struct mg_portmap *pm = start(loop, c);
	CHECK(!journal_exists(dir));
	fake_reply(PCP, MG_PORTMAP_OP_PROBE, 0, 10, NULL, 0, 0);
	memcpy(nonce, fake_pending(PCP, MG_PORTMAP_OP_MAP)->nonce, sizeof(nonce));
	CHECK(journal_exists(dir));
	fake_reply(PCP, MG_PORTMAP_OP_MAP, 0, 10, "198.51.100.1", 40000, 120);
	size_t len = slurp(dir, snapshot, sizeof(snapshot));
	CHECK(strstr(snapshot, "pcp 10.0.0.1 51820 198.51.100.1 40000 ") != NULL);

	/* The process "crashes": its journal is what it left; this mapper is
	 * only closed to free it, and the file put back as it was. */
	mg_portmap_close(pm, closed, &done);
	fake_reply(PCP, MG_PORTMAP_OP_DELETE, 0, 11, NULL, 0, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done && !journal_exists(dir));
	spill(dir, snapshot, len);

	/* The next start deletes the stale mapping first, with its nonce and
	 * port, and probes only after that. */
	memset(&events, 0, sizeof(events));
	pm = start(loop, c);
	struct mg_portmap_op *op = fake_pending(PCP, MG_PORTMAP_OP_DELETE);
	CHECK_MEM(op->nonce, nonce, sizeof(nonce));
	CHECK_EQ(op->external_port, 40000);
	CHECK_EQ(op->internal_port, 51820);
	CHECK_EQ(op->lifetime_s, 0);
	fake_reply(PCP, MG_PORTMAP_OP_DELETE, 0, 12, NULL, 0, 0);
	CHECK(!journal_exists(dir));
	fake_pending(PCP, MG_PORTMAP_OP_PROBE);

	/* A clean exit whose delete gets no answer keeps the entry. */
	fake_reply(PCP, MG_PORTMAP_OP_PROBE, 0, 12, NULL, 0, 0);
	CHECK(memcmp(fake_pending(PCP, MG_PORTMAP_OP_MAP)->nonce, nonce, sizeof(nonce)) != 0);
	fake_reply(PCP, MG_PORTMAP_OP_MAP, 0, 12, "198.51.100.1", 40001, 120);
	done = false;
	mg_portmap_close(pm, closed, &done);
	fake_reply(PCP, MG_PORTMAP_OP_DELETE, -ETIMEDOUT, 0, NULL, 0, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done && journal_exists(dir));
}

/* Entries of another gateway, or whose lease ended, are dropped unasked;
 * one protocol's stale mapping is deleted even when another is forced. */
static void prune(uv_loop_t *loop, struct mg_portmap_config *c, const char *dir)
{
	char text[512];
	bool done = false;
	int64_t now = 1700000000 + (int64_t)(fake_now / SEC);
	int n = snprintf(text, sizeof(text),
			 "natpmp 10.9.9.9 51820 198.51.100.1 40000 000102030405060708090a0b 0\n"
			 "pcp 10.0.0.1 51820 198.51.100.1 40000 000102030405060708090a0b %lld\n"
			 "upnp 10.0.0.1 51820 198.51.100.1 40005 000102030405060708090a0b %lld\n",
			 (long long)now - 1, (long long)now + 100);

	spill(dir, text, (size_t)n);
	c->protocols = MG_PORTMAP_BIT(MG_PORTMAP_NATPMP);
	struct mg_portmap *pm = start(loop, c);
	CHECK(fakes[PCP].op == NULL);
	CHECK(fakes[MG_PORTMAP_NATPMP].op == NULL);
	struct mg_portmap_op *op = fake_pending(MG_PORTMAP_UPNP, MG_PORTMAP_OP_DELETE);
	CHECK_EQ(op->external_port, 40005);
	fake_reply(MG_PORTMAP_UPNP, MG_PORTMAP_OP_DELETE, 0, 0, NULL, 0, 0);
	CHECK(!journal_exists(dir));
	fake_pending(MG_PORTMAP_NATPMP, MG_PORTMAP_OP_PROBE);
	mg_portmap_close(pm, closed, &done);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done && !journal_exists(dir));
}

int main(void)
{
	char dir[64];
	uv_loop_t loop;
	struct mg_portmap_config c = fake_config(dir);

	text_round_trip();
	CHECK_EQ(uv_loop_init(&loop), 0);
	crash_then_cleanup(&loop, &c, dir);
	/* The entry kept above is deleted by the next start. */
	c.protocols = MG_PORTMAP_BIT(PCP);
	struct mg_portmap *pm = start(&loop, &c);
	CHECK_EQ(fake_pending(PCP, MG_PORTMAP_OP_DELETE)->external_port, 40001);
	fake_reply(PCP, MG_PORTMAP_OP_DELETE, 0, 13, NULL, 0, 0);
	CHECK(!journal_exists(dir));
	bool done = false;
	mg_portmap_close(pm, closed, &done);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(done);
	prune(&loop, &c, dir);
	CHECK_EQ(uv_loop_close(&loop), 0);
	remove_dir(dir);
	mg_test_pass("portmap_journal");
	return 0;
}
