#!/usr/bin/env bash
# Fuzzes the live API against its own OpenAPI document (GET /openapi.json) with
# schemathesis: starts `swiftlet serve` on a throwaway database and a free port, logs in
# through the WeChat sandbox, creates an admin key, and runs every documented operation
# (authenticated ones included) with generated valid and invalid input. Any 5xx, any
# status the document does not list, any body, header or content type that does not
# match it fails the run; so do a route that works without its credentials, a method the
# document does not list that is not answered 405 with a correct Allow, and a deleted
# resource that can still be read.
#
#   scripts/schemathesis.sh sqlite
#   scripts/schemathesis.sh postgres postgres://user@127.0.0.1:5432/any_db?sslmode=disable
#
# The PostgreSQL URL names a server this script may create and drop a database on.
# SWIFTLET_BIN: the binary (default .build/debug/swiftlet, as `swift build` leaves it).
# SCHEMATHESIS_MAX_EXAMPLES: generated cases per operation and phase (default 100).
# SCHEMATHESIS_SEED: the generator's seed (default fixed, so a run can be repeated).
# A schemathesis that is missing is installed with pip; under CI=true one that cannot be
# installed fails the run, otherwise the fuzzing is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> schemathesis: %s\n' "$*" >&2; }

ENGINE=${1:-sqlite}
BIN=${SWIFTLET_BIN:-.build/debug/swiftlet}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-100}
SEED=${SCHEMATHESIS_SEED:-20240601}
# Every check that holds for this API. Left out: negative_data_rejection and
# positive_data_acceptance, since the server also refuses input no schema can describe
# (an unknown SKU, a used login code, a blank trimmed name), and object_level_authorization,
# which needs a second user's data.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
CHECKS+=,unsupported_method,allow_header_conformance,missing_required_header,ignored_auth,use_after_free,ensure_resource_availability

if ! command -v st >/dev/null 2>&1; then
  log "installing schemathesis with pip"
  python3 -m pip install --quiet schemathesis >/dev/null 2>&1 \
    || python3 -m pip install --quiet --break-system-packages schemathesis >/dev/null 2>&1 || true
  hash -r
fi
. scripts/missing-tool.sh
command -v st >/dev/null 2>&1 || missing_tool schemathesis "API fuzzing" "pip install schemathesis"
[ -x "$BIN" ] || { log "$BIN not found; run swift build first"; exit 1; }

. scripts/local-server.sh
json_field() {
  python3 -c 'import json,sys; value=json.load(sys.stdin)
for key in sys.argv[1].split("."): value=value[int(key)] if key.isdigit() else value[key]
print(value)' "$1"
}

WORK=$(mktemp -d /tmp/swiftlet-schemathesis.XXXXXX)
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
PG_ADMIN_URL=
DATABASE=

cleanup() {
  set +e
  stop_server
  [ -n "$DATABASE" ] && psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

export SWIFTLET_DATA_DIRECTORY="$WORK/data"
export SWIFTLET_LOG_LEVEL=warning
case "$ENGINE" in
  sqlite)
    STORAGE=(--storage sqlite --sqlite-path "$WORK/data/swiftlet.sqlite")
    ;;
  postgres)
    URL=${2:?"usage: $0 postgres POSTGRES_URL"}
    DATABASE="swiftlet_fuzz_$$"
    PG_ADMIN_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/postgres")))' "$URL")
    DATABASE_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$URL" "$DATABASE")
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DATABASE" >/dev/null
    STORAGE=(--storage postgres --postgres-url "$DATABASE_URL")
    "$BIN" migrate up "${STORAGE[@]}" >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; exit 1; }
    ;;
  *)
    log "unknown engine '$ENGINE' (sqlite or postgres)"
    exit 2
    ;;
esac

ADMIN_KEY=$("$BIN" admin create-key --name schemathesis "${STORAGE[@]}" 2>/dev/null)
start_server "$PORT" "${STORAGE[@]}"

# A sandbox login code is "<name>:<nonce>"; each is single use.
login() {
  curl -fs -X POST "$BASE/api/v1/auth/wechat/login" -d "{\"code\":\"schemathesis:$1\",\"device\":\"fuzz\"}" | json_field accessToken
}
USER_TOKEN=$(login main)

# Real ids, so operations on one product, SKU, order or user reach past "not found".
PRODUCTS=$(curl -fs "$BASE/api/v1/products")
PRODUCT_ID=$(json_field items.0.id <<<"$PRODUCTS")
SKU_ID=$(json_field items.0.skus.0.id <<<"$PRODUCTS")
SKU_IDS=$(python3 -c 'import json,sys; print(json.dumps([k["id"] for p in json.load(sys.stdin)["items"] for k in p["skus"]]))' <<<"$PRODUCTS")
USER_ID=$(curl -fs "$BASE/api/v1/me" -H "Authorization: Bearer $USER_TOKEN" | json_field id)
# The main session: revoked by the last runs, once nothing needs it any more.
MAIN_SESSION=$(curl -fs "$BASE/api/v1/auth/sessions" -H "Authorization: Bearer $USER_TOKEN" \
  | python3 -c 'import json,sys; print(next(s["id"] for s in json.load(sys.stdin)["sessions"] if s["current"]))')
