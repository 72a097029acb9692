/* util/json: a document comes out on one line with libcjson's escaping,
 * bytes that are not UTF-8 become U+FFFD (so jq reads any interface name or
 * argument), and a failed addition makes the whole print fail with -ENOMEM
 * instead of writing an incomplete document. */
#include "check.h"
#include "util/json.h"

#include <errno.h>

static void structure(void)
{
	static const char want[] =
		"{\"s\":\"no\\\"such\\\\\\thost\xEF\xBF\xBD\xC3\xA9\","
		"\"n\":1.5,\"i\":51820,\"a\":[1,null,true],\"o\":{\"e\":\"192.0.2.1:"
		"51820\",\"z\":null}}\n";
	struct mg_endpoint ep;
	struct mg_json j;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cJSON *a, *o;

	CHECK(f != NULL);
	CHECK_EQ(mg_json_init(&j), 0);
	mg_json_string(&j, j.root, "s", "no\"such\\\thost\xff\xc3\xa9");
	mg_json_number(&j, j.root, "n", 1.5);
	mg_json_number(&j, j.root, "i", 51820);
	a = mg_json_array(&j, j.root, "a");
	mg_json_number(&j, a, NULL, 1);
	mg_json_null(&j, a, NULL);
	mg_json_bool(&j, a, NULL, true);
	o = mg_json_object(&j, j.root, "o");
	CHECK_EQ(mg_endpoint_parse(&ep, "192.0.2.1:51820"), 0);
	mg_json_endpoint(&j, o, "e", &ep);
	mg_json_string(&j, o, "z", NULL);
	CHECK_EQ(mg_json_print(&j, f), 0);
	fclose(f);
	mg_json_free(&j);
	if (strcmp(text, want))
		fprintf(stderr, "got  %s\nwant %s", text, want);
	CHECK(!strcmp(text, want));
	free(text);
}

static void sticky_failure(void)
{
	struct mg_json j;

	CHECK_EQ(mg_json_init(&j), 0);
	mg_json_bool(&j, j.root, "ok", true);
	mg_json_string(&j, NULL, "lost", "a parent that failed");
	CHECK(j.failed);
	CHECK_EQ(mg_json_print(&j, stdout), -ENOMEM);
	mg_json_free(&j);
}

int main(void)
{
	structure();
	sticky_failure();
	mg_test_pass("json");
	return 0;
}
