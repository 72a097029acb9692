/* Real state directories for the state and admin tests: made under /tmp
 * with a unique name, removed with everything in them at the end. */
#ifndef MG_TEST_MESH_STATE_FIXTURE_H
#define MG_TEST_MESH_STATE_FIXTURE_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mesh_fixture.h"
#include "mesh/admin.h"
#include "mesh/state.h"

#define SD_T0 UINT64_C(1800000000)

/* A new 0700 directory; path has room for PATH_MAX. */
static inline void sd_make(char *path)
{
	snprintf(path, PATH_MAX, "/tmp/mg-state-test-%ld-XXXXXX", (long)getpid());
	CHECK(mkdtemp(path) != NULL);
	CHECK_EQ(chmod(path, 0700), 0);
}

static inline int sd_unlink(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void sd_remove(const char *path)
{
	/* A test may have made it unreadable: put the mode back first. */
	chmod(path, 0700);
	CHECK_EQ(nftw(path, sd_unlink, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Files in dir (not recursing) whose name starts with '.', but . and .. */
static inline int sd_count_tmp(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* The whole file at dir/name into buf[cap]; its length, or -1. */
static inline long sd_slurp(const char *dir, const char *name, void *buf, size_t cap)
{
	char path[PATH_MAX + 64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return (long)n;
}

static inline void sd_spit(const char *dir, const char *name, const void *buf, size_t len,
			   mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK_EQ(fwrite(buf, 1, len, f), len);
	CHECK_EQ(fclose(f), 0);
	CHECK_EQ(chmod(path, mode), 0);
}

/* init with fixed prefixes and one endpoint, so that no test depends on
 * this host's addresses. */
static inline int sd_init(const char *dir, const char *node, char *err, size_t errlen)
{
	static const char *const eps[] = { "192.0.2.10:51820", "vpn.example.net:4500" };
	struct mg_mesh_init_params p = {
		.mesh_name = "testmesh",
		.node = node,
		.prefix4 = "100.70.0.0/16",
		.prefix6 = "fd12:3456:789a::/48",
		.endpoints = eps,
		.n_endpoints = 2,
		.now = SD_T0,
	};
	return mg_mesh_admin_init(dir, &p, err, errlen);
}

#endif
