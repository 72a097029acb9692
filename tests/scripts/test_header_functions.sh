#!/usr/bin/env bash
# scripts/header-functions finds exactly the functions a header declares
# (tests/scripts/header_functions.h holds the traps: macros, typedefs of
# function types, struct members, variables, static inline, comments), and
# its version script lists them and hides the rest.
#   bash tests/scripts/test_header_functions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

expected='mg_declared_twice
mg_from_a_macro
mg_plain
mg_returns_function_pointer
mg_returns_pointer
mg_spread_over
mg_takes_callback'

got=$(bash scripts/header-functions tests/scripts/header_functions.h)
if [ "$got" != "$expected" ]; then
	echo "FAIL: header-functions found:"
	sed 's/^/    /' <<<"$got"
	echo "expected:"
	sed 's/^/    /' <<<"$expected"
	exit 1
fi
echo "PASS: header-functions lists the 7 functions of header_functions.h"

map=$(bash scripts/header-functions --version-script TEST_1 tests/scripts/header_functions.h)
want=$(printf 'TEST_1 {\nglobal:\n%s\nlocal:\n\t*;\n};' "$(sed 's/^\(.*\)$/\t\1;/' <<<"$expected")")
if [ "$(grep -v -e '^/\*' -e '^ \*' <<<"$map")" != "$want" ]; then
	echo "FAIL: the version script is"
	sed 's/^/    /' <<<"$map"
	exit 1
fi
echo "PASS: the version script exports those 7 in node TEST_1 and nothing else"

# The real header: at least the functions the library cannot do without.
# (Read once: grep -q would stop reading early, and pipefail would then
# count the writer's SIGPIPE as a failure.)
names=$(bash scripts/header-functions)
for f in mg_api_version mg_node_new mg_node_close mg_netcheck_close; do
	grep -q -x "$f" <<<"$names" || {
		echo "FAIL: header-functions does not list $f of include/meshguard.h"
		exit 1
	}
done
echo "PASS: header-functions reads include/meshguard.h"