place_order() {
  curl -fs -X POST "$BASE/api/v1/orders" -H "Authorization: Bearer $USER_TOKEN" -H "Idempotency-Key: schemathesis-$1" \
    -d "{\"items\":[{\"skuId\":\"$SKU_ID\",\"quantity\":1}]}" | json_field id
}
UNPAID_ORDER=$(place_order unpaid)
PAYABLE_ORDER=$(place_order payable)
# A paid order too (paid at the pay sandbox, which notifies the server), so shipping,
# completing and refunding get past "not paid".
PAID_ORDER=$(place_order paid)
curl -fs -X POST "$BASE/api/v1/orders/$PAID_ORDER/pay" -H "Authorization: Bearer $USER_TOKEN" \
  | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["payment"]))' \
  | curl -fs -X POST "$BASE/sandbox/wechatpay/pay" -d @- >/dev/null
for _ in $(seq 50); do
  [ "$(curl -fs "$BASE/api/v1/orders/$PAID_ORDER" -H "Authorization: Bearer $USER_TOKEN" | json_field status)" = paid ] && break
  sleep 0.1
done
# An open room the user owns, so reading, posting, adding members and presence get past
# "not found"; and a second one to leave, so leaving never takes the user (the owner) out
# of the first.
create_room() {
  curl -fs -X POST "$BASE/api/v1/rooms" -H "Authorization: Bearer $USER_TOKEN" -d "{\"name\":\"$1\",\"policy\":\"open\"}" \
    | json_field id
}
ROOM_ID=$(create_room schemathesis)
LEAVABLE_ROOM=$(create_room "schemathesis leave")

cat >"$WORK/schemathesis.toml" <<EOF
[auth.openapi.bearerAuth]
bearer = "$USER_TOKEN"

[auth.openapi.adminKey]
bearer = "$ADMIN_KEY"

# Real ids most of the time, generated ones otherwise (those must answer 404).
[dictionaries.products]
values = ["$PRODUCT_ID"]

[dictionaries.skus]
values = $SKU_IDS

[dictionaries.orders]
values = ["$UNPAID_ORDER", "$PAID_ORDER"]

[dictionaries.payable]
values = ["$PAYABLE_ORDER"]

[dictionaries.sessions]
values = ["$MAIN_SESSION"]

[dictionaries.users]
values = ["$USER_ID"]

[dictionaries.rooms]
values = ["$ROOM_ID"]

[dictionaries.leavable]
values = ["$LEAVABLE_ROOM"]

[[operations]]
include-operation-id = ["getProduct", "adminGetProduct", "adminUpdateProduct", "adminDeleteProduct", "adminAddSKU"]
parameters = { "path.id" = { dictionary = "products", probability = 0.6 } }

[[operations]]
include-operation-id = ["adminUpdateSKU", "adminAdjustStock"]
parameters = { "path.id" = { dictionary = "skus", probability = 0.6 } }

[[operations]]
include-operation-id = "payOrder"
parameters = { "path.id" = { dictionary = "payable", probability = 0.6 } }

[[operations]]
include-operation-id = ["getOrder", "cancelOrder", "confirmReceipt", "adminGetOrder", "adminShipOrder", "adminCompleteOrder", "adminCancelOrder", "adminRefundOrder"]
parameters = { "path.id" = { dictionary = "orders", probability = 0.6 } }

[[operations]]
include-operation-id = "createOrder"
parameters = { "body.items[*].skuId" = { dictionary = "skus", probability = 0.6 } }

[[operations]]
include-operation-id = "revokeSession"
parameters = { "path.id" = { dictionary = "sessions", probability = 0.5 } }

[[operations]]
include-operation-id = "adminUser"
parameters = { "path.id" = { dictionary = "users", probability = 0.6 } }

[[operations]]
include-operation-id = ["getRoom", "joinRoom", "addRoomMember", "listRoomMembers", "postRoomMessage", "readRoomMessages", "roomPresence"]
parameters = { "path.id" = { dictionary = "rooms", probability = 0.6 } }

[[operations]]
include-operation-id = "leaveRoom"
parameters = { "path.id" = { dictionary = "leavable", probability = 0.6 } }
EOF

# One worker: generation, not the server, is the bottleneck, and schemathesis's coverage
# phase can exhaust a worker thread's stack on the nested product schema.
run() {
  # From the work directory, where schemathesis keeps its cache.
  (cd "$WORK" && st --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" --workers 1 --no-color --suppress-health-check all --request-timeout 30 "$@")
}

status=0
# Paying first, alone: later runs cancel every order they learn the id of.
log "$ENGINE: payOrder"
run --include-operation-id payOrder || status=1
log "$ENGINE: every operation but those that end the session"
run --exclude-operation-id logout --exclude-operation-id revokeSession || status=1
# Ending sessions last, each with a token of its own, so the runs before stay signed in.
for operation in revokeSession logout; do
  sed -i "0,/^bearer = .*/s//bearer = \"$(login "$operation")\"/" "$WORK/schemathesis.toml"
  log "$ENGINE: $operation"
  run --include-operation-id "$operation" || status=1
done

server_log_clean || status=1
[ "$status" -eq 0 ] && log "$ENGINE: no failures" || log "$ENGINE: FAILED"
exit "$status"
