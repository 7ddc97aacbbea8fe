"""Conformance of the built-in sandboxes with the WeChat SDKs teams already use.

Drives wechatpy (WeChat API) and wechatpayv3 (WeChat Pay API v3, in the merchant key mode
the server runs: public-key or certificate) against a running `swiftlet serve`, each SDK
unchanged except for where it sends its requests:
wechatpy's requests session maps https://api.weixin.qq.com/ onto the WeChat sandbox (the
SDK hard-codes that host for its token fetch, so a base URL alone cannot reach it), and
wechatpayv3's gateway is the pay sandbox. Notifies go to a receiver run here and are
checked with the SDK's own verification and decryption.

    python sdk_conformance.py BASE_URL CREDENTIALS_FILE MODE [--pay-only]

CREDENTIALS_FILE is the output of `swiftlet sandbox credentials`; MODE is the server's
`wechatpay.sandboxKeyMode`, `publicKey` or `certificate`, and wechatpayv3 is set up as a
merchant in that mode would set it up (the public key and its id; or a certificate
directory, the SDK's own cache, holding the platform certificate a merchant downloaded
once). --pay-only skips the WeChat (wechatpy) checks. Prints one line per check and ends
with "N passed, M failed"; exits 1 when anything failed.
"""

import http.server
import json
import os
import shutil
import tempfile
import queue
import re
import sys
import threading
import time
import traceback
import uuid

import requests
from requests.adapters import HTTPAdapter
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpayv3 import WeChatPay, WeChatPayType

WECHAT_HOST = "https://api.weixin.qq.com/"


def read_credentials(path):
    """The `name  value` rows printed by `swiftlet sandbox credentials`."""
    rows = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            if len(parts) == 2:
                rows[parts[0]] = parts[1]
    return rows


class SandboxHost(HTTPAdapter):
    """Sends what wechatpy addresses to api.weixin.qq.com to the WeChat sandbox instead."""

    def __init__(self, base):
        super().__init__()
        self.base = base.rstrip("/") + "/"

    def send(self, request, **kwargs):
        request.url = self.base + request.url[len(WECHAT_HOST):]
        return super().send(request, **kwargs)


