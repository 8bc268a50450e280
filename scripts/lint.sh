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

# Every SQL-callable C function goes through the boundary helper: it is
# defined with NETBOX_SSL_ENTRY (src/pg/boundary.hpp), the only place that
# may use PG_FUNCTION_INFO_V1 or define a PG_FUNCTION_ARGS function.
out=$(grep -nE 'PG_FUNCTION_INFO_V1|PG_FUNCTION_ARGS' src/pg/*.cpp src/pg/*.hpp | grep -v '^src/pg/boundary.hpp:')
if [ -n "$out" ]; then
    echo "$out"
    echo "lint: define SQL-callable functions with NETBOX_SSL_ENTRY (src/pg/boundary.hpp), not PG_FUNCTION_INFO_V1"
    status=1
fi
# No copied boundary helpers: memory handed across, the error map and the
# size check live in src/pg/boundary.cpp only.
out=$(grep -nE 'palloc_extended|MCXT_ALLOC_NO_OOM|toast_raw_datum_size|ERRCODE_INVALID_BINARY_REPRESENTATION|strncmp\(.*message' src/pg/*.cpp | grep -v '^src/pg/boundary.cpp:')
if [ -n "$out" ]; then
    echo "$out"
    echo "lint: use the boundary helper (core_alloc, read_input_arg, raise_core_error) instead of a copy"
    status=1
fi

[ "$status" -eq 0 ] && echo "clang-tidy and cppcheck: no findings in src/"
exit "$status"
