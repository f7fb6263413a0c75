# Shared settings of the local stack (sourced by up, down and status).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
var="$root/var"
build="${DOBJ_BUILD_DIR:-$root/build}"
pg_bin="${DOBJ_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
pg_port="${DOBJ_PG_PORT:-55432}"
nats_server="${DOBJ_NATS_SERVER:-/usr/sbin/nats-server}"
nats_port=4222
export DOBJ_NATS_URL="${DOBJ_NATS_URL:-nats://dobj:dobj-dev@127.0.0.1:$nats_port}"
export DOBJ_DATABASE_URL="${DOBJ_DATABASE_URL:-postgresql://postgres@127.0.0.1:$pg_port/dobj}"

# Postgres refuses to run as root: as root, the cluster belongs to the postgres user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Sends SIGTERM and waits up to $2 seconds for the process in pid file $1 to exit.
stop_pid() {
  local file=$1 wait_s=${2:-15}
  pid_alive "$file" || { rm -f "$file"; return 0; }
  local pid; pid=$(cat "$file")
  kill -TERM "$pid"
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
    sleep 0.1
  done
  echo "process $pid did not stop in ${wait_s}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
