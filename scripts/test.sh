#!/usr/bin/env bash
# Build and run every test twice: once as shipped (gcc, -Werror), once with
# clang under AddressSanitizer and UndefinedBehaviorSanitizer, which also
# builds the libFuzzer targets and runs each for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

echo "== build: release, -Werror"
cmake -S . -B build -DWERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests: release"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build: clang, ASan+UBSan, fuzzers, -Werror"
CC=clang cmake -S . -B build-asan -DWERROR=ON -DSANITIZER=address,undefined \
  -DBUILD_FUZZERS=ON -DBUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests: ASan+UBSan"
# Leaks are checked in the unit tests and fuzzers; the daemons in the
# black-box and interop tests are ended by signals, with memory still held.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  ctest --output-on-failure -j"$jobs" -L 'unit|fuzz')
(cd build-asan && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  ctest --output-on-failure -j"$jobs" -LE 'unit|fuzz')
