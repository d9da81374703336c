#!/usr/bin/env bash
# A local S3 server that checks request signatures: OpenStack Swift with its s3api middleware, from
# Debian's packages, configured under one folder. Used by CI, by the integration tests (which start
# and stop their own instances on free ports) and by developers trying the distributed mode.
#
#   scripts/s3-server.sh start [--port N] [--dir D]   start (or find running) and print the settings
#   scripts/s3-server.sh stop [--dir D]               stop; the stored objects stay in D
#   scripts/s3-server.sh status [--dir D]             print the settings when running, exit 1 if not
#
# `start` prints MEDIAFLOW_S3_* lines (the configuration keys of the s3 section) once the server
# answers authenticated requests, e.g.  set -a; eval "$(scripts/s3-server.sh start)"; set +a
# Both commands are idempotent. Without --port a free port is chosen, and kept for restarts of the
# same folder, so a client configured before a stop reaches the server again after a start.
#
# Credentials: access key `test:tester`, secret `testing` (tempauth). Path-style URLs and region
# us-east-1 only. Swift's limits apply: at most 1,000 parts of at least 5 MiB, 5 GiB an object.
# Exit status 3 from `start`: python3-swift/memcached are missing and could not be installed.
set -euo pipefail

cmd="${1:-}"
[ $# -gt 0 ] && shift
port=""
dir="${TMPDIR:-/tmp}/mediaflow-s3"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --dir) dir="$2"; shift 2 ;;
    --dir=*) dir="${1#*=}"; shift ;;
    *) echo "s3-server: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
etc="$dir/etc" run="$dir/run" logs="$dir/log" devices="$dir/srv"
# Debian's interpreter, not whatever python3 comes first on PATH: python3-swift installs there.
py=/usr/bin/python3
servers=(memcached account-server container-server object-server proxy-server)

log() { echo "s3-server: $*" >&2; }

installed() { [ -x "$py" ] && "$py" -c 'import swift' 2>/dev/null && command -v memcached >/dev/null 2>&1; }

install_packages() {
  installed && return 0
  command -v apt-get >/dev/null 2>&1 || { log "python3-swift and memcached are missing and apt-get is not available"; return 1; }
  log "installing python3-swift and memcached"
  # Several instances may start at once (parallel test files): one installs, the others wait.
  (
    flock 9
    installed && exit 0
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q -o DPkg::Lock::Timeout=600 python3-swift memcached >&2
  ) 9>"${TMPDIR:-/tmp}/mediaflow-s3-install.lock"
}

pid_of() { # the recorded pid of a server, if that process is still ours
  local f="$run/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  # The marker in its environment guards against a recycled pid.
  [ -n "$pid" ] && [ -r "/proc/$pid/environ" ] && tr '\0' '\n' <"/proc/$pid/environ" | grep -qxF "MEDIAFLOW_S3_INSTANCE=$dir" || return 1
  echo "$pid"
}

print_settings() {
  cat <<EOF
MEDIAFLOW_S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/port")
MEDIAFLOW_S3_REGION=us-east-1
MEDIAFLOW_S3_ACCESS_KEY_ID=test:tester
MEDIAFLOW_S3_SECRET_ACCESS_KEY=testing
MEDIAFLOW_S3_FORCE_PATH_STYLE=true
MEDIAFLOW_S3_BUCKET=mediaflow
EOF
}

free_ports() { # N ports nobody listens on right now; the previous ones (args 2..) when still free
  "$py" - "$@" <<'PY'
import socket, sys
n, previous = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
def bind(port):
    s = socket.socket()
    # As Swift and memcached bind: a port whose old connections linger in TIME_WAIT is usable.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    return s
try:
    if len(previous) != n:
        raise OSError('no previous ports')
    socks = [bind(p) for p in previous]
except OSError:
    socks = [bind(0) for _ in range(n)]
print(' '.join(str(s.getsockname()[1]) for s in socks))
PY
}

