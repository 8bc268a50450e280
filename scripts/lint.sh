#!/usr/bin/env bash
# Static analysis of src/: clang-tidy (checks in .clang-tidy) and cppcheck.
# Prints findings and exits non-zero if there are any.
set -uo pipefail
cd "$(dirname "$0")/.."
PG_INC="$(pg_config --includedir-server)"
status=0

for f in src/core/*.cpp src/pg/*.cpp; do
    out=$(clang-tidy --quiet "$f" -- -std=c++17 -Isrc -isystem "$PG_INC" 2>&1 | grep -v 'warnings generated')
    if [ -n "$out" ]; then echo "$out"; status=1; fi
done

# PostgreSQL headers are left out (as system headers would be): their macros
# are C casts by design, which cppcheck's style checks would flag in every use.
out=$(cppcheck --enable=warning,style,performance,portability --std=c++17 --quiet --inline-suppr \
      --suppress=missingIncludeSystem --suppress=missingInclude -I src src/core src/pg 2>&1)
if [ -n "$out" ]; then echo "$out"; status=1; fi

[ "$status" -eq 0 ] && echo "clang-tidy and cppcheck: no findings in src/"
exit "$status"
