#!/usr/bin/env python3
"""Order and payment-notify throughput on SQLite and PostgreSQL (called by bench/commerce.sh).

For each engine: start the release binary on a fresh database, create an admin key, 20
products with ample stock and 64 sandbox buyers, then drive `POST /api/v1/orders` with
wrk (fresh Idempotency-Key per request), then replay genuine signed WeChat Pay
notifications for the orders just created against `POST /api/v1/pay/wechat/notify`.
Appends a Markdown table to bench/results/commerce-<time>.md and prints it."""
import base64, json, os, re, secrets, shutil, subprocess, sys, tempfile, time, urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(ROOT, ".build-static", "release", "swiftlet")
DURATION = os.environ.get("DURATION", "15s")
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
NOTIFY_CONNECTIONS = int(os.environ.get("NOTIFY_CONNECTIONS", "16"))


def call(port, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def serve(engine, work, env_extra, key_name="bench"):
    env = dict(os.environ, SWIFTLET_HTTP_PORT="0", SWIFTLET_DATA_DIRECTORY=os.path.join(work, "data"),
               SWIFTLET_STORAGE_SQLITE_PATH=os.path.join(work, "data", "swiftlet.sqlite"),
               SWIFTLET_COMMERCE_DEMO_CATALOGUE="false", SWIFTLET_LOG_ACCESS_LOG="false", SWIFTLET_LOG_LEVEL="warning",
               SWIFTLET_WECHATPAY_SANDBOX_RETRY_SCHEDULE="1", **env_extra)
    env = {k: v for k, v in env.items() if not (k.startswith("SWIFTLET_") and v == "")}
    key = subprocess.run([BINARY, "admin", "create-key", "--name", key_name], env=dict(env, SWIFTLET_LOG_LEVEL="error"),
                         capture_output=True, text=True, check=True).stdout.strip()
    log = open(os.path.join(work, f"server-{engine}.log"), "w")
    process = subprocess.Popen([BINARY, "serve"], env=dict(env, SWIFTLET_LOG_LEVEL="notice"), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = open(log.name).read()
        match = re.search(r'"msg":"listening".*?"port":(\d+)', text)
        if match:
            return process, int(match.group(1)), key
        if process.poll() is not None:
            sys.exit(f"swiftlet exited: {text}")
        time.sleep(0.05)
    sys.exit("swiftlet did not start")


def wrk(port, script, connections, env):
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "--latency", "-s", script,
                             f"http://127.0.0.1:{port}"], env=dict(os.environ, **env), capture_output=True, text=True).stdout
    pct = dict(re.findall(r"(p\d+)=(\d+)", re.search(r"PCT .*", output).group(0)))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])
    return dict(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
                requests=int(re.search(r"(\d+) requests in", output).group(1)),
                p50=int(pct["p50"]) / 1000, p99=int(pct["p99"]) / 1000, p999=int(pct["p999"]) / 1000, non2xx=non2xx)


def notifications(credentials, orders):
    """Genuine notifies, signed and encrypted exactly as WeChat Pay does (the sandbox's keys)."""
    key = serialization.load_pem_private_key(credentials["platformPrivateKeyPEM"].encode(), password=None)
    aead = AESGCM(credentials["apiV3Key"].encode())
    lines = []
    for order in orders:
        transaction = {"appid": credentials["appID"], "mchid": credentials["mchID"], "out_trade_no": order["outTradeNo"],
                       "transaction_id": "4200" + "".join(secrets.choice("0123456789") for _ in range(24)),
                       "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
                       "success_time": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"), "payer": {"openid": "bench"},
                       "amount": {"total": order["totalFen"], "payer_total": order["totalFen"], "currency": "CNY",
                                  "payer_currency": "CNY"}}
        nonce = secrets.token_hex(6)
        ciphertext = aead.encrypt(nonce.encode(), json.dumps(transaction, ensure_ascii=False).encode(), b"transaction")
        body = json.dumps({"id": secrets.token_hex(16), "create_time": transaction["success_time"],
                           "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                           "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                                        "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": "transaction",
                                        "nonce": nonce}}, ensure_ascii=False, separators=(",", ":"))
        timestamp, header_nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{timestamp}\n{header_nonce}\n{body}\n".encode()
        signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        lines.append("|".join([timestamp, header_nonce, signature, credentials["publicKeyID"], body]))
    return lines


def run(engine, env_extra):
    work = tempfile.mkdtemp(prefix=f"swiftlet-commerce-{engine}-")
    process, port, admin = serve(engine, work, env_extra)
    try:
        auth = {"Authorization": f"Bearer {admin}"}
        skus = []
        for index in range(20):
            product = call(port, "POST", "/admin/v1/products", {"title": f"Bench {index}", "skus": [
                {"title": "Default", "priceFen": 100 + index, "stock": 10_000_000}]}, auth)
            skus.append(product["skus"][0]["id"])
        tokens = [call(port, "POST", "/api/v1/auth/wechat/login", {"code": f"buyer{i}:{time.time_ns()}"})["accessToken"]
                  for i in range(64)]
        open(os.path.join(work, "skus"), "w").write("\n".join(skus) + "\n")
        open(os.path.join(work, "tokens"), "w").write("\n".join(tokens) + "\n")
        orders = wrk(port, os.path.join(HERE, "commerce-orders.lua"), CONNECTIONS,
                     {"SKUS": os.path.join(work, "skus"), "TOKENS": os.path.join(work, "tokens")})

        pending, cursor = [], None
        while len(pending) < 2000:
            page = call(port, "GET", "/admin/v1/orders?status=pending_payment&limit=100" + (f"&cursor={cursor}" if cursor else ""),
                        headers=auth)
            pending += page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                break
        credentials = json.load(open(os.path.join(work, "data", "secrets", "wechatpay-sandbox.json")))
        open(os.path.join(work, "notifies"), "w").write("\n".join(notifications(credentials, pending)) + "\n")
        notify = wrk(port, os.path.join(HERE, "commerce-notify.lua"), NOTIFY_CONNECTIONS, {"NOTIFIES": os.path.join(work, "notifies")})
        paid = call(port, "GET", "/admin/v1/orders?status=paid&limit=1", headers=auth)
        return dict(engine=engine, orders=orders, notify=notify, notifies=len(pending), paid_visible=bool(paid["items"]))
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def main():
    results = [run("sqlite", {})]
    if os.environ.get("BENCH_POSTGRES_URL"):
        results.append(run("postgres", {"SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_AUTO_MIGRATE": "true",
                                        "SWIFTLET_STORAGE_POSTGRES_URL": os.environ["BENCH_POSTGRES_URL"]}))
    lines = [f"Commerce benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, wrk -t2, {DURATION} per run, release build.", "",
             "| engine | endpoint | connections | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        o, n = r["orders"], r["notify"]
        lines.append(f"| {r['engine']} | POST /api/v1/orders | {CONNECTIONS} | {o['rps']:.0f} | {o['p50']:.2f} | {o['p99']:.2f} | {o['p999']:.2f} | {o['non2xx']} |")
        lines.append(f"| {r['engine']} | POST /api/v1/pay/wechat/notify ({r['notifies']} orders, replayed) | {NOTIFY_CONNECTIONS} | {n['rps']:.0f} | {n['p50']:.2f} | {n['p99']:.2f} | {n['p999']:.2f} | {n['non2xx']} |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    open(os.path.join(HERE, "results", f"commerce-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
