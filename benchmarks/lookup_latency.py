#!/usr/bin/env python3
"""Lookup API latency against a running node (e.g. `identitygraph demo`, which keeps serving after its summary).

usage: benchmarks/lookup_latency.py PORT REQUESTS PROFILE_ID [API_KEY]

One keep-alive HTTP connection, requests one after the other: 40 % GET /v1/profiles/PROFILE_ID, 40 % lookups of that
profile's e-mail addresses, 20 % lookups of addresses nobody has (404). Prints p50/p90/p99/max per kind and the rate.
"""
import http.client
import json
import random
import sys
import time

port, n, profile_id = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
headers = {"X-Api-Key": sys.argv[4]} if len(sys.argv) > 4 else {}
connection = http.client.HTTPConnection("127.0.0.1", port)


def get(path):
    start = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    return response.status, body, time.perf_counter() - start


status, body, _ = get("/v1/profiles/" + profile_id)
if status != 200:
    sys.exit(f"GET /v1/profiles/{profile_id} answered {status}: {body[:200]!r}")
emails = [i["value"] for i in json.loads(body)["identifiers"] if i["type"] == "IDENTIFIER_TYPE_EMAIL"]
if not emails:
    sys.exit("the profile holds no e-mail address; pick another (the demo prints the largest)")

random.seed(1)
paths = []
for k in range(n):
    roll = random.random()
    if roll < 0.4:
        paths.append("/v1/profiles/" + profile_id)
    elif roll < 0.8:
        paths.append("/v1/identifiers/EMAIL/" + emails[k % len(emails)])
    else:
        paths.append(f"/v1/identifiers/EMAIL/nobody{k}@example.com")

for path in paths[:200]:  # warm-up
    get(path)
latencies = {"found": [], "not found": []}
started = time.perf_counter()
for path in paths:
    status, _, seconds = get(path)
    latencies["found" if status == 200 else "not found"].append(seconds * 1000)
elapsed = time.perf_counter() - started


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


for kind, values in latencies.items():
    if values:
        print(f"{kind}: n={len(values)} p50={quantile(values, .5):.2f} ms p90={quantile(values, .9):.2f} ms "
              f"p99={quantile(values, .99):.2f} ms max={max(values):.2f} ms")
print(f"{len(paths) / elapsed:.0f} requests/s on one keep-alive connection")