# Waits until the proxy, every backend and memcached answer, and tempauth hands out a token that
# the account server accepts: the first S3 request of a client then succeeds.
wait_ready() {
  "$py" - "$@" <<'PY'
import socket, sys, time, urllib.request
proxy, account, container, obj, mc = (int(p) for p in sys.argv[1:6])
deadline = time.time() + 60
def get(url, headers=None, method='GET'):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.headers
last = None
while time.time() < deadline:
    try:
        socket.create_connection(('127.0.0.1', mc), timeout=2).close()
        for p in (account, container, obj, proxy):
            get(f'http://127.0.0.1:{p}/healthcheck')
        _, h = get(f'http://127.0.0.1:{proxy}/auth/v1.0', {'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
        get(h['X-Storage-Url'], {'X-Auth-Token': h['X-Auth-Token']}, 'HEAD')
        sys.exit(0)
    except Exception as e:
        last = e
        time.sleep(0.2)
print(f'not ready after 60 s: {last}', file=sys.stderr)
sys.exit(1)
PY
}

write_configs() { # proxy account container object memcached ports
  local user
  user="$(id -un)"
  mkdir -p "$etc" "$run" "$logs" "$devices/d1" "$dir/bin"
  # Swift reads its hash-path settings and storage policies from /etc/swift/swift.conf whatever
  # swift_dir says. Written once, never changed: another suffix would make stored objects unfindable.
  if [ ! -f /etc/swift/swift.conf ]; then
    mkdir -p /etc/swift
    local t
    t="$(mktemp /etc/swift/.swift.conf.XXXXXX)"
    printf '[swift-hash]\nswift_hash_path_suffix = mediaflow-local\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' >"$t"
    chmod 644 "$t"
    mv -n "$t" /etc/swift/swift.conf
    rm -f "$t"
  fi
  cat >"$dir/bin/serve.py" <<'PY'
# Runs one Swift WSGI server from the Python package (Debian's python3-swift ships no launchers).
import sys
from swift.common.utils import parse_options
from swift.common.wsgi import run_wsgi
server = sys.argv.pop(1)
conf, options = parse_options()
sys.exit(run_wsgi(conf, server, **options))
PY
  local common="bind_ip = 127.0.0.1
workers = 0
user = $user
swift_dir = $etc
devices = $devices
mount_check = false
log_level = WARNING"
  local kind p
  for kind in account container object; do
    case $kind in account) p=$2 ;; container) p=$3 ;; object) p=$4 ;; esac
    cat >"$etc/$kind-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $p

[pipeline:main]
pipeline = healthcheck $kind-server

[app:$kind-server]
use = egg:swift#$kind

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  done
  # The pipeline in the order Swift's s3api documentation gives; slo carries multipart uploads,
  # copy carries CopyObject, cache (memcached) is where tempauth keeps its tokens.
  cat >"$etc/proxy-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $1

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$5
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF
  # One replica on one plain directory. Rebuilt when the backend ports change; a ring of the same
  # shape maps every object to the same partition and device, so stored data stays found.
  [ "${6:-}" = keep-rings ] && [ -f "$etc/object.ring.gz" ] && return 0
  "$py" - "$etc" "$2" "$3" "$4" <<'PY'
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    b = RingBuilder(6, 1, 0)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'd1', 'weight': 1, 'meta': ''})
    b.rebalance()
    b.get_ring().save(f'{etc}/{name}.ring.gz')
PY
}

launch() { # name command...
  local name="$1"
  shift
  MEDIAFLOW_S3_INSTANCE="$dir" setsid "$@" </dev/null >>"$logs/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}

do_stop() {
  local s pid pids=()
  for s in "${servers[@]}"; do
    if pid="$(pid_of "$s")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$run/$s.pid"
  done
  local i
  for i in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

running() {
  local s
  for s in "${servers[@]}"; do pid_of "$s" >/dev/null || return 1; done
  [ -f "$dir/port" ] && wait_ready_quick
}

wait_ready_quick() {
  "$py" - "$(cat "$dir/port")" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f'http://127.0.0.1:{sys.argv[1]}/healthcheck', timeout=2)
PY
}

do_start() {
  if [ -z "$port" ] && running; then
    print_settings
    return 0
  fi
  if [ -n "$port" ] && running && [ "$(cat "$dir/port")" = "$port" ]; then
    print_settings
    return 0
  fi
  # Exit status 3: the server cannot be had on this machine (tests skip on it, and only on it).
  install_packages || { log "python3-swift could not be installed"; exit 3; }
  do_stop
  if [ -z "$port" ] && [ -f "$dir/port" ]; then port="$(cat "$dir/port")"; fi
  # Backends keep their ports across restarts when they can: the rings then stay as they are.
  local ports previous=""
  [ -f "$dir/backend-ports" ] && previous="$(cat "$dir/backend-ports")"
  # shellcheck disable=SC2086
  read -r -a ports <<<"$(free_ports 5 $previous)"
  if [ -z "$port" ] || [ "$port" = 0 ]; then port="${ports[0]}"; fi
  echo "$port" >"$dir/port"
  local account="${ports[1]}" container="${ports[2]}" object="${ports[3]}" mc="${ports[4]}"
  write_configs "$port" "$account" "$container" "$object" "$mc" "$([ "${ports[*]}" = "$previous" ] && echo keep-rings)"
  echo "${ports[*]}" >"$dir/backend-ports"
  # Each instance has its own memcached: tempauth's tokens live there.
  launch memcached "$(command -v memcached)" -l 127.0.0.1 -p "$mc" -U 0 -m 32 -u "$(id -un)" -c 256
  local s
  for s in account-server container-server object-server proxy-server; do
    launch "$s" "$py" "$dir/bin/serve.py" "$s" "$etc/$s.conf" -v
  done
  if ! wait_ready "$port" "$account" "$container" "$object" "$mc"; then
    log "did not become ready; logs in $logs"
    tail -n 20 "$logs"/*.log >&2 || true
    do_stop
    return 1
  fi
  print_settings
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) if running; then print_settings; else exit 1; fi ;;
  *) echo "usage: $0 start [--port N] [--dir D] | stop [--dir D] | status [--dir D]" >&2; exit 2 ;;
esac
