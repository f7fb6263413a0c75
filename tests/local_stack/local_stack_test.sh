#!/usr/bin/env bash
# The local stack as a new user meets it, from a checkout in a private (mode 700) directory:
#   a busy port is refused before anything starts, naming the port and its variable;
#   up prints the lines to type next, and after typing them a call answers;
#   docs/first-class.md, followed word for word: its shell blocks build the template against the
#   installed package, run its unit tests, and its worker answers in the stack;
#   down and a second up keep the data; up --nats-nodes 3 turns NATS into a cluster whose
#   printed URL list survives the loss of a node; no log holds the service password;
#   down --purge cleans up.
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
# 10000-19999: below Linux's ephemeral range (32768+), where the other tests' connections live,
# and below 20000, where the test support's free_port() puts their servers (tests/support).
taken=" "
free_port() {
  local p
  while true; do
    p=$((10000 + RANDOM % 9990))
    [[ "$taken" == *" $p "* ]] && continue
    port_busy "$p" || { taken+="$p "; echo "$p"; return; }
  done
}
# <n> free ports in a row (a NATS cluster's node i uses each base + i - 1): the first.
free_ports() {
  local p i
  while true; do
    p=$(free_port)
    for ((i = 1; i < $1; i++)); do
      [[ "$taken" == *" $((p + i)) "* ]] || port_busy $((p + i)) && continue 2
    done
    for ((i = 1; i < $1; i++)); do taken+="$((p + i)) "; done
    echo "$p"; return
  done
}
export DOBJ_BUILD_DIR="$build"
export DOBJ_NATS_PORT=$(free_ports 3) DOBJ_NATS_HTTP_PORT=$(free_ports 3) DOBJ_NATS_WS_PORT=$(free_ports 3)
export DOBJ_NATS_CLUSTER_PORT=$(free_ports 3) DOBJ_PG_PORT=$(free_port)
export DOBJ_WORKER_METRICS_PORT=$(free_port) DOBJ_TIMER_METRICS_PORT=$(free_port) DOBJ_WEB_PORT=$(free_port)
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

echo "--- the chat page up printed is served, pointed at this stack's websocket listener"
page_url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/\?room=lobby' "$work/up.out") || fail "up printed no chat page address"
# The browser test (tests/clients/web_chat.test.mjs) drives the page itself; here, that the stack
# serves it with the right address.
node --input-type=module -e "
  const page = await fetch(process.argv[1]);
  if (page.status !== 200 || !(await page.text()).includes('chat.js')) process.exit(1);
  const config = await (await fetch(new URL('/config.json', process.argv[1]))).json();
  if (config.natsWsUrl !== 'ws://127.0.0.1:' + process.env.DOBJ_NATS_WS_PORT) process.exit(2);
" "$page_url" || fail "the chat page at $page_url is not served as it should be"

echo "--- docs/first-class.md, followed word for word"
# Its \`\`\`sh blocks in order, in one shell, from the checkout, in the shell the export lines
# prepared; a new HOME stands for the user's. The checkout's build/ is this build.
ln -s "$build" "$checkout/build"
awk '/^```sh$/ {on = 1; next} /^```$/ {on = 0} on' "$checkout/docs/first-class.md" >"$work/guide.sh"
[[ $(grep -c . "$work/guide.sh") -ge 8 ]] || fail "the guide's shell blocks were not found"
mkdir "$work/home"
if ! (cd "$checkout" && source "$work/next.sh" && HOME="$work/home" bash -euo pipefail "$work/guide.sh") \
    >"$work/guide.out" 2>&1; then
  cat "$work/guide.out"; fail "a command of docs/first-class.md failed"
fi
guide_says() { grep -qE "$1" "$work/guide.out" || { cat "$work/guide.out"; fail "the guide's run lacks: $1"; }; }
guide_says "100% tests passed, 0 tests failed out of 1"   # the template's unit tests
guide_says "^Guestbook +entries sign "                    # dobj classes
guide_says "^1$"                                          # the first sign
guide_says '"name": "ada"'                                # entries
guide_says "bad_request"
guide_says "refused, as it should be"
[[ -f "$work/home/guestbook/build/guestbook-worker" ]] || fail "the template's worker was not built"
echo "--- the same worker through pkg-config (dobj.pc) instead of CMake"
pc_flags=$(PKG_CONFIG_PATH="$checkout/var/sdk/lib/pkgconfig" pkg-config --cflags --libs dobj) ||
  fail "pkg-config does not resolve dobj.pc"
g++ -o "$work/pc-worker" "$work/home/guestbook/src/main.cpp" "$work/home/guestbook/src/guestbook.cpp" \
  -I"$work/home/guestbook/src" $pc_flags || fail "the template does not build with dobj.pc's flags"
# Read whole before matching: `--help | grep -q` under pipefail fails whenever grep exits before
# the help's last write (it is longer than one stdio buffer) and the worker dies of SIGPIPE.
pc_help=$("$work/pc-worker" --help) || fail "the pkg-config build does not run"
grep -q "hosts the object classes" <<<"$pc_help" || fail "the pkg-config build's --help: $pc_help"
(
  source "$work/next.sh"
  [[ "$(dobj call Counter local-stack get)" == 2 ]] || fail "the example worker is not back after the guide"
  [[ "$(dobj classes --json | grep -c Guestbook)" == 0 ]] || fail "the guestbook worker still serves"
)

