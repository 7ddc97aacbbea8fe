#!/usr/bin/env bash
# A local cluster to try by hand: several `swiftlet serve` nodes on one PostgreSQL (and
# Redis, when given) behind nginx configured with deploy/nginx/swiftlet-upstream.conf, all on
# loopback, in the development profile (the WeChat sandboxes on node 1 serve the cluster).
#
#   scripts/cluster.sh start [--postgres URL] [--redis URL] [--nodes N] [--port PORT]
#   scripts/cluster.sh status
#   scripts/cluster.sh stop
#
# --postgres  the shared database (default $SWIFTLET_STORAGE_POSTGRES_URL; required).
#             Node 1 applies pending migrations to it.
# --redis     shared state between the nodes (default $SWIFTLET_REDIS_URL). Without it each
#             node keeps revocations, its user cache and the WeChat access_token to itself.
# --nodes     how many nodes (default 3).
# --port      nginx's port (default 8080); the nodes listen on the ports after it.
#
# SWIFTLET_BIN: the binary (default .build/debug/swiftlet, as `swift build` leaves it).
# SWIFTLET_CLUSTER_DIR: where pids, logs and the shared data directory live
# (default .build/cluster). Any other SWIFTLET_… variable set when starting reaches every node.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

DIR=${SWIFTLET_CLUSTER_DIR:-.build/cluster}
BIN=${SWIFTLET_BIN:-.build/debug/swiftlet}
POSTGRES=${SWIFTLET_STORAGE_POSTGRES_URL:-}
REDIS=${SWIFTLET_REDIS_URL:-}
NODES=3
PORT=8080

command=${1:-}
[ -n "$command" ] || usage
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES=$2; shift 2 ;;
    --redis) REDIS=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    *) usage ;;
  esac
done

NGINX=$(command -v nginx || ls /usr/sbin/nginx /usr/local/sbin/nginx 2>/dev/null | head -n 1 || true)

# The upstream file as shipped, with its `listen` line and node lines (keeping the first
# node line's max_fails/fail_timeout) replaced by this cluster's ports.
upstream_conf() {
  local node_ports=$1
  awk -v listen="$PORT" -v nodes="$node_ports" '
    /^[[:space:]]*upstream swiftlet_nodes/ { inside = 1 }
    inside && /^[[:space:]]*}/ { inside = 0 }
    inside && /^[[:space:]]*server[[:space:]].*;[[:space:]]*$/ {
      if (!written) {
        params = ""
        for (i = 3; i <= NF; i++) params = params " " $i
        sub(/;[[:space:]]*$/, "", params)
        n = split(nodes, ports, " ")
        for (i = 1; i <= n; i++) printf "    server 127.0.0.1:%s%s;\n", ports[i], params
        written = 1
      }
      next
    }
    /^[[:space:]]*listen[[:space:]].*;[[:space:]]*$/ { print "    listen 127.0.0.1:" listen ";"; next }
    { print }
  ' deploy/nginx/swiftlet-upstream.conf
}

# The main nginx.conf around it: in the foreground of its own process, pid, logs and
# temporary files in $DIR/nginx.
nginx_conf() {
  local dir=$1 temp module
  temp="    client_body_temp_path $dir/temp-client_body;
    proxy_temp_path $dir/temp-proxy;"
  for module in fastcgi uwsgi scgi; do
    "$NGINX" -V 2>&1 | grep -q -- "--without-http_${module}_module" || temp="$temp
    ${module}_temp_path $dir/temp-$module;"
  done
  cat <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log $dir/access.log;
$temp
    include swiftlet-upstream.conf;
}
CONF
}

wait_ready() {
  local port=$1 pid=$2 name=$3
  for _ in $(seq 150); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name exited:"; tail -n 20 "$DIR/$name.log" >&2; return 1; }
    sleep 0.2
  done
  log "$name did not become ready"
  return 1
}

stop_all() {
  local pidfile pid
  # Nodes first (SIGTERM: requests in flight finish), then nginx (SIGQUIT: graceful).
  for pidfile in "$DIR"/node-*.pid "$DIR/nginx/nginx.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    case "$pidfile" in *nginx.pid) kill -QUIT "$pid" 2>/dev/null || true ;; *) kill -TERM "$pid" 2>/dev/null || true ;; esac
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$pidfile"
  done
}

