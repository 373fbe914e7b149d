#!/usr/bin/env bash
# Installs what is needed, checks the source (scripts/check-source.sh), builds, and runs every
# test: unit and end-to-end tests under AddressSanitizer + UndefinedBehaviorSanitizer, the fuzz
# targets for a bounded time, then the unit and end-to-end tests of the release build.
# End-to-end tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-7}"

# ctest shows a passing test's output only in its log: the e2e suite's slowest tests, for the
# time budget.
e2e_durations() {
  sed -n '/slowest [0-9]* durations/,/ passed/p' "$1/Testing/Temporary/LastTest.log" 2>/dev/null || true
}

scripts/install-deps.sh

echo "== source checks"
scripts/check-source.sh

echo "== sanitizer build (ASan + UBSan)"
# -g1: line tables are all a sanitizer's report needs (file:line), and cheaper to build than -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1" -DTIFFIN_SANITIZE=ON -DTIFFIN_WERROR=ON >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2
e2e_durations build-asan

echo "== fuzzing (${FUZZ_SECONDS}s per target)"
scripts/fuzz.sh "$FUZZ_SECONDS"

echo "== release build"
# -O2 without debug info: the tests need the optimised code, not its symbols, and CI's time is
# bounded (30 minutes on two cores). (Not -O3: GCC 12 gives false -Wrestrict alarms there.)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" \
  -DTIFFIN_WERROR=ON >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j2
e2e_durations build
