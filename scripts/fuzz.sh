#!/usr/bin/env bash
# Coverage-guided fuzzing of hush with afl.rs on the stable toolchain (fuzz/, README "Fuzzing").
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [--resolver] [TARGET...]
#   scripts/fuzz.sh --write-seeds
#
# Installs cargo-afl when missing (its install builds AFL++ from the sources the crate ships:
# afl-fuzz and the instrumentation runtime), builds the targets with `cargo afl build`, and runs
# each TARGET (default: request grant path config; `resolver` too with --resolver) for N seconds
# (default 60), N targets at a time (default: the number of cores), from its seed corpus in
# fuzz/corpus/. Prints each target's figures; exits non-zero when a target crashed or hung,
# printing the path of each such input and how to replay it. Under CI=true, afl that cannot be
# installed or run is a failure; by hand it is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

AFL_VERSION=0.18.2
seconds=60
jobs=$(nproc)
features=()
targets=()
write_seeds=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --resolver) features=(--features resolver); shift ;;
        --write-seeds) write_seeds=true; shift ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(request grant path config)
    [[ ${#features[@]} -gt 0 ]] && targets+=(resolver)
fi
for target in "${targets[@]}"; do
    case "$target" in
        request | grant | path | config) ;;
        resolver) features=(--features resolver) ;;
        *) echo "fuzz: unknown target $target (request, grant, path, config, resolver)" >&2; exit 2 ;;
    esac
done

unavailable() {
    if [[ "${CI:-}" == true ]]; then
        echo "fuzz: FAILED: $1" >&2
        exit 1
    fi
    echo "fuzz: skipped: $1"
    exit 0
}

if ! cargo afl --version 2>/dev/null | grep -q "cargo-afl $AFL_VERSION"; then
    echo "fuzz: installing cargo-afl $AFL_VERSION (builds AFL++)"
    cargo install cargo-afl --version "$AFL_VERSION" --locked --force --quiet \
        || unavailable "cargo install cargo-afl $AFL_VERSION failed"
fi
# The runtime is built per rustc version; the install builds it, a toolchain update needs it again.
if ! config_output=$(cargo afl config --build 2>&1) && ! grep -q "already built" <<<"$config_output"; then
    echo "$config_output" >&2
    unavailable "cargo afl config --build failed"
fi

echo "fuzz: building the targets (cargo afl build --release ${features[*]})"
(cd fuzz && cargo afl build --release --quiet "${features[@]}") || unavailable "cargo afl build failed"
bin=fuzz/target/release

if $write_seeds; then
    "$bin/write_seeds" fuzz/corpus
    exit 0
fi

# AFL_NO_AFFINITY: other builds may hold the cores. AFL_SKIP_CPUFREQ and
# AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES: afl-fuzz checks the machine's power governor and
# core_pattern, which a container or CI machine may not let it change.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FAST_CAL=1

run_target() {
    local target=$1 corpus=fuzz/corpus/$1 out=fuzz/target/afl/$1
    [[ $target == resolver ]] && corpus=fuzz/corpus/request
    local dictionary=()
    [[ -f fuzz/dict/$target.dict ]] && dictionary=(-x "fuzz/dict/$target.dict")
    rm -rf "$out"
    mkdir -p "$out"
    # -t: an input running over 2 s is a hang (the resolver's request timeout is 8 s).
    cargo afl fuzz -i "$corpus" -o "$out" -V "$seconds" -t 2000 "${dictionary[@]}" -- "$bin/$target" \
        >"$out/afl-fuzz.log" 2>&1
}

stat_of() {
    sed -n "s/^$1 *: *//p" "$2"
}

failed=false
pending=("${targets[@]}")
while [[ ${#pending[@]} -gt 0 ]]; do
    batch=("${pending[@]:0:$jobs}")
    pending=("${pending[@]:$jobs}")
    echo "fuzz: running ${batch[*]} for ${seconds}s"
    pids=()
    for target in "${batch[@]}"; do
        run_target "$target" &
        pids+=($!)
    done
    for i in "${!batch[@]}"; do
        target=${batch[$i]}
        out=fuzz/target/afl/$target
        if ! wait "${pids[$i]}" || [[ ! -f $out/default/fuzzer_stats ]]; then
            echo "fuzz: $target: afl-fuzz did not run; the end of $out/afl-fuzz.log:" >&2
            tail -n 20 "$out/afl-fuzz.log" >&2
            [[ "${CI:-}" == true ]] || echo "fuzz: (by hand: is this a container without /dev/shm?)" >&2
            failed=true
            continue
        fi
        stats=$out/default/fuzzer_stats
        echo "fuzz: $target: $(stat_of execs_done "$stats") execs ($(stat_of execs_per_sec "$stats")/s)," \
            "corpus $(stat_of corpus_count "$stats"), edges $(stat_of edges_found "$stats")/$(stat_of total_edges "$stats")" \
            "($(stat_of bitmap_cvg "$stats")), stability $(stat_of stability "$stats")," \
            "crashes $(stat_of saved_crashes "$stats"), hangs $(stat_of saved_hangs "$stats")"
        found=$(find "$out/default/crashes" "$out/default/hangs" -type f ! -name README.txt 2>/dev/null || true)
        if [[ -n $found ]]; then
            failed=true
            while IFS= read -r input; do
                echo "fuzz: $target: FOUND $input (replay: $bin/$target < '$input')" >&2
            done <<<"$found"
        fi
    done
done
if $failed; then
    echo "fuzz: FAILED" >&2
    exit 1
fi
echo "fuzz: no crash and no hang in ${targets[*]}"
