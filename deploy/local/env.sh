# Shared settings of the local stack (sourced by up and down).
# Every port can be moved with a variable (a busy port is reported with the variable's name).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
var="$root/var"
build="${DOBJ_BUILD_DIR:-$root/build}"
pg_bin="${DOBJ_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
nats_server="${DOBJ_NATS_SERVER:-/usr/sbin/nats-server}"
pg_port="${DOBJ_PG_PORT:-55432}"
nats_port="${DOBJ_NATS_PORT:-4222}"
nats_http_port="${DOBJ_NATS_HTTP_PORT:-8222}"
nats_ws_port="${DOBJ_NATS_WS_PORT:-9222}"
# Routes between the nodes of a local NATS cluster (up --nats-nodes 3). Node i (1-based) of a
# cluster listens on each base port + i - 1.
nats_cluster_port="${DOBJ_NATS_CLUSTER_PORT:-6222}"
nats_max_nodes=3  # deploy/nats/cluster/node-1..3.conf
# /metrics, /healthz, /readyz of the worker and the timer.
worker_metrics_port="${DOBJ_WORKER_METRICS_PORT:-9464}"
timer_metrics_port="${DOBJ_TIMER_METRICS_PORT:-9465}"
# The ChatRoom page of examples/web (a browser client over the NATS websocket listener).
web_port="${DOBJ_WEB_PORT:-8090}"

# Storage shards of the local stack (up --pg-shards N): databases dobj_shard_1..N, one worker
# each (var/run/worker-<i>.pid; the first keeps worker.pid), metrics on the worker port + 10(i-1).
pg_max_shards=4
pg_shards_file="$var/pg-shards"
recorded_pg_shards() { cat "$pg_shards_file" 2>/dev/null || echo 0; }
worker_pid_file() { if (($1 == 1)); then echo "$var/run/worker.pid"; else echo "$var/run/worker-$1.pid"; fi; }
worker_metrics_port_of() { echo $((worker_metrics_port + 10 * ($1 - 1))); }

# How many NATS nodes the stack runs: what the last `up --nats-nodes` said, else 1.
nats_nodes_file="$var/nats-nodes"
recorded_nats_nodes() { cat "$nats_nodes_file" 2>/dev/null || echo 1; }
# Every node's URL, comma-separated (what DOBJ_NATS_URL takes): nats_urls <nodes> [user:password@]
nats_urls() {
  local out= i
  for ((i = 0; i < $1; i++)); do out+="${out:+,}nats://${2:-}127.0.0.1:$((nats_port + i))"; done
  echo "$out"
}
# The pid file of node i (1-based) of n: a lone server keeps the name it always had.
nats_pid_file() { if (($2 == 1)); then echo "$var/run/nats.pid"; else echo "$var/run/nats-$1.pid"; fi; }
# Sets the stack's own addresses for a NATS of $1 nodes; the environment's DOBJ_* URLs (perhaps
# another stack's) are not used.
set_nats_urls() {
  client_nats_url=$(nats_urls "$1")
  service_nats_url=$(nats_urls "$1" dobj:dobj-dev@)  # deploy/nats/dobj-auth.conf
}
set_nats_urls "$(recorded_nats_nodes)"
database_url="postgresql://postgres@127.0.0.1:$pg_port/dobj"  # operators, migrations
# Workers and timers: a login role with dobj_service's rights only (migrations/0008).
service_db_user=dobj_worker
service_database_url="postgresql://$service_db_user:dobj-dev@127.0.0.1:$pg_port/dobj"

is_root() { [[ $(id -u) -eq 0 ]]; }

# Postgres refuses to run as root: as root, the cluster belongs to the postgres user. It starts
# in / because the caller's directory may be closed to it.
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Where the PostgreSQL cluster lives: ./var/pg when its owner can reach it, else (a root checkout
# under a private directory such as /root) /var/lib/dobj/<checkout id>/pg. up records the choice in
# var/pg-location so that down and later ups find the same cluster.
pg_location_file="$var/pg-location"
checkout_id() { printf '%s' "$root" | sha256sum | cut -c1-12; }
pg_reachable_at() {  # <dir>: can the cluster's owner traverse into dir?
  if is_root; then (cd / && runuser -u postgres -- test -x "$1"); else test -x "$1"; fi
}
pg_data_dir() {
  if [[ -f "$pg_location_file" ]]; then cat "$pg_location_file"
  elif [[ -f "$var/pg/PG_VERSION" ]] || pg_reachable_at "$var"; then echo "$var/pg"
  else echo "/var/lib/dobj/$(checkout_id)/pg"
  fi
}

# A process that still runs. A killed one whose parent has not reaped it yet (the services are
# orphans, and some init processes reap only every few seconds) is a zombie that `kill -0`
# still finds: it counts as gone, so that `up` starts its replacement at once.
pid_running() {
  local stat
  { kill -0 "$1" && stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  [[ ${stat##*) } != Z* ]]
}
pid_alive() { [[ -f "$1" ]] && pid_running "$(cat "$1")"; }

# A port that accepts connections on 127.0.0.1 is busy.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sends SIGTERM and waits up to $2 seconds for the process in pid file $1 to exit.
stop_pid() {
  local file=$1 wait_s=${2:-15}
  pid_alive "$file" || { rm -f "$file"; return 0; }
  local pid i; pid=$(cat "$file")
  kill -TERM "$pid"
  for ((i = 0; i < wait_s * 10; i++)); do
    pid_running "$pid" || { rm -f "$file"; return 0; }
    sleep 0.1
  done
  echo "process $pid did not stop in ${wait_s}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
