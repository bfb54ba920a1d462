#!/usr/bin/env bash
# Runs the bridge's benchmarks (cmd/bridge/bench_test.go) and prints their
# figures as a table; see bench/README.md. Starts the Redis they need the way
# .ci/run does. The raw `go test` output is kept in bench/out/raw.txt.
#
#   bench/run.sh                    # all three
#   BENCH=Accept bench/run.sh       # one (a regexp of benchmark names)
#   BENCH_PROFILE=1 bench/run.sh    # also bench/out/cpu.prof + bench/out/bridge.test for go tool pprof
set -euo pipefail
cd "$(dirname "$0")/.."

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if [ -z "${BRIDGE_TEST_REDIS_URL:-}" ] && ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "bench: installing redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  echo "bench: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --logfile /tmp/bench-redis.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "bench: redis-server did not start"; cat /tmp/bench-redis.log; exit 1; }
fi
export BRIDGE_TEST_REDIS_URL=${BRIDGE_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
# A benchmark that cannot reach Redis fails here instead of skipping.
export BRIDGE_TEST_REDIS_REQUIRED=1

mkdir -p bench/out
args=(-run '^$' -bench "${BENCH:-Accept|Latency|Drain}" -benchtime 1x -timeout 15m)
if [ "${BENCH_PROFILE:-}" = 1 ]; then
  args+=(-cpuprofile bench/out/cpu.prof -o bench/out/bridge.test)
fi
echo "bench: go test ${args[*]} ./cmd/bridge"
go test "${args[@]}" ./cmd/bridge | tee bench/out/raw.txt

redis_version=""
if command -v redis-cli >/dev/null; then
  redis_version=$(redis-cli -u "$BRIDGE_TEST_REDIS_URL" info server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version:/ {print "redis " $2}' || true)
fi
echo
echo "machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH), kernel $(uname -r)"
echo "redis:   $BRIDGE_TEST_REDIS_URL${redis_version:+ ($redis_version)}"
echo
awk '
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
  for (i = 3; i < NF; i += 2) v[name "/" $(i+1)] = $i
  seen[name] = 1
}
function row(label, key, fmt, target, cmp, goal,   val, verdict) {
  if (!(key in v)) return
  val = v[key]; verdict = ""
  if (cmp == ">=") verdict = (val + 0 >= goal) ? "ok" : "MISS"
  if (cmp == "<=") verdict = (val + 0 <= goal) ? "ok" : "MISS"
  printf "| %-46s | %12s | %-10s | %-4s |\n", label, sprintf(fmt, val), target, verdict
}
END {
  printf "| %-46s | %12s | %-10s | %-4s |\n", "figure", "value", "target", ""
  printf "|%s|%s|%s|%s|\n", "------------------------------------------------", "--------------", "------------", "------"
  row("accepted webhooks/s, baseline (bare Echo)",   "Accept/baseline-req/s", "%.0f")
  row("accepted webhooks/s, bridge webhook path",    "Accept/path-req/s",     "%.0f")
  row("accepted webhooks/s, whole bridge (sending)", "Accept/bridge-req/s",   "%.0f")
  row("ratio path/baseline (all legs)",              "Accept/path-ratio",     "%.2f", ">= 0.9", ">=", 0.9)
  row("ratio path/baseline (median of rounds)",      "Accept/path-ratio-med", "%.2f", ">= 0.9", ">=", 0.9)
  row("ratio whole bridge/baseline (all legs)",      "Accept/ratio",          "%.2f")
  row("ratio whole bridge/baseline (median)",        "Accept/ratio-med",      "%.2f")
  row("CPU us/webhook, this process: baseline",      "Accept/baseline-cpu-us/req", "%.1f")
  row("CPU us/webhook, this process: path",          "Accept/path-cpu-us/req",     "%.1f")
  row("CPU us/webhook, this process: whole bridge",  "Accept/bridge-cpu-us/req",   "%.1f")
  row("CPU us/webhook, Redis: baseline",             "Accept/baseline-redis-us/req", "%.1f")
  row("CPU us/webhook, Redis: path",                 "Accept/path-redis-us/req",     "%.1f")
  row("CPU us/webhook, Redis: whole bridge",         "Accept/bridge-redis-us/req",   "%.1f")
  row("202 -> 8x8 request at 100/s, p50 (ms)",       "Latency/p50-ms",        "%.1f", "<= 15", "<=", 15)
  row("202 -> 8x8 request at 100/s, p99 (ms)",       "Latency/p99-ms",        "%.1f", "<= 50", "<=", 50)
  row("202 -> 8x8 request at 100/s, max (ms)",       "Latency/max-ms",        "%.1f")
  row("webhook answer time at 100/s, p99 (ms)",      "Latency/accept-p99-ms", "%.1f")
  row("drain 10,000 (8x8 answers in 100 ms) (s)",    "Drain/drain-s",         "%.2f", "<= 30", "<=", 30)
  row("  of which posting the 10,000 webhooks (s)",  "Drain/post-s",          "%.2f")
  row("  floor: 10,000 x 100 ms / workers (s)",      "Drain/floor-s",         "%.2f")
  row("  drain / floor",                             "Drain/x-floor",         "%.2f")
  row("  TCP connections opened to 8x8",             "Drain/8x8-conns",       "%.0f")
}' bench/out/raw.txt | tee bench/out/table.md
