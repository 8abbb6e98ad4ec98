#!/usr/bin/env bash
# Build, test and benchmark entry point for Akka.EventDriven.
#
#   ./build.sh build                     dotnet build (Release)
#   ./build.sh test [dotnet test args]   run all tests against a private, throw-away PostgreSQL 15
#   ./build.sh bench <suite> [--quick]   run a benchmark suite against a private PostgreSQL 15
#   ./build.sh bench peers [--quick]     Marten and plain Akka.Persistence.Sql beside the platform, same PostgreSQL
#   ./build.sh bench all [--quick]       every suite and the peers, one after another; writes docs/benchmarks.md
#
# If DATABASE_URL is already set, that database is used and no private server is started.
# Environment overrides: PG_BIN (PostgreSQL binaries), SLN (solution), BENCH_PROJECT, PEERS_PROJECT,
# BENCH_SUITE_TIMEOUT (seconds one suite of `bench all` may run, default 1200).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

SLN="${SLN:-Akka.EventDriven.sln}"
BENCH_PROJECT="${BENCH_PROJECT:-tests/Akka.EventDriven.Benchmarks}"
PEERS_PROJECT="${PEERS_PROJECT:-tests/Akka.EventDriven.Benchmarks.Peers}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
RESULTS_DIR="artifacts/test-results"
BENCH_DIR="artifacts/bench"

PG_TMP=""   # temp dir of the private PostgreSQL (data/, sock/, server.log); empty when none runs
PG_PORT=""