class NotifyReceiver:
    """A merchant notify endpoint: keeps each delivery's headers and body, answers 204."""

    def __init__(self):
        deliveries = self.deliveries = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                deliveries.put((dict(self.headers.items()), body.decode("utf-8")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/notify" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, event_type, timeout=15):
        """The next delivery of `event_type` (others, such as retries of earlier ones, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no %s notify within %ss" % (event_type, timeout)
            headers, body = self.deliveries.get(timeout=left)
            if json.loads(body).get("event_type") == event_type:
                return headers, body


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, check):
        try:
            check()
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print("ok   %s" % name)


def expect_errcode(call, errcode):
    try:
        call()
    except WeChatClientException as error:
        assert error.errcode == errcode, "errcode %r, expected %r" % (error.errcode, errcode)
    else:
        raise AssertionError("no error, expected errcode %d" % errcode)


def main():
    base, credentials_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    assert mode in ("publicKey", "certificate"), "MODE is publicKey or certificate"
    credentials = read_credentials(credentials_file)
    checks = Checks()
    state = {}
    if "--pay-only" not in sys.argv[4:]:
        wechat_checks(credentials, checks, state)
    pay_checks(base, credentials, mode, checks, state)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 0 if checks.failed == 0 else 1


def wechat_checks(credentials, checks, state):
    """wechatpy against the WeChat sandbox."""

    client = WeChatClient(credentials["AppID"], credentials["AppSecret"])
    client._http.mount(WECHAT_HOST, SandboxHost(credentials["WeChat API base URL"]))

    def access_token():
        first = client.fetch_access_token()
        assert first["access_token"] and first["expires_in"] > 0, first
        second = client.fetch_access_token()
        assert second["access_token"] != first["access_token"], "a new token on every call"
        assert client.access_token == second["access_token"]

    def stable_token():
        # wechatpy 1.8 has no helper for it; its generic call, as a team would write it.
        body = {"grant_type": "client_credential", "appid": credentials["AppID"], "secret": credentials["AppSecret"]}
        first = client.post("stable_token", data=body)
        assert first["access_token"] and first["expires_in"] > 0, first
        assert client.post("stable_token", data=body)["access_token"] == first["access_token"], "normal mode keeps the token"

    def login():
        session = client.wxa.code_to_session("alice:1")
        assert session["openid"] and session["session_key"], sorted(session)
        state["openid"] = session["openid"]
        again = client.wxa.code_to_session("alice:2")
        assert again["openid"] == session["openid"], "the same name is the same openid"

    def phone_number():
        # wechatpy 1.8 has no helper for it; its generic call sends the access token.
        result = client.wxa._post("wxa/business/getuserphonenumber", data={"code": "bob:1"})
        info = result["phone_info"]
        assert info["phoneNumber"] and info["purePhoneNumber"] and info["countryCode"], info
        assert info["watermark"]["appid"] == credentials["AppID"]

    checks.run("wechatpy: access token via GET /cgi-bin/token", access_token)
    checks.run("wechatpy: stable_token", stable_token)
    checks.run("wechatpy: code_to_session", login)
    checks.run("wechatpy: a used code is 40163",
               lambda: expect_errcode(lambda: client.wxa.code_to_session("alice:1"), 40163))
    checks.run("wechatpy: err:40226 is 40226",
               lambda: expect_errcode(lambda: client.wxa.code_to_session("err:40226:x"), 40226))
    checks.run("wechatpy: phone number", phone_number)
    checks.run("wechatpy: an API the sandbox does not have is WeChat's 40066, reported by the SDK",
               lambda: expect_errcode(lambda: client.get("cgi-bin/no-such-api"), 40066))


def pay_checks(base, credentials, mode, checks, state):
    """wechatpayv3 against the pay sandbox, as a merchant in `mode` configures it."""
    receiver = NotifyReceiver()
    with open(credentials["merchant private key file"], encoding="utf-8") as handle:
        private_key = handle.read()
    if mode == "publicKey":
        with open(credentials["WeChat Pay public key file"], encoding="utf-8") as handle:
            verification = {"public_key": handle.read(), "public_key_id": credentials["WeChat Pay public key id"]}
        expected_serial = credentials["WeChat Pay public key id"]
    else:
        # The SDK's certificate cache, as a merchant has it after one download: without it the
        # SDK downloads from the real host while it is being constructed, before its gateway
        # can be pointed anywhere. Later downloads (the check below) go to the sandbox.
        cert_dir = tempfile.mkdtemp(prefix="wechatpay-certs-")
        shutil.copy(credentials["platform certificate file"],
                    os.path.join(cert_dir, credentials["platform certificate serial"] + ".pem"))
        verification = {"cert_dir": cert_dir}
        expected_serial = credentials["platform certificate serial"]
    pay = WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=credentials["merchant id (mchid)"],
        private_key=private_key,
        cert_serial_no=credentials["merchant certificate serial"],
        appid=credentials["AppID"],
        apiv3_key=credentials["APIv3 key"],
        notify_url=receiver.url,
        timeout=(5, 10),
        **verification)
    pay._core._gate_way = credentials["WeChat Pay base URL"].rstrip("/")
    prefix = "wechatpayv3 (%s mode): " % mode
    openid = lambda: state.get("openid") or "o_sdk_conformance_payer"  # noqa: E731
    run = uuid.uuid4().hex[:12]

    def ok(answer, expected=200):
        code, message = answer
        assert code == expected, "HTTP %s: %s" % (code, message)
        return json.loads(message) if message else {}

    def prepay(out_trade_no):
        answer = ok(pay.pay(description="SDK conformance", out_trade_no=out_trade_no,
                            amount={"total": 100, "currency": "CNY"}, payer={"openid": openid()}))
        assert answer["prepay_id"], answer
        return answer["prepay_id"]

    def prepay_query_close():
        out_trade_no = "sdk%sa" % run
        prepay(out_trade_no)
        queried = ok(pay.query(out_trade_no=out_trade_no))
        assert queried["trade_state"] == "NOTPAY" and queried["out_trade_no"] == out_trade_no, queried
        ok(pay.close(out_trade_no=out_trade_no), expected=204)
        closed = ok(pay.query(out_trade_no=out_trade_no))
        assert closed["trade_state"] == "CLOSED", closed

    def pay_and_notify():
        out_trade_no = state["paid"] = "sdk%sb" % run
        prepay_id = prepay(out_trade_no)
        paid = requests.post(base + "/sandbox/wechatpay/pay", json={"prepayId": prepay_id}, timeout=10)
        assert paid.status_code == 200, paid.text
        state["transaction_id"] = paid.json()["transactionId"]
        headers, body = state["payment_notify"] = receiver.next("TRANSACTION.SUCCESS")
        assert headers.get("Wechatpay-Serial") == expected_serial, headers.get("Wechatpay-Serial")
        notify = pay.callback(headers, body)
        assert notify, "the SDK refused the payment notify"
        resource = notify["resource"]
        assert resource["out_trade_no"] == out_trade_no and resource["trade_state"] == "SUCCESS", resource
        assert resource["transaction_id"] == state["transaction_id"], resource

    def query_by_transaction_id():
        queried = ok(pay.query(transaction_id=state["transaction_id"]))
        assert queried["trade_state"] == "SUCCESS" and queried["out_trade_no"] == state["paid"], queried
        assert queried["amount"]["total"] == 100, queried

    def refund_and_notify():
        out_refund_no = state["refund"] = "sdk%sr" % run
        refunded = ok(pay.refund(out_refund_no=out_refund_no, transaction_id=state["transaction_id"],
                                 amount={"refund": 40, "total": 100, "currency": "CNY"},
                                 notify_url=receiver.url))
        assert refunded["out_refund_no"] == out_refund_no and refunded["status"] in ("PROCESSING", "SUCCESS"), refunded
        headers, body = receiver.next("REFUND.SUCCESS")
        notify = pay.callback(headers, body)
        assert notify, "the SDK refused the refund notify"
        resource = notify["resource"]
        assert resource["out_refund_no"] == out_refund_no and resource["refund_status"] == "SUCCESS", resource
        assert resource["amount"]["refund"] == 40, resource

    def refund_query():
        queried = ok(pay.query_refund(out_refund_no=state["refund"]))
        assert queried["status"] == "SUCCESS" and queried["amount"]["refund"] == 40, queried

    def forged_notify_refused():
        headers, body = state["payment_notify"]
        tampered = body.replace('"id":"', '"id":"x', 1)
        assert tampered != body
        assert not pay.callback(headers, tampered), "a tampered notify passed verification"

    def certificates_download():
        pay._core._update_certificates()
        serials = ["%X" % certificate.serial_number for certificate in pay._core._certificates]
        assert serials == [credentials["platform certificate serial"].lstrip("0")], serials

    def unknown_api():
        code, message = pay._core.request("/v3/no-such-api")
        assert code == 404 and json.loads(message)["code"] == "RESOURCE_NOT_EXISTS", (code, message)

    checks.run(prefix + "JSAPI prepay, query by out_trade_no, close", prepay_query_close)
    checks.run(prefix + "paid at the sandbox; payment notify verified and decrypted", pay_and_notify)
    checks.run(prefix + "query by transaction_id", query_by_transaction_id)
    checks.run(prefix + "refund; refund notify verified and decrypted", refund_and_notify)
    checks.run(prefix + "refund query", refund_query)
    checks.run(prefix + "a tampered notify fails the SDK's verification", forged_notify_refused)
    checks.run(prefix + "an API the sandbox does not have is WeChat Pay's 404 RESOURCE_NOT_EXISTS", unknown_api)
    if mode == "certificate":
        checks.run(prefix + "the SDK's own download of /v3/certificates", certificates_download)
    receiver.server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
