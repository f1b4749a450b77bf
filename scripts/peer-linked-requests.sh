#!/usr/bin/env bash
# Requests per user for a first load of patrons WITH a request preference and service points,
# patron-etl beside folio-data-import 0.6.9 (PyPI), in one run against one `patron-etl sandbox`:
# 100 users each (different usernames, the same shape), counted from the sandbox's
# `/_sandbox/stats` before and after each tool. Not part of `cargo test`.
#
# Usage: scripts/peer-linked-requests.sh            (from the repository root; builds the binary)
# Env:   PEER_VENV (default .patron-etl/peer-venv; created by scripts/peer-check.sh or here),
#        PEER_PORT (default 8797), USERS (default 100).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${PEER_VENV:-.patron-etl/peer-venv}"
PORT="${PEER_PORT:-8797}"
USERS="${USERS:-100}"
WORK="$(mktemp -d)"
chmod 700 "$WORK"
SANDBOX_PID=""
cleanup() {
  if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -x "$VENV/bin/folio-user-import" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "folio-data-import==0.6.9"
fi
cargo build --quiet
target/debug/patron-etl sandbox --listen "127.0.0.1:$PORT" --state "$WORK/state.json" > "$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/_sandbox/stats" > /dev/null 2>&1; then break; fi
  sleep 0.1
done

# The same users for both tools: folio-data-import's JSON lines (its `requestPreference` and
# `servicePointsUser` keys, service points by code) and patron-etl's CSV.
python3 - "$WORK" "$USERS" <<'PY'
import csv, json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(work, "users.jsonl"), "w") as f:
    for i in range(n):
        f.write(json.dumps({
            "username": f"fdi{i:04d}", "externalSystemId": f"fdi-{i:04d}", "active": True,
            "patronGroup": "undergrad", "personal": {"lastName": f"Fdi{i:04d}", "preferredContactTypeId": "email"},
            "requestPreference": {"holdShelf": True, "delivery": False, "fulfillment": "Hold Shelf"},
            "servicePointsUser": {"servicePointsIds": ["cd1", "cd2"], "defaultServicePointId": "cd1"},
        }) + "\n")
with open(os.path.join(work, "users.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["ID", "Last", "Desks", "Home desk"])
    for i in range(n):
        w.writerow([f"pe-{i:04d}", f"Pe{i:04d}", "cd1;cd2", "cd1"])
with open(os.path.join(work, "linked.toml"), "w") as f:
    f.write('''system = "folio"
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
''')
with open(os.path.join(work, "patron-etl.toml"), "w") as f:
    f.write(f'''[targets.sb]
system = "folio"
url = "http://127.0.0.1:{os.environ.get("PEER_PORT", "8797")}/folio"
tenant = "diku"
username = "diku_admin"
password_env = "SB_FOLIO_PASSWORD"
rate = 1000
concurrency = 8
''')
PY

stats() { curl -fsS "http://127.0.0.1:$PORT/_sandbox/stats" > "$WORK/$1.json"; }
count() {  # requests and writes under /folio between two stats files
  python3 - "$WORK/$1.json" "$WORK/$2.json" "$USERS" "$3" <<'PY'
import json, sys
a, b = (json.load(open(p))["requests"] for p in sys.argv[1:3])
n, who = int(sys.argv[3]), sys.argv[4]
delta = {k: v - a.get(k, 0) for k, v in b.items() if k.split(" ", 1)[1].startswith("/folio") and v - a.get(k, 0)}
total = sum(delta.values())
writes = sum(v for k, v in delta.items() if k.split(" ")[0] in ("POST", "PUT", "DELETE") and "/authn/" not in k)
print(f"{who}: {total} requests for {n} users = {total / n:.2f} requests/user ({writes} writes)")
for k in sorted(delta):
    print(f"    {delta[k]:6d}  {k}")
PY
}

stats s0
( cd "$WORK" && "$OLDPWD/$VENV/bin/folio-user-import" \
    --gateway-url "http://127.0.0.1:$PORT/folio" --tenant-id diku \
    --username diku_admin --password admin --library-name "Sandbox peer check" \
    --user-file-paths "$WORK/users.jsonl" --batch-size 50 --no-progress ) > "$WORK/fdi.log" 2>&1 || { tail -n 20 "$WORK/fdi.log"; exit 1; }
stats s1
( cd "$WORK" && SB_FOLIO_PASSWORD=admin "$OLDPWD/target/debug/patron-etl" import users.csv \
    --mapping linked.toml --to sb --commit ) > "$WORK/pe.log" 2>&1 || { tail -n 20 "$WORK/pe.log"; exit 1; }
stats s2
count s0 s1 "folio-data-import 0.6.9"
count s1 s2 "patron-etl"

# What each tool left: preferences carrying the fulfillment both inputs asked for.
python3 - "$PORT" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/folio"
req = urllib.request.Request(f"{base}/authn/login-with-expiry", method="POST",
    data=json.dumps({"username": "diku_admin", "password": "admin"}).encode(),
    headers={"x-okapi-tenant": "diku", "content-type": "application/json"})
with urllib.request.urlopen(req) as r:
    token = next(c.split("=", 1)[1].split(";")[0] for c in r.headers.get_all("set-cookie") if c.startswith("folioAccessToken="))
def get(path):
    rq = urllib.request.Request(base + path, headers={"x-okapi-tenant": "diku", "x-okapi-token": token})
    with urllib.request.urlopen(rq) as r:
        return json.load(r)
users = {u["id"]: u["username"] for u in get("/users?limit=10000&query=cql.allRecords%3D1")["users"]}
prefs = get("/request-preference-storage/request-preference?limit=10000")["requestPreferences"]
for who, prefix in (("folio-data-import", "fdi"), ("patron-etl", "pe-")):
    mine = [p for p in prefs if users.get(p["userId"], "").startswith(prefix)]
    kept = sum(1 for p in mine if p.get("fulfillment") == "Hold Shelf")
    print(f"{who}: {len(mine)} request preferences, {kept} with the fulfillment the input gave")
PY
