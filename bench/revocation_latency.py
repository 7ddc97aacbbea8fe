#!/usr/bin/env python3
"""Time from a logout on node A to the token's refusal on node B.

Usage: revocation_latency.py PORT_A PORT_B [TRIALS]

Each trial logs a fresh sandbox user in on A, checks the token works on B (200 from the
inline GET /api/v1/me and from the routed GET /api/v1/me/sessions), logs out on A and then
asks B as fast as one keep-alive connection allows until it answers 401. The time counted
starts when A's logout answer arrives (the revocation is committed) and ends at B's first
401. Prints p50/p90/p99/max in milliseconds as one CSV line: trials,p50,p90,p99,max.
"""
import http.client
import json
import sys
import time

port_a, port_b = int(sys.argv[1]), int(sys.argv[2])
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
a = http.client.HTTPConnection("127.0.0.1", port_a)
b = http.client.HTTPConnection("127.0.0.1", port_b)


def call(connection, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


samples = []
stamp = time.time_ns()
for trial in range(trials):
    status, data = call(a, "POST", "/api/v1/auth/wechat/login", body=json.dumps({"code": f"revoke{stamp}:{trial}"}))
    assert status == 200, (status, data)
    token = json.loads(data)["accessToken"]
    assert call(b, "GET", "/api/v1/me", token)[0] == 200
    status, _ = call(a, "POST", "/api/v1/auth/logout", token)
    assert status in (200, 204), status
    logged_out = time.perf_counter()
    while True:
        status, _ = call(b, "GET", "/api/v1/me", token)
        if status == 401:
            break
        assert status == 200, status
        if time.perf_counter() - logged_out > 5:
            sys.exit(f"trial {trial}: node B still accepts the token 5 s after the logout")
    samples.append((time.perf_counter() - logged_out) * 1000)

samples.sort()


def percentile(p):
    return samples[min(len(samples) - 1, int(len(samples) * p))]


print(f"{trials},{percentile(0.5):.2f},{percentile(0.9):.2f},{percentile(0.99):.2f},{samples[-1]:.2f}")
