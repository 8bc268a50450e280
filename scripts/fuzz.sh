#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz) with clang and runs each one on
# its saved corpus. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (random mode)
#   bash scripts/fuzz.sh --ci [TARGET...]                   (CI mode)
#
# Random mode runs each target for SECONDS_PER_TARGET with a random seed: for
# manual and long runs. CI mode is deterministic: each target replays its
# saved corpus and every input of test/fuzz/regressions, then mutates with
# -seed=1 for a fixed number of runs (FUZZ_CI_RUNS overrides the per-target
# defaults below, chosen so that all six targets take 2-3 minutes on the
# project's 2-core machine). Both modes stop any single input that runs
# longer than FUZZ_TIMEOUT seconds (default 5) and report it as a failure,
# so a slow input (e.g. quadratic work on a hostile PEM shape) fails CI.
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

ci=0
if [[ "${1:-}" == "--ci" ]]; then
    ci=1
    shift
    seconds=0
else
    seconds="${1:-60}"
    if [[ $# -gt 0 ]]; then shift; fi
    if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
        echo "usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...] | --ci [TARGET...]" >&2
        exit 2
    fi
fi
timeout_s="${FUZZ_TIMEOUT:-5}"
all_targets=(fuzz_pem fuzz_der fuzz_private_key fuzz_bundle fuzz_csr fuzz_chain fuzz_crl fuzz_ocsp)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

build=build/fuzz
for t in "${targets[@]}"; do
    case "$t" in
        fuzz_pem|fuzz_der|fuzz_private_key|fuzz_bundle|fuzz_csr|fuzz_chain|fuzz_crl|fuzz_ocsp) ;;
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
        fuzz_crl|fuzz_ocsp) echo 16384 ;;
    esac
}
# CI mode: mutation runs after the replay, about 15-25 s per target here
# (exec/s of the CI configuration in docs/fuzzing.md).
ci_runs_of() {
    if [[ -n "${FUZZ_CI_RUNS:-}" ]]; then echo "$FUZZ_CI_RUNS"; return; fi
    case "$1" in
        fuzz_pem) echo 15000 ;;
        fuzz_der) echo 2000 ;;
        fuzz_private_key) echo 5000 ;;
        fuzz_bundle) echo 3000 ;;
        fuzz_csr) echo 6000 ;;
        fuzz_chain) echo 100000 ;;
        fuzz_crl|fuzz_ocsp) echo 5000 ;;
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
    started=$(date +%s)
    set +e
    # New inputs are written to the first directory (scratch); the saved
    # corpus (and in CI mode the regression inputs) are only read.
    if [[ $ci -eq 1 ]]; then
        echo "fuzz.sh: $t, CI mode: replay + $(ci_runs_of "$t") runs with -seed=1 (log: $log)"
        "$bin" -seed=1 -runs="$(ci_runs_of "$t")" -rss_limit_mb=2048 -timeout="$timeout_s" \
            -max_len="$(max_len_of "$t")" ${dict:+"$dict"} -print_final_stats=1 \
            -artifact_prefix="$run/artifacts/" "$run/new" "$saved" test/fuzz/regressions > "$log" 2>&1
    else
        echo "fuzz.sh: running $t for ${seconds}s (log: $log)"
        "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="$timeout_s" \
            -max_len="$(max_len_of "$t")" ${dict:+"$dict"} -print_final_stats=1 \
            -artifact_prefix="$run/artifacts/" "$run/new" "$saved" > "$log" 2>&1
    fi
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - started ))

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
        "$bin" -merge=1 -rss_limit_mb=2048 -timeout="$timeout_s" -max_len="$(max_len_of "$t")" \
            "$saved" "$run/new" > "$run/merge.log" 2>&1 || { echo "fuzz.sh: merge failed for $t" >&2; failed=1; }
    fi

    line="$t: ${status} execs=${execs:-?} exec/s=${speed:-?} cov=${cov:-?} ft=${ft:-?} corp=${corp:-?} time=${elapsed}s"
    summaries+=("$line")
    echo "$line"
done

echo "fuzz.sh: summary"
printf '  %s\n' "${summaries[@]}"
exit "$failed"
