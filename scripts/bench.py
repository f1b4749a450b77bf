#!/usr/bin/env python3
"""patron-etl benchmarks: every figure is measured in the same run as its baseline.

Run through scripts/bench.sh (which builds the release binaries first). Standard library only.
Prints one table and writes it as JSON (default bench-results.json).

  1. Offline: `check` on a generated 1,000,000-row CSV vs a plain csv-crate parse of the same file
     (rows/s, ratio, peak RSS); `check` on a 100,000-row XLSX (rows/s, peak RSS).
  2. FOLIO import of 10,000 new users into the sandbox with 5 ms latency: patron-etl vs
     folio-data-import 0.6.9 at the same concurrency (wall-time ratio, requests per user), then an
     unchanged patron-etl re-run (requests per row, writes).
  3. Rate fidelity: with a configured limit of N req/s against a sandbox that answers 429 beyond
     N, the achieved request rate / N and the 429s provoked.
  4. Export of 100,000 users from the sandbox to CSV: rows/s and peak RSS.
  5. Libib at its real pace: 300 requests (299 new patrons) against the sandbox enforcing Libib's
     one request per 2 s; the fraction of that limit achieved and the 429s provoked (~10 minutes).

Each import figure is also a fraction of its bound, under stable keys of bench-results.json:
  import.bound_fraction  requests x latency / in-flight limit / measured time (section 2)
  rate.limit_fraction    achieved requests per second / the configured limit (section 3)
  libib.rate_fraction    requests x 2 s / measured time (section 5)
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
BIN = os.path.join(REL, "patron-etl")
GEN = os.path.join(REL, "examples", "gen_roster")
RAW = os.path.join(REL, "examples", "raw_parse")
SEED = os.path.join(REL, "examples", "seed_folio_users")
MAPPING = os.path.join(ROOT, "benches", "gen-roster-folio.toml")
LIBIB_MAPPING = os.path.join(ROOT, "benches", "gen-roster-libib.toml")
# "Currently you may hit the API once every 2 seconds" (shared/reference/illiad-libib-api.md
# section 1.1, line 39); the sandbox enforces it by default (--libib-interval-ms 2000).
LIBIB_INTERVAL_S = 2.0
PEER_VERSION = "0.6.9"


def measure(cmd, cwd=None, env=None, stdout=subprocess.DEVNULL, cpu=None):
    """Runs cmd; returns (wall seconds, peak RSS in KiB, exit code). When `cpu` is a list, the
    child's CPU seconds (user + system, every thread) are appended to it."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    # os.wait4 gives this child's own rusage (ru_maxrss in KiB on Linux).
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode("utf-8", "replace") if p.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    if code not in (0, 1):
        sys.stderr.write(f"command failed ({code}): {' '.join(cmd)}\n{err[-2000:]}\n")
    return wall, usage.ru_maxrss, code


