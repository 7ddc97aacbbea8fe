# Sourced by the bench scripts: a throwaway PostgreSQL (and Redis) on loopback, in a work
# directory that is removed, servers stopped, when the script exits.
#
#   source bench/throwaway-services.sh
#   start_work_directory swiftlet-bench      # → $WORK, cleaned up on exit
#   start_postgres                           # → $BENCH_POSTGRES_URL (database swiftlet_bench)
#   start_redis                              # → $BENCH_REDIS_URL

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_work_directory() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$WORK"
  trap stop_throwaway_services EXIT
}

stop_throwaway_services() {
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
  [ -d "$WORK/pg" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1
  rm -rf "$WORK"
}

start_postgres() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PG_PORT=$(free_port)
  mkdir "$WORK/pg"; chown postgres "$WORK" "$WORK/pg"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg" -U swiftlet --auth=trust >/dev/null
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1" \
    -l "$WORK/pg.log" -w start >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT" -U swiftlet -d postgres -qc "CREATE DATABASE swiftlet_bench" >/dev/null
  export BENCH_POSTGRES_URL="postgres://swiftlet@127.0.0.1:$PG_PORT/swiftlet_bench?sslmode=disable"
}

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}