case "$command" in
  start)
    [ -n "$POSTGRES" ] || { log "a PostgreSQL URL is required (--postgres or SWIFTLET_STORAGE_POSTGRES_URL): the nodes share one database"; exit 2; }
    [ -n "$NGINX" ] || { log "nginx is not installed (apt-get install nginx)"; exit 1; }
    [ -x "$BIN" ] || { log "$BIN not found; run swift build first"; exit 1; }
    if ls "$DIR"/node-*.pid >/dev/null 2>&1; then log "a cluster is already running from $DIR (scripts/cluster.sh stop)"; exit 1; fi
    mkdir -p "$DIR/nginx" "$DIR/data"
    DIR=$(cd "$DIR" && pwd)
    NGINX_URL="http://127.0.0.1:$PORT"
    export SWIFTLET_STORAGE_ENGINE=postgres SWIFTLET_STORAGE_POSTGRES_URL="$POSTGRES"
    export SWIFTLET_DATA_DIRECTORY="$DIR/data" SWIFTLET_CLUSTER_NODES="$NODES"
    export SWIFTLET_WECHATPAY_NOTIFY_URL="$NGINX_URL/api/v1/pay/wechat/notify"
    if [ -n "$REDIS" ]; then
      export SWIFTLET_REDIS_URL="$REDIS"
    else
      log "no Redis (--redis or SWIFTLET_REDIS_URL): each node keeps revocations, its user cache and the WeChat access_token to itself"
    fi
    trap 'log "start failed; stopping what was started"; stop_all' ERR
    ports=""
    for i in $(seq "$NODES"); do
      port=$((PORT + i))
      ports="$ports $port"
      if [ "$i" -eq 1 ]; then
        # Node 1 migrates and seeds before the others start; its sandboxes are the cluster's WeChat.
        SWIFTLET_STORAGE_AUTO_MIGRATE=true nohup "$BIN" serve --port "$port" >"$DIR/node-1.log" 2>&1 &
        echo $! >"$DIR/node-1.pid"
        wait_ready "$port" "$(cat "$DIR/node-1.pid")" node-1
      else
        SWIFTLET_WECHAT_API_BASE_URL="http://127.0.0.1:$((PORT + 1))/sandbox/wechat" \
        SWIFTLET_WECHATPAY_BASE_URL="http://127.0.0.1:$((PORT + 1))/sandbox/wechatpay" \
          nohup "$BIN" serve --port "$port" >"$DIR/node-$i.log" 2>&1 &
        echo $! >"$DIR/node-$i.pid"
      fi
    done
    for i in $(seq 2 "$NODES"); do
      wait_ready "$((PORT + i))" "$(cat "$DIR/node-$i.pid")" "node-$i"
    done
    upstream_conf "${ports# }" >"$DIR/nginx/swiftlet-upstream.conf"
    nginx_conf "$DIR/nginx" >"$DIR/nginx/nginx.conf"
    nohup "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" >"$DIR/nginx.log" 2>&1 &
    wait_ready "$PORT" "$!" nginx
    trap - ERR
    log "$NODES nodes on ports$ports (logs: $DIR/node-N.log), nginx in front; stop with scripts/cluster.sh stop"
    echo "$NGINX_URL"
    ;;
  status)
    status=0
    for pidfile in "$DIR"/node-*.pid; do
      [ -f "$pidfile" ] || { log "no cluster running from $DIR"; exit 1; }
      name=$(basename "$pidfile" .pid)
      if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$name running (pid $(cat "$pidfile"))"; else echo "$name stopped"; status=1; fi
    done
    if [ -f "$DIR/nginx/nginx.pid" ] && kill -0 "$(cat "$DIR/nginx/nginx.pid")" 2>/dev/null; then
      echo "nginx running (pid $(cat "$DIR/nginx/nginx.pid"))"
    else
      echo "nginx stopped"; status=1
    fi
    exit "$status"
    ;;
  stop)
    stop_all
    log "stopped"
    ;;
  *) usage ;;
esac
