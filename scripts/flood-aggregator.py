#!/usr/bin/env python3
"""Floods a devnet aggregator with random aggregator_createTask calls, reports its memory and
store size, then stops it (SIGTERM) and starts it again with the devnet's command line, reporting
how long until it answers. The figures go in docs/benchmarks.md.
Usage: flood-aggregator.py DEVNET_DIR MACH_BIN [COUNT]"""
import json, os, secrets, signal, subprocess, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

dir_, mach = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
agg_dir = os.path.join(dir_, "aggregator")
port = None
for line in open(os.path.join(agg_dir, "aggregator.yaml")):
    if line.startswith("aggregator_jsonrpc_server_ip_port_address"):
        port = line.split(":")[-1].strip()
url = f"http://127.0.0.1:{port}"
procs = json.load(open(os.path.join(dir_, "processes.json")))
pid = next(p["pid"] for p in procs if p["name"] == "aggregator")

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
def store():
    total = 0
    for root, _, files in os.walk(os.path.join(agg_dir, "db")):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 1024
def call(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))

print(f"before: RSS {rss(pid):.1f} MB, store {store():.0f} kB")
start = time.time()
with ThreadPoolExecutor(32) as pool:
    answers = list(pool.map(lambda _: call("aggregator_createTask", ["0x" + secrets.token_hex(32)]), range(count)))
took = time.time() - start
errors = sum(1 for a in answers if "error" in a)
print(f"{count} createTask in {took:.1f} s ({count/took:.0f}/s), {errors} errors")
print(f"after: RSS {rss(pid):.1f} MB, store {store():.0f} kB")
cmd = ["aggregator", "--config", "aggregator.yaml", "--avs-deployment", "../deployment.json",
       "--ecdsa-key-file", "confirmer.ecdsa.key.json", "--password-file", "password"]
os.kill(pid, signal.SIGTERM)
while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
    time.sleep(0.05)
start = time.time()
log = open(os.path.join(dir_, "logs", "aggregator-restart.log"), "w")
child = subprocess.Popen([mach] + cmd, cwd=agg_dir, stdout=log, stderr=log)
while True:
    try:
        call("aggregator_createTask", ["0x" + secrets.token_hex(32)])
        break
    except Exception:
        time.sleep(0.02)
print(f"restart: answering after {time.time() - start:.2f} s; RSS {rss(child.pid):.1f} MB, store {store():.0f} kB")
print(f"restarted aggregator pid {child.pid}")
