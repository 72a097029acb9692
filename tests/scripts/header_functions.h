/* Input of test_header_functions.sh: every way a name can look like a
 * function without being one, and declarations spread over lines. Not a
 * real header: "int not_in_a_comment(void);" must not count. */
#ifndef MG_TEST_HEADER_FUNCTIONS_H
#define MG_TEST_HEADER_FUNCTIONS_H

#include <stddef.h>
#include <stdio.h>

#define MG_LIKE_A_CALL(x) ((x) + 1)
#define MG_DECLARE(name)  int name(void)

typedef void (*mg_callback_fn)(void *user, int what);
typedef int mg_function_type(int);

struct mg_table {
	int (*op)(int a);
	void (*close)(struct mg_table *t);
	mg_callback_fn cb;
};

extern int mg_a_variable;
extern void (*mg_a_function_pointer)(int);

int mg_plain(void);
const char *mg_returns_pointer(int a, const char *b);
/* clang-format off */
unsigned long
mg_spread_over(int a,
	size_t b);
/* clang-format on */
void mg_takes_callback(void (*cb)(int), mg_callback_fn other);
void (*mg_returns_function_pointer(int which))(int);
MG_DECLARE(mg_from_a_macro);
static inline int mg_static_inline(int a)
{
	return MG_LIKE_A_CALL(a);
}
int mg_declared_twice(int);
int mg_declared_twice(int x);

#endif