class Sandbox:
    """`patron-etl sandbox` on an ephemeral loopback port."""

    def __init__(self, workdir, *flags):
        self.proc = subprocess.Popen(
            [BIN, "sandbox", "--listen", "127.0.0.1:0", "--state", os.path.join(workdir, "state.json"), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.base = None
        for line in self.proc.stdout:
            if "http://127.0.0.1:" in line:
                self.base = line[line.index("http://") :].split()[0].rstrip("/")
                break
        if not self.base:
            raise RuntimeError("sandbox did not start")

    def stats(self):
        with urllib.request.urlopen(self.base + "/_sandbox/stats") as r:
            return json.load(r)

    def counts(self):
        """(all requests, writes, 429s) under /folio."""
        s = self.stats()
        total = writes = 0
        for route, n in s.get("requests", {}).items():
            method, _, path = route.partition(" ")
            if not path.startswith("/folio"):
                continue
            total += n
            if method in ("POST", "PUT", "PATCH", "DELETE") and "/authn/" not in path:
                writes += n
        throttled = int(s.get("statuses", {}).get("429", 0))
        return total, writes, throttled

    def config(self, workdir, extra=""):
        path = os.path.join(workdir, "patron-etl.toml")
        with open(path, "w") as f:
            f.write(
                f'[targets.sb]\nsystem = "folio"\nurl = "{self.base}/folio"\ntenant = "diku"\n'
                f'username = "diku_admin"\npassword_env = "SB_FOLIO_PASSWORD"\n{extra}'
            )
        return path

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def env():
    e = dict(os.environ)
    e["SB_FOLIO_PASSWORD"] = "admin"
    e["SB_LIBIB_KEY"] = "sandbox-libib-key"
    return e


def gen_csv(path, n):
    with open(path, "wb") as f:
        subprocess.run([GEN, str(n)], stdout=f, check=True)


def import_run(work, roster, *extra):
    cmd = [BIN, "import", roster, "--mapping", MAPPING, "--to", "sb", "--commit", *extra]
    return measure(cmd, cwd=work, env=env())


def offline(work, rows, xlsx_rows):
    csv_path = os.path.join(work, "big.csv")
    gen_csv(csv_path, rows)
    # Three interleaved rounds (raw parse, check on every core, check on one thread); the medians
    # are reported, so that one noisy moment on a shared machine does not decide a figure.
    raw, chk, one, chk_cpu, one_cpu = [], [], [], [], []
    one_env = dict(os.environ, PATRON_ETL_WORKERS="0")
    for _ in range(3):
        raw.append(measure([RAW, csv_path]))
        chk.append(measure([BIN, "check", csv_path, "--mapping", MAPPING], cpu=chk_cpu))
        one.append(measure([BIN, "check", csv_path, "--mapping", MAPPING], env=one_env, cpu=one_cpu))
    med = lambda xs: sorted(xs)[len(xs) // 2]
    raw_wall, raw_rss = med([r[0] for r in raw]), max(r[1] for r in raw)
    chk_wall, chk_rss, code = med([r[0] for r in chk]), max(r[1] for r in chk), chk[-1][2]
    one_wall = med([r[0] for r in one])
    xlsx_path = os.path.join(work, "big.xlsx")
    subprocess.run([GEN, str(xlsx_rows), xlsx_path], check=True, stdout=subprocess.DEVNULL)
    x_wall, x_rss, x_code = measure([BIN, "check", xlsx_path, "--mapping", MAPPING])
    os.remove(csv_path)
    return {
        "rows": rows,
        "cores": os.cpu_count(),
        "raw_parse_s": raw_wall,
        "raw_parse_rows_per_s": rows / raw_wall,
        "raw_parse_peak_rss_kib": raw_rss,
        "check_s": chk_wall,
        "check_cpu_s": med(chk_cpu),
        "check_rows_per_s": rows / chk_wall,
        "check_peak_rss_kib": chk_rss,
        "check_exit": code,
        "check_vs_raw_time_ratio": chk_wall / raw_wall,
        "check_cpu_vs_raw_time_ratio": med(chk_cpu) / raw_wall,
        "check_one_thread_s": one_wall,
        "check_one_thread_rows_per_s": rows / one_wall,
        "check_one_thread_vs_raw_time_ratio": one_wall / raw_wall,
        "xlsx_rows": xlsx_rows,
        "xlsx_check_rows_per_s": xlsx_rows / x_wall,
        "xlsx_check_peak_rss_kib": x_rss,
        "xlsx_check_exit": x_code,
    }


def users_jsonl(csv_path, out_path):
    """The same users as folio-data-import input (group names, as its README shows)."""
    import csv

    groups = {"Undergraduate": "undergrad", "Graduate": "graduate", "Faculty": "faculty", "Staff": "staff"}
    with open(csv_path, newline="", encoding="utf-8") as f, open(out_path, "w") as out:
        for r in csv.DictReader(f):
            u = {
                "externalSystemId": r["Student ID"],
                "username": r["Email"].split("@")[0].lower(),
                "barcode": r["Card"],
                "active": True,
                "patronGroup": groups[r["Class"]],
                "expirationDate": r["Expires"],
                "personal": {
                    "lastName": r["Last Name"],
                    "firstName": r["First Name"],
                    "email": r["Email"].lower(),
                    "preferredContactTypeId": "email",
                },
            }
            out.write(json.dumps(u) + "\n")


def peer_venv():
    venv = os.path.join(ROOT, ".patron-etl", "peer-venv")
    tool = os.path.join(venv, "bin", "folio-user-import")
    if not os.path.exists(tool):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run(
            [os.path.join(venv, "bin", "pip"), "install", "--quiet", f"folio-data-import=={PEER_VERSION}"],
            check=True,
        )
    return tool


def slots_busy(workdir):
    """The import's own account of its write slots (run.log "writes in flight on average"):
    average writes in flight / slots, of the first run in `workdir`; None when not logged."""
    runs = os.path.join(workdir, ".patron-etl", "runs")
    try:
        first = sorted(os.listdir(runs))[0]
        with open(os.path.join(runs, first, "run.log"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if "writes in flight on average" in line:
                    kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
                    return float(kv["average_in_flight"]) / float(kv["slots"])
    except (OSError, IndexError, KeyError, ValueError):
        return None
    return None


def folio_import(work, users, concurrency, latency_ms, skip_peer):
    roster = os.path.join(work, "import.csv")
    gen_csv(roster, users)
    res = {"users": users, "concurrency": concurrency, "latency_ms": latency_ms}

    d = os.path.join(work, "ours")
    os.makedirs(d)
    sb = Sandbox(d, "--latency-ms", str(latency_ms))
    try:
        sb.config(d, f"rate = 100000\nconcurrency = {concurrency}\n")
        a0, w0, _ = sb.counts()
        t0 = sb.stats().get("answering_seconds", 0.0)
        wall, rss, code = import_run(d, roster)
        a1, w1, _ = sb.counts()
        # The sandbox's own account: seconds its requests spent from arrival to answer.
        answering = sb.stats().get("answering_seconds", 0.0) - t0
        busy = slots_busy(d)
        # The latency bound: every request takes the latency, at most `concurrency` at once.
        bound_s = (a1 - a0) * (latency_ms / 1000.0) / concurrency
        res.update(
            ours_s=wall,
            ours_exit=code,
            ours_users_per_s=users / wall,
            ours_requests=a1 - a0,
            ours_requests_per_user=(a1 - a0) / users,
            ours_peak_rss_kib=rss,
            latency_bound_s=bound_s,
            bound_fraction=bound_s / wall,
            slots_busy_fraction=busy,
            # What each request took on average with every slot as busy as it was: the time the
            # emulator (and the machine) really took per request, against its nominal latency.
            effective_latency_ms=(wall * concurrency * (busy or 1.0) / (a1 - a0) * 1000.0) if a1 > a0 else None,
            # What the emulator took per request, arrival to answer (its latency is a floor):
            # the rest of `effective_latency_ms` is the client's, the loopback's and the machine's.
            sandbox_answer_ms=(answering / (a1 - a0) * 1000.0) if a1 > a0 else None,
            # Requests the sandbox held at once on average, against the client's `concurrency`.
            sandbox_in_flight=answering / wall if wall > 0 else None,
        )
        wall2, _, code2 = import_run(d, roster)
        a2, w2, _ = sb.counts()
        res.update(
            rerun_s=wall2,
            rerun_exit=code2,
            rerun_requests_per_row=(a2 - a1) / users,
            rerun_writes=w2 - w1,
        )
    finally:
        sb.stop()

    if skip_peer:
        return res
    tool = peer_venv()
    d = os.path.join(work, "peer")
    os.makedirs(d)
    jsonl = os.path.join(d, "users.jsonl")
    users_jsonl(roster, jsonl)
    sb = Sandbox(d, "--latency-ms", str(latency_ms))
    try:
        a0, _, _ = sb.counts()
        wall, rss, code = measure(
            [
                tool,
                "--gateway-url", sb.base + "/folio",
                "--tenant-id", "diku",
                "--username", "diku_admin",
                "--library-name", "bench",
                "--user-file-paths", jsonl,
                "--limit-async-requests", str(concurrency),
                "--ignore-permissions-user-objects",
                "--no-progress",
            ],
            cwd=d,
            env={**env(), "FOLIO_PASSWORD": "admin"},
        )
        a1, _, _ = sb.counts()
        res.update(
            peer_s=wall,
            peer_exit=code,
            peer_requests_per_user=(a1 - a0) / users,
            peer_peak_rss_kib=rss,
            peer_over_ours_time_ratio=wall / res["ours_s"],
        )
    finally:
        sb.stop()
    return res


def rate_fidelity(work, limit, rows):
    d = os.path.join(work, "rate")
    os.makedirs(d)
    roster = os.path.join(d, "r.csv")
    gen_csv(roster, rows)
    sb = Sandbox(d, "--rate-limit", str(limit))
    try:
        sb.config(d, f"rate = {limit}\nconcurrency = 8\n")
        a0, _, t0 = sb.counts()
        wall, _, code = import_run(d, roster)
        a1, _, t1 = sb.counts()
    finally:
        sb.stop()
    achieved = (a1 - a0) / wall
    return {
        "limit_per_s": limit,
        "requests": a1 - a0,
        "achieved_per_s": achieved,
        "achieved_over_limit": achieved / limit,
        "limit_fraction": achieved / limit,
        "throttled_429": t1 - t0,
        "exit": code,
    }


def libib_pace(work, requests):
    """`requests` requests to the sandbox's Libib at its real interval: a first load of
    `requests - 1` new patrons into an empty Libib (one connection page, then one create each)
    with the default pacing (no `rate` in the config)."""
    d = os.path.join(work, "libib")
    os.makedirs(d)
    roster = os.path.join(d, "r.csv")
    gen_csv(roster, requests - 1)
    sb = Sandbox(d)
    try:
        with open(os.path.join(d, "patron-etl.toml"), "w") as f:
            f.write(
                f'[targets.lib]\nsystem = "libib"\nurl = "{sb.base}/libib"\n'
                'api_key_env = "SB_LIBIB_KEY"\napi_user = "sandbox-user"\n'
            )
        s0 = sb.stats()
        cmd = [BIN, "import", roster, "--mapping", LIBIB_MAPPING, "--to", "lib", "--commit"]
        wall, _, code = measure(cmd, cwd=d, env=env())
        s1 = sb.stats()
    finally:
        sb.stop()

    def libib(s):
        return sum(n for r, n in s.get("requests", {}).items() if r.partition(" ")[2].startswith("/libib"))

    sent = libib(s1) - libib(s0)
    throttled = int(s1.get("statuses", {}).get("429", 0)) - int(s0.get("statuses", {}).get("429", 0))
    return {
        "requests": sent,
        "interval_s": LIBIB_INTERVAL_S,
        "wall_s": wall,
        "seconds_per_request": wall / sent if sent else None,
        "rate_fraction": sent * LIBIB_INTERVAL_S / wall,
        "throttled_429": throttled,
        "exit": code,
    }


def export(work, users):
    d = os.path.join(work, "export")
    os.makedirs(d)
    # Seeded straight into the state file (FOLIO's sample users repeated with unique keys): loading
    # 100,000 users over the API would measure the emulator, not the export.
    subprocess.run([SEED, os.path.join(d, "state.json"), str(users)], check=True, stdout=subprocess.DEVNULL)
    sb = Sandbox(d)
    try:
        sb.config(d, "rate = 100000\nconcurrency = 4\n")
        out = os.path.join(d, "export.csv")
        wall, rss, code = measure([BIN, "export", "--from", "sb", "--out", out], cwd=d, env=env())
        lines = 0
        if os.path.exists(out):
            with open(out, "rb") as f:
                lines = sum(1 for _ in f) - 1
    finally:
        sb.stop()
    return {
        "users": users,
        "rows_written": lines,
        "export_s": wall,
        "export_rows_per_s": users / wall,
        "export_peak_rss_kib": rss,
        "exit": code,
    }


LINKED_MAPPING = """system = "folio"
match = "externalSystemId"
[fields]
externalSystemId = "ID"
username = { template = "{ID}", transform = ["lower"] }
active = { value = true }
patronGroup = { value = "undergrad" }
"personal.lastName" = "Last"
"personal.preferredContactTypeId" = { value = "002" }
"requestPreference.holdShelf" = { value = true }
"requestPreference.delivery" = { value = false }
"requestPreference.fulfillment" = { value = "Hold Shelf" }
"servicePointsUser.servicePointsIds" = { column = "Desks", split = ";" }
"servicePointsUser.defaultServicePointId" = "Home desk"
"""


def folio_linked(work, users, skip_peer):
    """Requests per new user for a first load WITH a request preference and service points
    (issue 16's goal: at most 3.1, one write per record, lookups batched), beside
    folio-data-import for the same users' shape, in one sandbox run (the same inputs as
    scripts/peer-linked-requests.sh). Counts, not times: a noisy machine does not move them."""
    d = os.path.join(work, "linked")
    os.makedirs(d)
    roster = os.path.join(d, "users.csv")
    with open(roster, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "Last", "Desks", "Home desk"])
        for i in range(users):
            w.writerow([f"pe-{i:05d}", f"Pe{i:05d}", "cd1;cd2", "cd1"])
    mapping = os.path.join(d, "linked.toml")
    with open(mapping, "w") as f:
        f.write(LINKED_MAPPING)
    res = {"users": users}
    sb = Sandbox(d)
    try:
        sb.config(d, "rate = 1000\nconcurrency = 8\n")
        a0, w0, _ = sb.counts()
        _, _, code = measure([BIN, "import", roster, "--mapping", mapping, "--to", "sb", "--commit"], cwd=d, env=env())
        a1, w1, _ = sb.counts()
        res.update(ours_exit=code, ours_requests=a1 - a0, ours_writes=w1 - w0, ours_requests_per_user=(a1 - a0) / users)
        if not skip_peer:
            tool = peer_venv()
            jsonl = os.path.join(d, "users.jsonl")
            with open(jsonl, "w") as f:
                for i in range(users):
                    f.write(json.dumps({
                        "username": f"fdi{i:05d}", "externalSystemId": f"fdi-{i:05d}", "active": True,
                        "patronGroup": "undergrad",
                        "personal": {"lastName": f"Fdi{i:05d}", "preferredContactTypeId": "email"},
                        "requestPreference": {"holdShelf": True, "delivery": False, "fulfillment": "Hold Shelf"},
                        "servicePointsUser": {"servicePointsIds": ["cd1", "cd2"], "defaultServicePointId": "cd1"},
                    }) + "\n")
            _, _, code = measure(
                [tool, "--gateway-url", sb.base + "/folio", "--tenant-id", "diku", "--username", "diku_admin",
                 "--library-name", "bench", "--user-file-paths", jsonl, "--batch-size", "50",
                 "--ignore-permissions-user-objects", "--no-progress"],
                cwd=d, env={**env(), "FOLIO_PASSWORD": "admin"},
            )
            a2, w2, _ = sb.counts()
            res.update(peer_exit=code, peer_requests=a2 - a1, peer_writes=w2 - w1, peer_requests_per_user=(a2 - a1) / users)
    finally:
        sb.stop()
    return res


def table(r):
    rows = []
    o = r.get("offline")
    if o:
        rows += [
            ("offline", f"raw csv parse, {o['rows']:,} rows", f"{o['raw_parse_rows_per_s']:,.0f} rows/s", f"{o['raw_parse_peak_rss_kib'] / 1024:.1f} MiB"),
            ("offline", f"check, {o['rows']:,} rows (CSV), {o['cores']} cores", f"{o['check_rows_per_s']:,.0f} rows/s", f"{o['check_peak_rss_kib'] / 1024:.1f} MiB"),
            ("offline", "check time / raw parse time", f"{o['check_vs_raw_time_ratio']:.2f}x", f"CPU time {o['check_cpu_vs_raw_time_ratio']:.2f}x"),
            ("offline", "check on one thread (PATRON_ETL_WORKERS=0)", f"{o['check_one_thread_rows_per_s']:,.0f} rows/s", f"{o['check_one_thread_vs_raw_time_ratio']:.2f}x raw parse"),
            ("offline", f"check, {o['xlsx_rows']:,} rows (XLSX)", f"{o['xlsx_check_rows_per_s']:,.0f} rows/s", f"{o['xlsx_check_peak_rss_kib'] / 1024:.1f} MiB"),
        ]
    f = r.get("folio_import")
    if f:
        rows += [
            ("import", f"patron-etl, {f['users']:,} new users, {f['latency_ms']} ms latency, c={f['concurrency']}", f"{f['ours_s']:.1f} s ({f['ours_users_per_s']:,.0f} users/s)", f"{f['ours_requests_per_user']:.3f} req/user"),
            ("import", f"same run / latency bound ({f['ours_requests']:,} req x {f['latency_ms']} ms / {f['concurrency']} = {f['latency_bound_s']:.1f} s)", f"{f['bound_fraction']:.3f} of the bound", (f"write slots {f['slots_busy_fraction']:.3f} busy, {f['effective_latency_ms']:.2f} ms a request" if f.get("slots_busy_fraction") else "") + (f", sandbox answered in {f['sandbox_answer_ms']:.2f} ms" if f.get("sandbox_answer_ms") else "")),
        ]
        if "peer_s" in f:
            rows += [
                ("import", f"folio-data-import {PEER_VERSION}, same users and concurrency", f"{f['peer_s']:.1f} s", f"{f['peer_requests_per_user']:.3f} req/user"),
                ("import", "folio-data-import time / patron-etl time", f"{f['peer_over_ours_time_ratio']:.2f}x", ""),
            ]
        rows += [
            ("import", "patron-etl unchanged re-run", f"{f['rerun_requests_per_row']:.4f} req/row", f"{f['rerun_writes']} writes"),
        ]
    q = r.get("rate")
    if q:
        rows += [
            ("rate", f"limit {q['limit_per_s']} req/s, {q['requests']} requests", f"{q['achieved_over_limit']:.3f} of the limit", f"{q['throttled_429']} x 429"),
        ]
    lb = r.get("libib")
    if lb:
        rows += [
            ("libib", f"{lb['requests']} requests, sandbox at Libib's 1 per {lb['interval_s']:.0f} s", f"{lb['rate_fraction']:.3f} of the limit", f"{lb['throttled_429']} x 429"),
        ]
    k = r.get("folio_linked")
    if k:
        rows += [
            ("linked", f"patron-etl, {k['users']} new FOLIO users with request preference + service points", f"{k['ours_requests_per_user']:.3f} req/user", f"{k['ours_writes']} writes"),
        ]
        if "peer_requests_per_user" in k:
            rows += [
                ("linked", f"folio-data-import {PEER_VERSION}, the same shape", f"{k['peer_requests_per_user']:.3f} req/user", f"{k['peer_writes']} writes"),
            ]
    e = r.get("export")
    if e:
        rows += [
            ("export", f"{e['users']:,} users to CSV ({e['rows_written']:,} rows written)", f"{e['export_rows_per_s']:,.0f} rows/s", f"{e['export_peak_rss_kib'] / 1024:.1f} MiB"),
        ]
    w = [max(len(str(x[i])) for x in rows) for i in range(4)] if rows else [0] * 4
    out = []
    head = ("part", "measurement", "figure", "also")
    w = [max(w[i], len(head[i])) for i in range(4)]
    out.append(" | ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    out.append("-|-".join("-" * x for x in w))
    for row in rows:
        out.append(" | ".join(str(c).ljust(w[i]) for i, c in enumerate(row)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench-results.json")
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes (a smoke run)")
    ap.add_argument("--skip-peer", action="store_true", help="do not install or run folio-data-import")
    ap.add_argument("--only", default="offline,import,rate,export,libib,linked")
    a = ap.parse_args()
    scale = 10 if a.quick else 1
    parts = set(a.only.split(","))
    for p in (BIN, GEN, RAW, SEED):
        if not os.path.exists(p):
            sys.exit(f"{p} is missing: run scripts/bench.sh (it builds the release binaries)")
    work = tempfile.mkdtemp(prefix="patron-etl-bench-")
    results = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "quick": a.quick,
    }
    try:
        if "offline" in parts:
            results["offline"] = offline(work, 1_000_000 // scale, 100_000 // scale)
        if "import" in parts:
            results["folio_import"] = folio_import(work, 10_000 // scale, 8, 5, a.skip_peer)
        if "rate" in parts:
            results["rate"] = rate_fidelity(work, 200, 3000 // scale)
        if "export" in parts:
            results["export"] = export(work, 100_000 // scale)
        if "libib" in parts:
            results["libib"] = libib_pace(work, 300 // scale)
        if "linked" in parts:
            results["folio_linked"] = folio_linked(work, 200 // scale, a.skip_peer)
        if "folio_import" in results:
            f = results["folio_import"]
            results["import"] = {
                "bound_fraction": f["bound_fraction"],
                "requests_per_user": f["ours_requests_per_user"],
                "slots_busy_fraction": f.get("slots_busy_fraction"),
                "sandbox_answer_ms": f.get("sandbox_answer_ms"),
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["table"] = table(results)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)
    print(results["table"])
    print(f"\n(JSON: {a.out})")


if __name__ == "__main__":
    main()
