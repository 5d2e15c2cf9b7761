#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds an outside
# program against it both ways: pkg-config and find_package(postprof).
# Also checks that libpostprof.so exports only pp_-prefixed symbols.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib* | head -1)
for f in include/postprof/postprof.h include/postprof/scope.h bin/postprof; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
[ -e "$libdir/libpostprof.a" ] && [ -e "$libdir/libpostprof.so" ] || { echo "libraries not installed"; exit 1; }

echo "-- exported symbols"
bad=$(nm -D --defined-only "$libdir/libpostprof.so" | awk '{print $3}' | grep -v '^pp_' || true)
if [ -n "$bad" ]; then echo "non-pp_ symbols exported by libpostprof.so:"; echo "$bad"; exit 1; fi
n=$(nm -D --defined-only "$libdir/libpostprof.so" | grep -c ' pp_' || true)
[ "$n" -gt 10 ] || { echo "too few exported symbols ($n)"; exit 1; }

echo "-- pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -o "$tmp/hello_pc" "$src/hello.c" $(pkg-config --cflags --libs postprof)
LD_LIBRARY_PATH=$libdir "$tmp/hello_pc"
# static archive: its private dependencies as the shared libraries pkg-config names
deps=$(pkg-config --print-requires-private postprof | awk '{print $1}')
cc -std=c11 -o "$tmp/hello_pc_static" "$src/hello.c" $(pkg-config --cflags postprof) \
  "$libdir/libpostprof.a" $(pkg-config --libs $deps) -lpthread -ldl -lm
"$tmp/hello_pc_static"

echo "-- find_package"
cmake -S "$src" -B "$tmp/out" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/out" >/dev/null
"$tmp/out/hello_static"
LD_LIBRARY_PATH=$libdir "$tmp/out/hello_shared"
echo "install test passed"
