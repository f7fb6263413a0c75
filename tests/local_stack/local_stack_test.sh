#!/usr/bin/env bash
# The local stack as a new user meets it, from a checkout in a private (mode 700) directory:
#   a busy port is refused before anything starts, naming the port and its variable;
#   up prints the lines to type next, and after typing them a call answers;
#   down and a second up keep the data; no log holds the service password; down --purge cleans up.
# Usage: local_stack_test.sh <source dir> <build dir with dobj, dobj-worker, dobj-timer>
set -euo pipefail
src=$1
build=$2

work=$(mktemp -d)  # mode 700: as root, the postgres user cannot enter it
checkout="$work/dobj"
listener_pid=
cleanup() {
  [[ -n "$listener_pid" ]] && kill "$listener_pid" 2>/dev/null || true
  [[ -x "$checkout/deploy/local/down" ]] && DOBJ_BUILD_DIR="$build" "$checkout/deploy/local/down" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$checkout"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
  tar -C "$checkout" -xf -

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below Linux's ephemeral range (32768+), where the other tests' servers and connections live.
taken=" "
free_port() {
  local p
  while true; do
    p=$((10000 + RANDOM % 22000))
    [[ "$taken" == *" $p "* ]] && continue
    port_busy "$p" || { taken+="$p "; echo "$p"; return; }
  done
}
export DOBJ_BUILD_DIR="$build"
export DOBJ_NATS_PORT=$(free_port) DOBJ_NATS_HTTP_PORT=$(free_port) DOBJ_NATS_WS_PORT=$(free_port) DOBJ_PG_PORT=$(free_port)
unset DOBJ_NATS_URL DOBJ_DATABASE_URL

echo "--- a busy NATS port is refused before anything starts"
# The listener takes a port the kernel gives it and says which.
node -e "const s = require('net').createServer();
         s.listen(0, '127.0.0.1', () => console.log(s.address().port));" >"$work/busy.port" &
listener_pid=$!
for _ in $(seq 100); do [[ -s "$work/busy.port" ]] && break; sleep 0.1; done
busy_port=$(cat "$work/busy.port")
[[ -n "$busy_port" ]] || fail "the busy-port listener did not start"
if DOBJ_NATS_PORT=$busy_port "$checkout/deploy/local/up" --no-build >"$work/busy.out" 2>"$work/busy.err"; then
  fail "up succeeded with port $busy_port taken"
fi
cat "$work/busy.err"
grep -q "$busy_port (NATS clients; move it with DOBJ_NATS_PORT)" "$work/busy.err" ||
  fail "the error does not name the port and its variable"
port_busy "$DOBJ_PG_PORT" && fail "PostgreSQL was started although a port was busy"
[[ -e "$checkout/var/run/worker.pid" ]] && fail "the worker was started although a port was busy"
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true; listener_pid=

echo "--- up from a private checkout"
"$checkout/deploy/local/up" --no-build | tee "$work/up.out"
data_dir=$(cat "$checkout/var/pg-location")
if [[ $(id -u) -eq 0 ]]; then
  [[ "$data_dir" == /var/lib/dobj/*/pg ]] || fail "as root, the cluster should leave the private directory: $data_dir"
  grep -q "PostgreSQL keeps its data in $data_dir" "$work/up.out" || fail "up did not say where the data is"
fi

echo "--- the lines up printed, typed as a user would"
grep -E '^  export ' "$work/up.out" >"$work/next.sh" || fail "up printed no export lines"
[[ $(wc -l <"$work/next.sh") -eq 2 ]] || fail "expected two lines to type"
(
  cd "$work"
  source "$work/next.sh"
  [[ "$(command -v dobj)" == "$build/services/cli/dobj" ]] || fail "dobj is not on PATH after the printed lines"
  [[ "$(dobj call Counter local-stack inc '{"by": 2}')" == 2 ]] || fail "Counter.inc did not answer 2"
)

echo "--- down, up again: the data survives"
"$checkout/deploy/local/down"
port_busy "$DOBJ_NATS_PORT" && fail "nats-server still runs after down"
port_busy "$DOBJ_PG_PORT" && fail "PostgreSQL still runs after down"
"$checkout/deploy/local/up" --no-build >"$work/up2.out"
[[ "$(cat "$checkout/var/pg-location")" == "$data_dir" ]] || fail "the second up chose another data directory"
(
  source "$work/next.sh"
  [[ "$(dobj call Counter local-stack get)" == 2 ]] || fail "the counter did not survive down and up"
)

echo "--- no log holds the service password"
if grep -rl "dobj-dev" "$checkout/var/log/" "$work"/*.out "$work"/*.err 2>/dev/null; then
  fail "a log or the output holds the service password"
fi

echo "--- down --purge removes the data"
"$checkout/deploy/local/down" --purge
[[ -e "$data_dir" || -e "$checkout/var" ]] && fail "data left behind after down --purge"
echo "local stack: 1 passed, 0 failed"
