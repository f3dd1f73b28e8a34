#!/usr/bin/env python3
"""Lookups of identifiers nobody has, as an untrusted caller could send them, against a running node.

usage: benchmarks/unknown_lookups.py PORT PID REQUESTS [--sqlite PATH] [--api-key KEY]

One keep-alive HTTP connection on loopback, requests one after the other: random e-mail addresses, phone numbers and
membership cards (a third each) that no observation holds. Prints the latency p50/p99/max of the 404 answers, the rate,
the node's resident memory (VmRSS of PID) after a 2,000-request warm-up and after the run, and, with --sqlite, the
journal row count, highest ordering and the graph's snapshot rows (the outbox checkpoint excluded: it moves on
its own) before and after (they must not change). Exit code 1 when an
answer is not 404 or the database changed.
"""
import argparse
import http.client
import random
import sqlite3
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("pid", type=int)
parser.add_argument("requests", type=int)
parser.add_argument("--sqlite")
parser.add_argument("--api-key")
args = parser.parse_args()
headers = {"X-Api-Key": args.api_key} if args.api_key else {}
connection = http.client.HTTPConnection("127.0.0.1", args.port)
rng = random.Random(7)


def rss_mib():
    with open(f"/proc/{args.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for pid {args.pid}")


def footprint():
    if not args.sqlite:
        return None
    db = sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT (SELECT COUNT(*) FROM journal), (SELECT COALESCE(MAX(ordering), 0) FROM journal), (SELECT COUNT(*) FROM snapshot WHERE persistence_id NOT LIKE 'outbox-%')"
        ).fetchone()
    finally:
        db.close()


def unknown_path():
    roll = rng.randrange(3)
    if roll == 0:
        return f"/v1/identifiers/EMAIL/u{rng.getrandbits(64):x}%40nowhere.example"
    if roll == 1:
        return f"/v1/identifiers/PHONE/%2B4569{rng.randrange(10**6):06d}"
    return f"/v1/identifiers/MEMBERSHIP_CARD/8{rng.randrange(10**9):09d}?namespace=club"


def lookup(path):
    start = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


for _ in range(2000):
    status, _ = lookup(unknown_path())
    if status != 404:
        sys.exit(f"warm-up lookup answered {status}, not 404")
before_db = footprint()
before_rss = rss_mib()
latencies = []
wrong = 0
started = time.perf_counter()
for _ in range(args.requests):
    status, seconds = lookup(unknown_path())
    latencies.append(seconds)
    wrong += status != 404
elapsed = time.perf_counter() - started
after_rss = rss_mib()
after_db = footprint()
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000


print(f"unknown lookups: {args.requests} in {elapsed:.1f} s ({args.requests / elapsed:.0f}/s), not 404: {wrong}")
print(f"latency ms: p50 {pct(0.50):.2f}  p99 {pct(0.99):.2f}  max {latencies[-1] * 1000:.2f}")
print(f"node RSS MiB: {before_rss:.0f} after warm-up, {after_rss:.0f} after ({after_rss - before_rss:+.0f})")
if before_db is not None:
    print(f"journal rows, max ordering, snapshot rows: before {before_db}, after {after_db}")
sys.exit(1 if wrong or before_db != after_db else 0)
