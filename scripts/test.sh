#!/usr/bin/env bash
# `make test`: format check, Debug build with ASan+UBSan running every test,
# then a ThreadSanitizer build running the tests labelled "threaded".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_ROOT=${BUILD_ROOT:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FLAGS=()
if [ "${CI:-}" = "true" ]; then FLAGS+=(-DPP_WERROR=ON); fi

echo "== format check"
bash scripts/format.sh check

echo "== ASan+UBSan build"
cmake -S . -B "$BUILD_ROOT/asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DPP_SANITIZE=address,undefined "${FLAGS[@]+"${FLAGS[@]}"}"
cmake --build "$BUILD_ROOT/asan" -j "$JOBS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== tests (ASan+UBSan)"
ctest --test-dir "$BUILD_ROOT/asan" --output-on-failure -j "$JOBS" ${CTEST_ARGS:-}

echo "== plain Release build (real malloc interposer, install, symbols)"
cmake -S . -B "$BUILD_ROOT/release" -G Ninja -DCMAKE_BUILD_TYPE=Release "${FLAGS[@]+"${FLAGS[@]}"}"
cmake --build "$BUILD_ROOT/release" -j "$JOBS"
ctest --test-dir "$BUILD_ROOT/release" --output-on-failure -j "$JOBS" -L plain

echo "== TSan build"
cmake -S . -B "$BUILD_ROOT/tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DPP_SANITIZE=thread -DPP_BUILD_BENCH=OFF "${FLAGS[@]+"${FLAGS[@]}"}"
cmake --build "$BUILD_ROOT/tsan" -j "$JOBS"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
echo "== threaded tests (TSan)"
ctest --test-dir "$BUILD_ROOT/tsan" --output-on-failure -j "$JOBS" -L threaded ${CTEST_ARGS:-}
