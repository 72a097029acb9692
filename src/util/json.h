/* Building a JSON document with libcjson, for reports a program prints
 * (netcheck --json; later status). The builder keeps one sticky error, so
 * code that adds many fields checks once, at mg_json_print, instead of
 * after every allocation; an adder given a NULL parent (one whose creation
 * failed) only marks the document failed. Strings are made valid UTF-8
 * first (any byte that is not part of a well-formed sequence becomes
 * U+FFFD), so the output is valid JSON whatever an argument or interface
 * name holds. Not for the data path: every call allocates. */
#ifndef MG_UTIL_JSON_H
#define MG_UTIL_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "util/ipaddr.h"

struct mg_json {
	cJSON *root; /* an object */
	bool failed; /* out of memory: the document is incomplete */
};

/* 0 or -ENOMEM. */
int mg_json_init(struct mg_json *j);
void mg_json_free(struct mg_json *j);

/* Each adds to parent: under key when parent is an object, at the end
 * (key ignored) when it is an array. */
cJSON *mg_json_object(struct mg_json *j, cJSON *parent, const char *key);
cJSON *mg_json_array(struct mg_json *j, cJSON *parent, const char *key);
/* s NULL: null. */
void mg_json_string(struct mg_json *j, cJSON *parent, const char *key, const char *s);
void mg_json_number(struct mg_json *j, cJSON *parent, const char *key, double v);
void mg_json_bool(struct mg_json *j, cJSON *parent, const char *key, bool v);
void mg_json_null(struct mg_json *j, cJSON *parent, const char *key);
/* The remote address as mg_endpoint_format writes it. */
void mg_json_endpoint(struct mg_json *j, cJSON *parent, const char *key,
		      const struct mg_endpoint *ep);

/* Writes the document on one line and a newline. 0, -ENOMEM (the document
 * or its text is incomplete: nothing written) or -EIO. */
int mg_json_print(const struct mg_json *j, FILE *out);

#endif
