#!/usr/bin/env bash
# meshguard installed as a C library is usable by a program outside the tree.
#
# `cmake --install "$MG_BUILD" --prefix TMP` (a build that exists), then
#  - the prefix holds bin/meshguard and its meshguard-wg link, the header,
#    libmeshguard.a, libmeshguard.so with its soname link and dev link, and
#    meshguard.pc with the project's version;
#  - examples/embed.c, copied out of the tree, builds with
#    `cc embed.c $(pkg-config --cflags --libs meshguard)` and nothing else
#    (PKG_CONFIG_PATH points at the prefix), runs with only LD_LIBRARY_PATH
#    pointing there, loads the installed libmeshguard.so.0, exits 0 and
#    prints a line matching $EXPECT;
#  - the same against libmeshguard.a through `pkg-config --static`, with no
#    libmeshguard.so needed at run time.
# Needs no root and no namespaces. Run through CTest, or:
#   MG_BUILD=build bash tests/integration/test_install.sh
set -uo pipefail

MG_SRC=${MG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MG_BUILD=${MG_BUILD:-$MG_SRC/build}
CC=${CC:-cc}
# What embed.c must print last, once its two nodes completed a handshake and
# exchanged packets.
EXPECT='^embed: ok$'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mg-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=results.sh
. "$(dirname "$0")/results.sh"

# dyn FILE TAG: the values of FILE's dynamic-section entries TAG (NEEDED,
# SONAME, RPATH, RUNPATH), one a line.
dyn() {
	readelf -d "$1" | sed -n "s/.*($2) *[^[]*\[\(.*\)\]\$/\1/p"
}

for c in cmake pkg-config readelf "$CC"; do
	command -v "$c" >/dev/null || mg_die "command '$c' not found (run scripts/deps)"
done
[ -f "$MG_BUILD/CMakeCache.txt" ] || mg_die "no build in '$MG_BUILD' (configure and build first)"
[ -f "$MG_SRC/examples/embed.c" ] || mg_die "'$MG_SRC/examples/embed.c' not found"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$MG_BUILD/CMakeCache.txt")

# ---- install ----
prefix=$tmp/prefix
if ! cmake --install "$MG_BUILD" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	sed 's/^/    /' "$tmp/install.log"
	mg_die "cmake --install $MG_BUILD --prefix $prefix"
fi
mg_pass "cmake --install --prefix $prefix"
sed 's/^/    /' "$tmp/install.log"

pc=$(find "$prefix" -name meshguard.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || mg_die "no meshguard.pc installed under $prefix"
export PKG_CONFIG_PATH=${pc%/*}
libdir=$(pkg-config --variable=libdir meshguard)
echo "    meshguard.pc: $pc"
sed 's/^/        /' "$pc"

mg_check "bin/meshguard is installed and runs" "$prefix/bin/meshguard" --version
mg_check "bin/meshguard-wg links to meshguard" \
	[ "$(readlink "$prefix/bin/meshguard-wg")" = meshguard ]
mg_check "include/meshguard.h is installed" \
	cmp -s "$prefix/include/meshguard.h" "$MG_SRC/include/meshguard.h"
mg_check "meshguard.pc: libdir $libdir is under the prefix" [ "${libdir#"$prefix"/}" != "$libdir" ]
mg_check "meshguard.pc: version $(pkg-config --modversion meshguard) is the project's ($version)" \
	[ "$(pkg-config --modversion meshguard)" = "$version" ]
mg_check "libmeshguard.a is installed" [ -f "$libdir/libmeshguard.a" ]
mg_check "libmeshguard.so is the dev link to libmeshguard.so.0" \
	[ "$(readlink -f "$libdir/libmeshguard.so")" = "$(readlink -f "$libdir/libmeshguard.so.0")" ]
mg_check "libmeshguard.so.0 is installed with soname libmeshguard.so.0" \
	[ "$(dyn "$libdir/libmeshguard.so.0" SONAME)" = libmeshguard.so.0 ]

# ---- build embed.c from the installed library alone ----
mkdir "$tmp/embed"
cp "$MG_SRC/examples/embed.c" "$tmp/embed/"
cd "$tmp/embed" || mg_die "cd $tmp/embed"
read -r -a flags <<<"$(pkg-config --cflags --libs meshguard)" ||
	mg_die "pkg-config --cflags --libs meshguard"
echo "    pkg-config --cflags --libs meshguard: ${flags[*]}"
case " ${flags[*]} " in
*"$MG_SRC"* | *"$MG_BUILD"*) mg_fail "pkg-config's flags point into the source or build tree" ;;
esac

# run_embed NAME [VAR=VALUE...]: runs ./NAME with only the given
# environment changes; exit 0 and a line matching $EXPECT.
run_embed() {
	local name=$1 rc=0
	shift
	env "$@" timeout 60 "./$name" >"$tmp/$name.out" 2>&1 || rc=$?
	sed 's/^/    /' "$tmp/$name.out"
	mg_check "$name exits 0 (status $rc)" [ "$rc" -eq 0 ]
	mg_check "$name printed a line matching '$EXPECT'" grep -q -E "$EXPECT" "$tmp/$name.out"
}

if "$CC" -o embed embed.c "${flags[@]}"; then
	mg_pass "embed.c builds with pkg-config --cflags --libs meshguard"
	mg_check "embed needs libmeshguard.so.0" grep -q -x libmeshguard.so.0 <(dyn embed NEEDED)
	mg_check "embed has no rpath" [ -z "$(dyn embed RPATH)$(dyn embed RUNPATH)" ]
	mg_check "embed loads the installed libmeshguard.so.0" \
		grep -q -F "$libdir/libmeshguard.so.0" <(LD_LIBRARY_PATH=$libdir ldd ./embed)
	run_embed embed LD_LIBRARY_PATH="$libdir"
else
	mg_fail "embed.c builds with pkg-config --cflags --libs meshguard"
fi

# ---- and statically against libmeshguard.a ----
read -r -a flags <<<"$(pkg-config --cflags --static --libs meshguard)" ||
	mg_die "pkg-config --cflags --static --libs meshguard"
# libmeshguard itself from the archive; its dependencies as pkg-config says.
flags=("${flags[@]/#-lmeshguard/-l:libmeshguard.a}")
echo "    static: ${flags[*]}"
if "$CC" -o embed-static embed.c "${flags[@]}"; then
	mg_pass "embed.c builds against libmeshguard.a with pkg-config --static"
	mg_check "embed-static does not need libmeshguard.so" \
		[ -z "$(dyn embed-static NEEDED | grep libmeshguard)" ]
	run_embed embed-static
else
	mg_fail "embed.c builds against libmeshguard.a with pkg-config --static"
fi

mg_finish
