/* The control socket's request parser (mesh/control.h): the shape is
 * checked, values come back by key (repeated keys in order), and every
 * rule broken is -EINVAL; an unfinished request is -ENODATA. */
#include <errno.h>

#include "check.h"
#include "mesh/control.h"

static int parse(const char *s)
{
	struct mg_control_request r;

	return mg_control_parse(&r, s, strlen(s));
}

int main(void)
{
	const char *req = "invite\nname=a\ngroup=x\ngroup=y\nexpires=\n\nstatus\n\n";
	struct mg_control_request r;
	char v[8], big[MG_CONTROL_VALUE_MAX + 64];
	size_t from = 0;

	CHECK_EQ(mg_control_parse(&r, req, strlen(req)), 40);
	CHECK(!strcmp(r.command, "invite"));
	CHECK_EQ(r.n_pairs, 4);
	CHECK(mg_control_get(&r, "name", NULL, v, sizeof(v)) && !strcmp(v, "a"));
	CHECK(mg_control_get(&r, "group", &from, v, sizeof(v)) && !strcmp(v, "x"));
	CHECK(mg_control_get(&r, "group", &from, v, sizeof(v)) && !strcmp(v, "y"));
	CHECK(!mg_control_get(&r, "group", &from, v, sizeof(v)));
	CHECK(mg_control_get(&r, "expires", NULL, v, sizeof(v)) && !strcmp(v, ""));
	CHECK(!mg_control_get(&r, "uses", NULL, v, sizeof(v)));
	CHECK(!mg_control_get(&r, "name", NULL, v, 1)); /* no room for "a" and its NUL */

	CHECK_EQ(parse("leave\n\n"), 7);
	CHECK_EQ(parse("leave\n"), -ENODATA);
	CHECK_EQ(parse("lea"), -ENODATA);
	CHECK_EQ(parse("Leave\n\n"), -EINVAL);
	CHECK_EQ(parse("\n\n"), -EINVAL);
	CHECK_EQ(parse("averyveryverylongcommand\n\n"), -EINVAL);
	CHECK_EQ(parse("invite\nname\n\n"), -EINVAL);
	CHECK_EQ(parse("invite\n=a\n\n"), -EINVAL);
	CHECK_EQ(parse("invite\nNa-me=a\n\n"), -EINVAL);
	CHECK_EQ(mg_control_parse(&r, "invite\nname=a\0b\n\n", 17), -EINVAL);
	CHECK_EQ(parse("s\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na="
		       "1\n"
		       "a=1\n\n"),
		 67);
	CHECK_EQ(parse("s\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\na="
		       "1\n"
		       "a=1\na=1\n\n"),
		 -EINVAL);
	memset(big, 'x', sizeof(big));
	memcpy(big, "s\nitem=", 7);
	big[7 + MG_CONTROL_VALUE_MAX] = '\n';
	big[8 + MG_CONTROL_VALUE_MAX] = '\n';
	CHECK_EQ(mg_control_parse(&r, big, 9 + MG_CONTROL_VALUE_MAX), 9 + MG_CONTROL_VALUE_MAX);
	big[7 + MG_CONTROL_VALUE_MAX] = 'x';
	CHECK_EQ(mg_control_parse(&r, big, sizeof(big)), -EINVAL);
	mg_test_pass("mesh_control");
	return 0;
}
