/* The port mapping journal's files: a state directory that group or others
 * may write to is refused with a message that says how to fix it; a
 * journal that is a symbolic link or a FIFO is refused at once (never
 * followed, never blocked on); a link or a FIFO where the temporary file
 * goes is replaced, not written through or blocked on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "nat/portmap_journal.h"

#define PORT 51820

static char dir[64], victim[128], path[128], tmp[160], err[PATH_MAX + 128];

static void entry(struct mg_portmap_journal *j)
{
	struct mg_portmap_journal_entry *e = &j->entry[MG_PORTMAP_NATPMP];

	e->used = true;
	e->gateway.s_addr = htonl(0xc0a80101);
	e->internal_port = PORT;
	e->external_port = PORT;
	e->external_addr.s_addr = htonl(0xcb007101);
}

static void victim_untouched(void)
{
	char buf[32] = "";
	FILE *f = fopen(victim, "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	CHECK(strcmp(buf, "elsewhere\n") == 0);
}

static void writable_dir(void)
{
	struct mg_portmap_journal j;

	CHECK_EQ(chmod(dir, 0777), 0);
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, dir) != NULL);
	CHECK(strstr(err, "writable by group or others (mode 0777)") != NULL);
	CHECK(strstr(err, "chmod 700") != NULL);
	CHECK_EQ(chmod(dir, 0730), 0);
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), -EACCES);
	CHECK_EQ(chmod(dir, 01777), 0); /* sticky does not make it ours */
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), -EACCES);
	CHECK_EQ(chmod(dir, 0755), 0); /* readable is fine: it holds no secret */
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), 0);
	CHECK_EQ(chmod(dir, 0700), 0);
}

static void planted_journal(void)
{
	struct mg_portmap_journal j;

	CHECK_EQ(symlink(victim, path), 0);
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_EQ(unlink(path), 0);

	CHECK_EQ(mkfifo(path, 0600), 0);
	alarm(10); /* a blocking open would hang the test: fail it instead */
	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), -EINVAL);
	alarm(0);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK_EQ(unlink(path), 0);
}

static void planted_tmp(void)
{
	struct mg_portmap_journal j;
	struct stat sb;

	CHECK_EQ(mg_portmap_journal_open(&j, dir, PORT, err, sizeof(err)), 0);
	entry(&j);
	CHECK_EQ(symlink(victim, tmp), 0);
	CHECK_EQ(mg_portmap_journal_save(&j), 0);
	victim_untouched();
	CHECK_EQ(lstat(path, &sb), 0);
	CHECK(S_ISREG(sb.st_mode));
	CHECK_EQ(lstat(tmp, &sb), -1);

	CHECK_EQ(mkfifo(tmp, 0600), 0);
	alarm(10);
	CHECK_EQ(mg_portmap_journal_save(&j), 0); /* an O_WRONLY open of a FIFO blocks */
	alarm(0);
	CHECK_EQ(lstat(tmp, &sb), -1);

	struct mg_portmap_journal again;
	CHECK_EQ(mg_portmap_journal_open(&again, dir, PORT, err, sizeof(err)), 0);
	CHECK(again.entry[MG_PORTMAP_NATPMP].used);
	CHECK_EQ(again.entry[MG_PORTMAP_NATPMP].external_port, PORT);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mg-journal-test-%ld-XXXXXX", (long)getpid());
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(chmod(dir, 0700), 0);
	snprintf(victim, sizeof(victim), "%s.victim", dir);
	snprintf(path, sizeof(path), "%s/portmap-%u", dir, PORT);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(victim, "w");
	CHECK(f != NULL);
	fputs("elsewhere\n", f);
	fclose(f);

	writable_dir();
	planted_journal();
	planted_tmp();

	unlink(path);
	unlink(tmp);
	unlink(victim);
	CHECK_EQ(rmdir(dir), 0);
	mg_test_pass("portmap_journal_files");
	return 0;
}
