#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz) with clang and runs each one for a
# fixed time on its saved corpus. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; TARGET defaults to all of fuzz_pem,
# fuzz_der, fuzz_private_key, fuzz_bundle, fuzz_csr and fuzz_chain. Inputs found during the run go to a scratch
# directory under build/fuzz, so the tree is left untouched unless
# FUZZ_MERGE=1 is set, which merges the inputs that add coverage back into
# test/fuzz/corpus/<target>/. FUZZ_SKIP_BUILD=1 reuses an existing
# build/fuzz (for running several targets in parallel from one build).
#
# Prints one summary line per target and exits non-zero if any target
# reported a crash, leak, timeout or out-of-memory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
all_targets=(fuzz_pem fuzz_der fuzz_private_key fuzz_bundle fuzz_csr fuzz_chain)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

build=build/fuzz
for t in "${targets[@]}"; do
    case "$t" in
        fuzz_pem|fuzz_der|fuzz_private_key|fuzz_bundle|fuzz_csr|fuzz_chain) ;;
        *) echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2 ;;
    esac
done

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    mkdir -p "$build"
    echo "fuzz.sh: configuring and building in $build"
    if ! cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DNETBOX_SSL_FUZZ=ON \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/configure.log" 2>&1; then
        cat "$build/configure.log" >&2; exit 2
    fi
    if ! cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" > "$build/build.log" 2>&1; then
        cat "$build/build.log" >&2; exit 2
    fi
fi

# Per-target settings: largest input and dictionary. Real certificates in
# the seed corpus are below 16 KiB of PEM or DER; larger inputs only slow the
# fuzzer down (the parser's own size limit is tested by the unit tests).
max_len_of() {
    case "$1" in
        fuzz_pem) echo 16384 ;;
        fuzz_der) echo 16384 ;;
        fuzz_private_key) echo 8192 ;;
        fuzz_bundle) echo 32768 ;;
        fuzz_csr) echo 8192 ;;
        fuzz_chain) echo 16384 ;;
    esac
}
dict_of() {
    case "$1" in
        fuzz_pem|fuzz_private_key|fuzz_bundle|fuzz_csr) echo "-dict=test/fuzz/pem.dict" ;;
        *) echo "" ;;
    esac
}

stamp="$(date +%Y%m%d-%H%M%S)-$$"
failed=0
summaries=()
for t in "${targets[@]}"; do
    bin="$build/$t"
    saved="test/fuzz/corpus/$t"
    run="$build/runs/$t-$stamp"
    mkdir -p "$run/new" "$run/artifacts" "$saved"
    log="$run/fuzz.log"
    dict="$(dict_of "$t")"
    echo "fuzz.sh: running $t for ${seconds}s (log: $log)"
    set +e
    # New inputs are written to the first directory (scratch); the saved
    # corpus is only read.
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len_of "$t")" ${dict:+"$dict"} -print_final_stats=1 \
        -artifact_prefix="$run/artifacts/" "$run/new" "$saved" > "$log" 2>&1
    rc=$?
    set -e

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
    artifacts=$(find "$run/artifacts" -type f | wc -l)
    status=ok
    if [[ $rc -ne 0 || $artifacts -ne 0 ]]; then
        status="FAILED(rc=$rc, artifacts in $run/artifacts)"
        failed=1
        grep -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|fuzz invariant|SUMMARY' "$log" | head -n 5 >&2 || true
    fi

    if [[ "${FUZZ_MERGE:-0}" == 1 && $rc -eq 0 ]]; then
        "$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len_of "$t")" \
            "$saved" "$run/new" > "$run/merge.log" 2>&1 || { echo "fuzz.sh: merge failed for $t" >&2; failed=1; }
    fi

    line="$t: ${status} execs=${execs:-?} exec/s=${speed:-?} cov=${cov:-?} ft=${ft:-?} corp=${corp:-?} time=${seconds}s"
    summaries+=("$line")
    echo "$line"
done

echo "fuzz.sh: summary"
printf '  %s\n' "${summaries[@]}"
exit "$failed"