usage() {
    cat >&2 <<EOF
usage: ./build.sh <command> [args]

commands:
  build                      dotnet build $SLN -c Release
  test [dotnet test args]    run the tests (starts a private PostgreSQL 15 unless DATABASE_URL is set)
                             and print 'Tests: N passed, N failed, N skipped' as the last line
  bench <suite> [--quick]    run a benchmark suite (same PostgreSQL logic); prints $BENCH_DIR/<suite>.json
  bench peers [--quick]      Marten and plain Akka.Persistence.Sql against the platform; $BENCH_DIR/peers.json
  bench all [--quick]        every suite, then the peers, on one private PostgreSQL (a database each);
                             writes docs/benchmarks.md from $BENCH_DIR/*.json (a failed suite is reported, not fatal)

environment:
  DATABASE_URL   use this PostgreSQL instead of starting a private one
  PG_BIN         PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
EOF
}

log() { echo "build.sh: $*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Private PostgreSQL
# ---------------------------------------------------------------------------------------------

# Run a PostgreSQL server binary. initdb/pg_ctl refuse to run as root, so as root they run as the
# 'postgres' user (which owns the temp dir); otherwise as the current user.
as_pg() {
    local cmd=$1; shift
    (
        cd "$PG_TMP"
        if [[ $(id -u) -eq 0 ]]; then
            runuser -u postgres -- "$PG_BIN/$cmd" "$@"
        else
            "$PG_BIN/$cmd" "$@"
        fi
    )
}

# Print a TCP port on 127.0.0.1 that nothing is listening on.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "could not find a free TCP port on 127.0.0.1"
}

# Start a throw-away PostgreSQL 15 and export DATABASE_URL, unless DATABASE_URL is already set.
start_postgres() {
    if [[ -n "${DATABASE_URL:-}" ]]; then
        log "using DATABASE_URL from the environment; not starting a private PostgreSQL"
        return 0
    fi

    local tool
    for tool in initdb pg_ctl pg_isready createdb; do
        [[ -x "$PG_BIN/$tool" ]] || die "PostgreSQL 15 not found ($PG_BIN/$tool is missing).
  Install it with:  apt-get install -y postgresql-15
  (or set PG_BIN to a directory holding initdb/pg_ctl, or set DATABASE_URL to an existing database)"
    done
    if [[ $(id -u) -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        die "running as root but there is no 'postgres' user to run PostgreSQL as (apt-get install -y postgresql-15 creates it)"
    fi

    PG_TMP=$(mktemp -d /tmp/akka-eventdriven-pg.XXXXXX)
    mkdir -p "$PG_TMP/data" "$PG_TMP/sock"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$PG_TMP"
    fi

    log "initialising a private PostgreSQL in $PG_TMP"
    if ! as_pg initdb -D "$PG_TMP/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
            >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        die "initdb failed"
    fi

    PG_PORT=$(free_port)
    if ! as_pg pg_ctl -D "$PG_TMP/data" -l "$PG_TMP/server.log" -W \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_TMP/sock -c max_connections=200" \
            start >/dev/null; then
        cat "$PG_TMP/server.log" >&2 || true
        die "pg_ctl start failed"
    fi

    local tries=0
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 1; do
        tries=$((tries + 1))
        if ((tries >= 60)); then
            echo "---- PostgreSQL server log ($PG_TMP/server.log) ----" >&2
            cat "$PG_TMP/server.log" >&2 || true
            echo "----" >&2
            die "PostgreSQL did not become ready on 127.0.0.1:$PG_PORT within 30 s"
        fi
        sleep 0.5
    done

    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres eventdriven \
        || die "could not create database 'eventdriven'"

    export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/eventdriven"
    log "PostgreSQL is ready: DATABASE_URL=$DATABASE_URL"
}

# Stop the private PostgreSQL (if any) and delete its temp dir. Safe to call more than once.
stop_postgres() {
    [[ -n "$PG_TMP" ]] || return 0
    if [[ -f "$PG_TMP/data/postmaster.pid" ]]; then
        as_pg pg_ctl -D "$PG_TMP/data" -m fast -t 30 stop >/dev/null 2>&1 \
            || as_pg pg_ctl -D "$PG_TMP/data" -m immediate -t 30 stop >/dev/null 2>&1 \
            || true
    fi
    rm -rf "$PG_TMP"
    PG_TMP=""
}

trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Test results
# ---------------------------------------------------------------------------------------------

# attr NAME ELEMENT: the numeric attribute NAME="n" of an XML element string (0 if absent).
attr() {
    local value
    value=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2")
    echo "${value:-0}"
}

# summarize_trx DIR DOTNET_EXIT_CODE: sum the counters of every .trx file under DIR, print
# 'Tests: N passed, N failed, N skipped' as the last line and return non-zero on any failure.
summarize_trx() {
    local dir=$1 rc=$2
    local passed=0 failed=0 skipped=0 files=0
    local trx counters skip_results skip_counter times start finish seconds assembly p f
    local -a lines=()

    while IFS= read -r -d '' trx; do
        files=$((files + 1))
        # No 'producer | head' here: with pipefail, a producer that head cut off dies of SIGPIPE (exit 141), and
        # errexit then ended the whole run before its summary. awk reads on to the end instead.
        counters=$({ grep -o '<Counters [^>]*>' "$trx" || true; } | awk 'NR == 1')
        passed=$((passed + $(attr passed "$counters")))
        failed=$((failed + $(attr failed "$counters") + $(attr error "$counters") \
            + $(attr timeout "$counters") + $(attr aborted "$counters")))
        # Skipped tests: xunit reports them as results with outcome="NotExecuted" while leaving
        # the notExecuted counter at 0, so take whichever is larger.
        skip_results=$({ grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" || true; } | wc -l)
        skip_counter=$(attr notExecuted "$counters")
        skipped=$((skipped + (skip_results > skip_counter ? skip_results : skip_counter)))
        # Per assembly: its name (from the test storage path) and wall time, so growth of any suite is visible.
        assembly=$({ grep -oE '[A-Za-z0-9_.]*(Tests|Faults)\.dll' "$trx" || true; } | awk '!/^[a-z]/ && !found { print; found = 1 }')
        times=$({ grep -o '<Times [^>]*>' "$trx" || true; } | awk 'NR == 1')
        start=$(sed -n 's/.* start="\([^"]*\)".*/\1/p' <<<"$times")
        finish=$(sed -n 's/.* finish="\([^"]*\)".*/\1/p' <<<"$times")
        seconds=$(( $(date -d "$finish" +%s 2>/dev/null || echo 0) - $(date -d "$start" +%s 2>/dev/null || echo 0) ))
        p=$(attr passed "$counters")
        f=$(( $(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters") + $(attr aborted "$counters") ))
        lines+=("$(printf '%6ss  %4s passed  %3s failed  %s' "$seconds" "$p" "$f" "${assembly%.dll}")")
    done < <(find "$dir" -name '*.trx' -print0 2>/dev/null)

    if ((files == 0)); then
        log "no .trx test results found in $dir (dotnet test exit code $rc; build failure?)"
        echo "Tests: 0 passed, 1 failed, 0 skipped"
        return 1
    fi
    log "test assemblies (wall time, results):"
    printf '%s\n' "${lines[@]}" | sort -k5
    if ((rc != 0 && failed == 0)); then
        log "dotnet test exited with code $rc although no test failed (build error or test host crash?): counted as 1 failure"
        failed=1
    fi
    echo "Tests: $passed passed, $failed failed, $skipped skipped"
    if ((rc == 0 && failed == 0)); then
        return 0
    fi
    return 1
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

# Every project under src/, tests/ and samples/ is in the solution exactly once, and every Project block of the
# solution is closed by its own EndProject (a merge once dropped two, nesting projects inside others).
check_solution() {
    local problems=0 csproj rel count
    while IFS= read -r csproj; do
        rel=${csproj#./}
        count=$(grep -cF "\"${rel//\//\\}\"" "$SLN" || true)
        if [[ "$count" != 1 ]]; then
            echo "build.sh: $rel is in $SLN $count times (must be exactly once)" >&2
            problems=$((problems + 1))
        fi
    done < <(find ./src ./tests ./samples -name '*.csproj' -not -path '*/bin/*' -not -path '*/obj/*' | sort)
    if ! awk '/^Project\(/ { if (open) { bad = 1; print "build.sh: unclosed Project block before line " NR > "/dev/stderr" } open = 1 }
              /^EndProject/ { open = 0 } END { exit bad || open }' "$SLN"; then
        problems=$((problems + 1))
    fi
    if ((problems > 0)); then
        die "$SLN is out of step with the projects on disk (see above)"
    fi
    # The peers a benchmark measures the platform against stay in the benchmark: no product project references them.
    local peer
    peer=$(grep -lE 'Include="(Marten|JasperFx|Weasel)' $(find ./src -name '*.csproj' -not -path '*/bin/*' -not -path '*/obj/*') || true)
    [[ -z "$peer" ]] || die "product projects must not reference Marten (only tests/Akka.EventDriven.Benchmarks.Peers does): $peer"
}

cmd_build() {
    check_solution
    dotnet build "$SLN" -c Release "$@"
}

# The test projects of the solution (test projects end in .Tests or are the fault tests), in solution order.
test_projects() {
    dotnet sln "$SLN" list | grep -E '^(tests|samples)/.*(\.Tests|\.Faults)\.csproj$' | tr '\\' '/'
}

# Lane B of the test run; every other test project runs in lane A. Chosen from the per-assembly wall times of the
# summary so that the lanes take about as long as each other (about 6 minutes each on this 2-core machine): the run
# then takes as long as the slower lane instead of the sum. Move an assembly when the summary shows them drifting apart.
LANE_B_PATTERN='EventBus\.Tests|Sagas\.Tests|Kafka\.Tests|Http\.Tests|Service\.Tests|Dashboard\.Tests|Projections\.Tests|Cqrs\.Tests'

# run_lane NAME PROJECT... -- DOTNET_TEST_ARGS...: runs the projects one after another, each line of output prefixed
# with the lane's name; returns non-zero if any run failed.
run_lane() {
    local name=$1; shift
    local -a projects=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do projects+=("$1"); shift; done
    [[ "${1:-}" == "--" ]] && shift
    local rc=0 project
    for project in "${projects[@]}"; do
        # pipefail: the pipeline fails when dotnet test does; 'if' keeps errexit from ending the lane there.
        if ! dotnet test "$project" -c Release --no-build --logger "trx;LogFileName=$(basename "$project" .csproj).trx" \
                --results-directory "$RESULTS_DIR" "$@" 2>&1 \
                | sed -u "s/^/[$name] /"; then
            rc=1
        fi
    done
    return $rc
}

cmd_test() {
    check_solution
    start_postgres
    rm -rf "$RESULTS_DIR"
    local rc=0
    # Build once (in parallel), then run the test assemblies in two lanes (TEST_LANES=1: one at a time). Within a lane
    # they run one at a time: they start clusters, kill node processes and measure timeouts, and running many side by
    # side on a 2-core machine starves them; lane B holds the ones that mostly wait.
    if dotnet build "$SLN" -c Release -nologo -v q; then
        if [[ "${TEST_LANES:-2}" == 1 ]]; then
            dotnet test "$SLN" -c Release --no-build -m:1 --logger "trx" --results-directory "$RESULTS_DIR" "$@" || rc=$?
        else
            local -a lane_a=() lane_b=()
            local project
            while IFS= read -r project; do
                if [[ "$project" =~ $LANE_B_PATTERN ]]; then lane_b+=("$project"); else lane_a+=("$project"); fi
            done < <(test_projects)
            log "test lane A: ${lane_a[*]}"
            log "test lane B: ${lane_b[*]}"
            run_lane A "${lane_a[@]}" -- "$@" &
            local lane_a_pid=$!
            run_lane B "${lane_b[@]}" -- "$@" &
            local lane_b_pid=$!
            wait "$lane_a_pid" || rc=1
            wait "$lane_b_pid" || rc=1
        fi
    else
        rc=1
    fi
    # Stop PostgreSQL now (quietly) so the summary really is the last line of output.
    stop_postgres
    summarize_trx "$RESULTS_DIR" "$rc"
}

cmd_bench() {
    if [[ $# -lt 1 || -z "$1" || "$1" == -* ]]; then
        echo "build.sh: bench needs a suite name (or 'all', or 'peers')" >&2
        usage
        exit 2
    fi
    local suite=$1; shift
    if [[ "$suite" == all ]]; then
        cmd_bench_all "$@"
        return
    fi
    local json="$BENCH_DIR/$suite.json"
    local project=$BENCH_PROJECT
    [[ "$suite" == peers ]] && project=$PEERS_PROJECT

    start_postgres
    rm -f "$json"
    local rc=0
    dotnet run -c Release --project "$project" -- "$suite" "$@" || rc=$?
    stop_postgres

    if [[ ! -f "$json" ]]; then
        log "the benchmark did not write $json (exit code $rc)"
        return $((rc == 0 ? 1 : rc))
    fi
    echo "==== $json ===="
    cat "$json"
    echo
    return "$rc"
}

# bench all: build both harnesses once, run every suite and then the peers one after another, each in a fresh
# database of the one private PostgreSQL (dropped afterwards), each under a time limit; a suite that fails or hangs is
# recorded and the next one runs. Then docs/benchmarks.md is written from the suites' JSON files and the status file.
cmd_bench_all() {
    local cmdline="./build.sh bench all${*:+ $*}"
    local quick=()
    [[ " $* " == *" --quick "* ]] && quick=(--quick)
    local timeout_s="${BENCH_SUITE_TIMEOUT:-1200}"
    local private_pg=0
    [[ -z "${DATABASE_URL:-}" ]] && private_pg=1

    start_postgres
    mkdir -p "$BENCH_DIR"
    log "building $PEERS_PROJECT (and $BENCH_PROJECT, which it references)"
    dotnet build "$PEERS_PROJECT" -c Release -nologo -v q || die "the benchmark harnesses did not build"
    local bench_dll peers_dll
    bench_dll="$BENCH_PROJECT/bin/Release/net10.0/$(basename "$BENCH_PROJECT").dll"
    peers_dll="$PEERS_PROJECT/bin/Release/net10.0/$(basename "$PEERS_PROJECT").dll"
    local suites
    suites=$(dotnet "$bench_dll" list) || die "could not list the suites"

    local status="$BENCH_DIR/run.tsv" base_url=$DATABASE_URL
    : >"$status"
    local suite dll db started rc failed=0
    for suite in $suites peers; do
        dll=$bench_dll
        [[ "$suite" == peers ]] && dll=$peers_dll
        db="bench_${suite//-/_}"
        if ((private_pg)); then
            "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db" || die "could not create database $db"
            export DATABASE_URL="${base_url%/*}/$db"
        fi
        rm -f "$BENCH_DIR/$suite.json"
        log "==== $suite (database ${DATABASE_URL##*/}, limit ${timeout_s} s) ===="
        started=$SECONDS
        rc=0
        # timeout runs the suite in a process group of its own and signals the whole group (pubsub's node processes too).
        timeout --kill-after=30 "$timeout_s" dotnet "$dll" "$suite" "${quick[@]}" 2>&1 | tee "$BENCH_DIR/$suite.log" || rc=$?
        if [[ $rc -ne 0 || ! -f "$BENCH_DIR/$suite.json" ]]; then
            log "$suite FAILED (exit code $rc); see $BENCH_DIR/$suite.log"
            failed=$((failed + 1))
            [[ $rc -eq 0 ]] && rc=1
        fi
        printf '%s\t%s\t%s\t%s\n' "$suite" "$rc" "$((SECONDS - started))" "$BENCH_DIR/$suite.log" >>"$status"
        if ((private_pg)); then
            export DATABASE_URL=$base_url
            "$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists "$db" || log "could not drop database $db"
        fi
    done

    local commit
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        commit="$commit (with uncommitted changes)"
    fi
    dotnet "$bench_dll" report --status "$status" --out docs/benchmarks.md --command "$cmdline" --commit "$commit" "${quick[@]}" \
        || die "could not write docs/benchmarks.md"
    stop_postgres
    if ((failed > 0)); then
        log "$failed suite(s) failed; docs/benchmarks.md says which"
        return 1
    fi
    log "every suite ran; docs/benchmarks.md written"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
case "$command" in
    build) cmd_build "$@" ;;
    test) cmd_test "$@" ;;
    bench) cmd_bench "$@" ;;
    -h | --help | help) usage ;;
    *)
        [[ -n "$command" ]] && echo "build.sh: unknown command '$command'" >&2
        usage
        exit 2
        ;;
esac