echo "--- down, up again: the data survives"
"$checkout/deploy/local/down"
port_busy "$DOBJ_NATS_PORT" && fail "nats-server still runs after down"
port_busy "$DOBJ_PG_PORT" && fail "PostgreSQL still runs after down"
port_busy "$DOBJ_WEB_PORT" && fail "the chat page server still runs after down"
"$checkout/deploy/local/up" --no-build >"$work/up2.out"
[[ "$(cat "$checkout/var/pg-location")" == "$data_dir" ]] || fail "the second up chose another data directory"
(
  source "$work/next.sh"
  [[ "$(dobj call Counter local-stack get)" == 2 ]] || fail "the counter did not survive down and up"
)

echo "--- up --nats-nodes 3: a NATS cluster; calls go on when a node dies"
"$checkout/deploy/local/up" --no-build --nats-nodes 3 >"$work/up3.out"
grep -E '^  export ' "$work/up3.out" >"$work/next3.sh" || fail "up --nats-nodes 3 printed no export lines"
grep -q "nats://127.0.0.1:$DOBJ_NATS_PORT,nats://127.0.0.1:$((DOBJ_NATS_PORT + 1)),nats://127.0.0.1:$((DOBJ_NATS_PORT + 2))" \
  "$work/next3.sh" || fail "the printed DOBJ_NATS_URL does not list the three nodes: $(cat "$work/next3.sh")"
for i in 1 2 3; do
  kill -0 "$(cat "$checkout/var/run/nats-$i.pid")" || fail "NATS node $i is not running"
done
[[ -e "$checkout/var/run/nats.pid" ]] && fail "the lone nats-server still runs beside the cluster"
(
  source "$work/next3.sh"
  [[ "$(dobj call Counter local-stack inc)" == 3 ]] || fail "Counter.inc did not answer 3 on the cluster"
  # Whoever was connected to node 1 (the worker, the timer) reconnects to another.
  kill -KILL "$(cat "$checkout/var/run/nats-1.pid")"
  [[ "$(dobj call Counter local-stack inc)" == 4 ]] || fail "Counter.inc did not answer 4 with node 1 dead"
  "$checkout/deploy/local/up" --no-build >"$work/up3b.out"  # keeps 3 nodes, restarts node 1
  kill -0 "$(cat "$checkout/var/run/nats-1.pid")" ||
    fail "a later up did not bring node 1 back: $(tail -5 "$work/up3b.out"; tail -5 "$checkout/var/log/nats-1.log")"
  [[ "$(dobj call Counter local-stack get)" == 4 ]] || fail "the counter is not 4 after node 1 came back"
)
"$checkout/deploy/local/up" --no-build --nats-nodes 1 >"$work/up1.out"
for i in 2 3; do
  port_busy $((DOBJ_NATS_PORT + i - 1)) && fail "node $i still runs after --nats-nodes 1"
done
(
  source "$work/next.sh"
  [[ "$(dobj call Counter local-stack get)" == 4 ]] || fail "the counter is not 4 back on one nats-server"
)

echo "--- no log holds the service password"
if grep -rl "dobj-dev" "$checkout/var/log/" "$work"/*.out "$work"/*.err 2>/dev/null; then
  fail "a log or the output holds the service password"
fi

echo "--- up --pg-shards 2 over objects in the control database is refused, nothing changed"
if "$checkout/deploy/local/up" --no-build --pg-shards 2 >"$work/up-shards-refused.out" 2>&1; then
  fail "up --pg-shards 2 added shards over the control database's objects"
fi
grep -q "objects of these partitions live in the control database" "$work/up-shards-refused.out" ||
  fail "up --pg-shards 2 did not say why: $(tail -3 "$work/up-shards-refused.out")"

echo "--- down --purge removes the data"
"$checkout/deploy/local/down" --purge
[[ -e "$data_dir" || -e "$checkout/var" ]] && fail "data left behind after down --purge"

echo "--- up --pg-shards 2 on a fresh stack: objects in two storage shards, one worker each"
"$checkout/deploy/local/up" --no-build --pg-shards 2 >"$work/up-shards.out"
(
  source "$work/next.sh"
  for i in 1 2 3 4 5 6; do
    [[ "$(dobj call Counter "sharded-$i" inc)" == 1 ]] || fail "Counter sharded-$i did not answer 1"
  done
  dobj shards --json >"$work/shards.json"
  node -e "
    const places = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    const shards = places.filter(p => !p.control);
    if (shards.length !== 2) process.exit(1);
    if (shards.some(s => s.live_workers !== 1 || s.partitions !== 128)) process.exit(2);
    if (shards.reduce((n, s) => n + s.objects, 0) !== 6) process.exit(3);
  " "$work/shards.json" || fail "dobj shards does not show two shards holding the 6 objects: $(cat "$work/shards.json")"
  [[ "$(dobj ls | grep -c sharded-)" == 6 ]] || fail "dobj ls does not list the sharded objects"
)
"$checkout/deploy/local/down" --purge
echo "local stack: 1 passed, 0 failed"
