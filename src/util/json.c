#include "util/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mg_json_init(struct mg_json *j)
{
	j->root = cJSON_CreateObject();
	j->failed = !j->root;
	return j->root ? 0 : -ENOMEM;
}

void mg_json_free(struct mg_json *j)
{
	cJSON_Delete(j->root);
	j->root = NULL;
}

/* Takes item (NULL: its creation failed) and hangs it under parent. */
static cJSON *add(struct mg_json *j, cJSON *parent, const char *key, cJSON *item)
{
	bool ok = false;

	if (item && parent)
		ok = cJSON_IsArray(parent) ? cJSON_AddItemToArray(parent, item)
					   : cJSON_AddItemToObject(parent, key, item);
	if (ok)
		return item;
	cJSON_Delete(item);
	j->failed = true;
	return NULL;
}

cJSON *mg_json_object(struct mg_json *j, cJSON *parent, const char *key)
{
	return add(j, parent, key, cJSON_CreateObject());
}

cJSON *mg_json_array(struct mg_json *j, cJSON *parent, const char *key)
{
	return add(j, parent, key, cJSON_CreateArray());
}

/* The length of the well-formed multi-byte UTF-8 sequence at s (2-4), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;

	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0; /* continuation byte, overlong lead, or beyond U+10FFFF */
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also stops at the terminating zero */
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0; /* overlong, surrogate, or beyond U+10FFFF */
	return n;
}

/* A copy of s (malloc'd) that is valid UTF-8: libcjson escapes quotes,
 * backslashes and control characters but passes other bytes through. */
static char *valid_utf8(const char *str)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	const unsigned char *s = (const unsigned char *)str;
	char *out = malloc(3 * strlen(str) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		size_t n = *s < 0x80 ? 1 : utf8_sequence(s);
		if (n) {
			memcpy(o, s, n);
			o += n, s += n;
		} else {
			memcpy(o, replacement, 3);
			o += 3, s++;
		}
	}
	*o = 0;
	return out;
}

void mg_json_string(struct mg_json *j, cJSON *parent, const char *key, const char *s)
{
	char *copy;

	if (!s) {
		mg_json_null(j, parent, key);
		return;
	}
	copy = valid_utf8(s);
	add(j, parent, key, copy ? cJSON_CreateString(copy) : NULL);
	free(copy);
}

void mg_json_number(struct mg_json *j, cJSON *parent, const char *key, double v)
{
	add(j, parent, key, cJSON_CreateNumber(v));
}

void mg_json_bool(struct mg_json *j, cJSON *parent, const char *key, bool v)
{
	add(j, parent, key, cJSON_CreateBool(v));
}

void mg_json_null(struct mg_json *j, cJSON *parent, const char *key)
{
	add(j, parent, key, cJSON_CreateNull());
}

void mg_json_endpoint(struct mg_json *j, cJSON *parent, const char *key,
		      const struct mg_endpoint *ep)
{
	char s[MG_ENDPOINT_STRLEN];

	mg_endpoint_format(s, sizeof(s), ep);
	mg_json_string(j, parent, key, s);
}

int mg_json_print(const struct mg_json *j, FILE *out)
{
	char *text;
	int ret = 0;

	if (j->failed)
		return -ENOMEM;
	text = cJSON_PrintUnformatted(j->root);
	if (!text)
		return -ENOMEM;
	if (fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF)
		ret = -EIO;
	cJSON_free(text);
	return ret;
}
