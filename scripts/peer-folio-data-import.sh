#!/usr/bin/env bash
# Peer check (not part of `cargo test`): loads 100 users into the patron-etl sandbox with the
# real folio-data-import 0.6.9 client from PyPI, then verifies that all 100 are in the sandbox with
# their patron group and address types resolved from names to UUIDs.
#
# Usage: scripts/peer-folio-data-import.sh            (from the repository root)
# Env:   PEER_VENV (default .patron-etl/peer-venv), PEER_PORT (default 8799),
#        SANDBOX_BIN (default: the `sandbox` example, built here; the integrator may point this at
#        `target/debug/patron-etl sandbox`).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${PEER_VENV:-.patron-etl/peer-venv}"
PORT="${PEER_PORT:-8799}"
WORK="$(mktemp -d)"
chmod 700 "$WORK"
SANDBOX_PID=""
cleanup() {
  if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== installing folio-data-import 0.6.9 into $VENV"
if [[ ! -x "$VENV/bin/folio-user-import" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "folio-data-import==0.6.9"
fi
"$VENV/bin/pip" show folio-data-import | grep -E '^(Name|Version):'

echo "== starting the sandbox on 127.0.0.1:$PORT"
if [[ -z "${SANDBOX_BIN:-}" ]]; then
  cargo build --quiet --example sandbox
  SANDBOX_BIN="target/debug/examples/sandbox"
fi
# shellcheck disable=SC2086
$SANDBOX_BIN --listen "127.0.0.1:$PORT" --state "$WORK/state.json" > "$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/_sandbox/stats" > /dev/null 2>&1; then break; fi
  sleep 0.1
done
head -n 3 "$WORK/sandbox.log"

echo "== writing 100 users (patron groups and address types by name)"
python3 - "$WORK/users.jsonl" <<'PY'
import json, sys
groups = ["staff", "undergrad", "faculty", "graduate"]
with open(sys.argv[1], "w") as f:
    for i in range(100):
        u = {
            "username": f"peer{i:03d}", "externalSystemId": f"peer-ext-{i:03d}", "barcode": f"9900{i:04d}",
            "active": True, "patronGroup": groups[i % 4],
            "personal": {
                "lastName": f"Peer{i:03d}", "firstName": "Test", "email": f"peer{i:03d}@example.edu",
                "preferredContactTypeId": "email",
                "addresses": [
                    {"addressTypeId": "Home", "addressLine1": f"{i} Main St", "city": "Springfield", "primaryAddress": True},
                    {"addressTypeId": "Work", "addressLine1": "1 Campus Dr", "primaryAddress": False},
                ],
            },
        }
        f.write(json.dumps(u) + "\n")
PY

echo "== running folio-user-import"
(
  cd "$WORK"
  "$OLDPWD/$VENV/bin/folio-user-import" \
    --gateway-url "http://127.0.0.1:$PORT/folio" --tenant-id diku \
    --username diku_admin --password admin --library-name "Sandbox peer check" \
    --user-file-paths "$WORK/users.jsonl" --batch-size 50 --no-progress
) 2>&1 | tail -n 15
echo "-- folio-user-import log:"
tail -n 6 "$WORK"/folio_user_import_*.log 2>/dev/null | cut -c1-200 || true

echo "== verifying the sandbox contents"
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
groups = {g["group"]: g["id"] for g in get("/groups?limit=100")["usergroups"]}
atypes = {a["addressType"]: a["id"] for a in get("/addresstypes?limit=100")["addressTypes"]}
users = get("/users?limit=1000&query=username%3D%3Dpeer*")["users"]
want = ["staff", "undergrad", "faculty", "graduate"]
ok = 0
for u in users:
    i = int(u["username"][4:])
    addrs = {a["addressTypeId"] for a in u.get("personal", {}).get("addresses", [])}
    if u.get("patronGroup") == groups[want[i % 4]] and addrs == {atypes["Home"], atypes["Work"]}:
        ok += 1
print(f"users in sandbox: {len(users)}; with patron group and address types resolved: {ok}")
stats = json.load(urllib.request.urlopen(base.rsplit('/folio', 1)[0] + "/_sandbox/stats"))
print("requests:", json.dumps(stats["requests"]))
print("statuses:", json.dumps(stats["statuses"]))
sys.exit(0 if len(users) == 100 and ok == 100 else 1)
PY
echo "== PASS: folio-data-import 0.6.9 loaded 100 users into the sandbox"
