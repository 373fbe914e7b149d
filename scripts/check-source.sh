#!/usr/bin/env bash
# Source rules a compiler does not check.
# 1. The code is formatted as .clang-format says (clang-format --dry-run).
# 2. Numbers are parsed only by parse_uint/parse_int
# (src/common/text.hpp): std::sto* throw out of code that returns Result, ato* cannot report
# failure, and all of them accept what the user did not mean ("12abc", " 7", "-1" as unsigned).
# Prints every hit as file:line and exits 1 if there is any. Checks src/ and apps/, or the
# directories given.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(src apps)

unformatted=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'apps/*.cpp' 'tests/unit/*.cpp' 'tests/unit/*.hpp' 'tests/link/*.cpp' 'fuzz/*.cpp')
if [ ${#unformatted[@]} -gt 0 ]; then
  printf '%s\n' "${unformatted[@]}"
  echo "check-source: ${#unformatted[@]} file(s) not formatted as .clang-format says (clang-format -i them)" >&2
  exit 1
fi

pattern='\b(std::)?(sto(i|l|ul|ll|ull|f|d|ld)|ato(i|l|ll|f)|strto(l|ul|ll|ull|f|d|ld))[[:space:]]*\('
status=0
hits="$(grep -rnE --include='*.cpp' --include='*.hpp' --include='*.h' --include='*.c' "$pattern" "${dirs[@]}")" || status=$?
if [ "$status" -gt 1 ]; then
  echo "check-source: grep failed" >&2
  exit 2
fi
if [ -n "$hits" ]; then
  echo "$hits"
  echo "check-source: $(echo "$hits" | wc -l) number parse(s) outside parse_uint/parse_int (common/text.hpp)" >&2
  exit 1
fi
