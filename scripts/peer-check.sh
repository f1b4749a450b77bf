#!/usr/bin/env bash
# Peer check (not part of `cargo test`: it needs PyPI). Installs three clients written by others
# into a venv and runs them, unmodified, against `patron-etl sandbox`:
#   folio-data-import 0.6.9  its `folio-user-import`: patron groups, address types, departments,
#                            request preferences, service points, custom fields (labels → ids)
#   folioclient 1.0.15       login, keyset and offset paging, CQL queries
#   libib-client 1.0.2       list, get by barcode and by e-mail, create, update, delete, restore
# Every operation prints PASS or FAIL (or CLIENT-BUG with the client's file and line); the script
# exits non-zero when any FAILs.
#
# Base URLs: folio-user-import and folioclient take the gateway URL as an argument
# (http://127.0.0.1:PORT/folio). libib-client hard-codes https://api.libib.com in class
# attributes (libib_client/main.py lines 27, 270, 416), so the driver sets `Patrons.url`,
# `Managers.url` and `Accounts.url` to the sandbox before use; the client's code is not changed.
#
# Usage: scripts/peer-check.sh   (from anywhere; builds target/debug/patron-etl)
# Env:   PEER_VENV (default .patron-etl/peer-venv), PEER_PORT (default 8798)
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${PEER_VENV:-.patron-etl/peer-venv}"
PORT="${PEER_PORT:-8798}"
WORK="$(mktemp -d)"
chmod 700 "$WORK"
SANDBOX_PID=""
cleanup() {
  if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== installing the peer clients into $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --quiet "folio-data-import==0.6.9" "folioclient==1.0.15" "libib-client==1.0.2"
"$VENV/bin/pip" list 2>/dev/null | grep -i -E '^(folio|libib)' || true

echo "== starting patron-etl sandbox on 127.0.0.1:$PORT"
cargo build --quiet --bin patron-etl
target/debug/patron-etl sandbox --listen "127.0.0.1:$PORT" --state "$WORK/state.json" \
  --libib-interval-ms 0 > "$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/_sandbox/stats" > /dev/null 2>&1; then break; fi
  sleep 0.1
done

"$VENV/bin/python" - "$PORT" "$WORK" "$(cd "$VENV" && pwd)" <<'PY'
import json, os, subprocess, sys, urllib.parse, urllib.request
port, work, venv = sys.argv[1], sys.argv[2], sys.argv[3]
base = f"http://127.0.0.1:{port}"
results = []

def record(name, status, detail=""):
    results.append((name, status, detail))
    print(f"{status:10} {name}" + (f"  ({detail})" if detail else ""))

def check(name, fn):
    try:
        ok, detail = fn()
        record(name, "PASS" if ok else "FAIL", detail)
    except Exception as e:  # noqa: BLE001
        record(name, "FAIL", f"{type(e).__name__}: {e}")

# --- direct admin calls (set-up and verification) --------------------------------------------
def login():
    req = urllib.request.Request(f"{base}/folio/authn/login-with-expiry", method="POST",
        data=json.dumps({"username": "diku_admin", "password": "admin"}).encode(),
        headers={"X-Okapi-Tenant": "diku", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        for h, v in r.getheaders():
            if h.lower() == "set-cookie" and v.startswith("folioAccessToken="):
                return v.split(";")[0].split("=", 1)[1]
    raise RuntimeError("no token")
TOKEN = login()
def folio(method, path, body=None, extra=None):
    h = {"X-Okapi-Tenant": "diku", "X-Okapi-Token": TOKEN, "Content-Type": "application/json"}
    h.update(extra or {})
    req = urllib.request.Request(f"{base}/folio{path}", method=method, headers=h,
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req) as r:
        t = r.read()
        return json.loads(t) if t else None
MOD = {"X-Okapi-Module-Id": "mod-users-19.6.0"}
folio("POST", "/departments", {"name": "History", "code": "HIST"})
# The sandbox's reference data already has service point cd1 ("Circ Desk 1").
folio("POST", "/custom-fields", {"name": "Class level", "refId": "classLevel", "type": "SINGLE_SELECT_DROPDOWN",
    "entityType": "user", "selectField": {"multiSelect": False, "options": {"values": [
        {"id": "opt_0", "value": "Freshman"}, {"id": "opt_1", "value": "Senior"}]}}}, MOD)
folio("POST", "/custom-fields", {"name": "Alumni", "refId": "alumni", "type": "SINGLE_CHECKBOX", "entityType": "user"}, MOD)

# --- folio-data-import: folio-user-import ----------------------------------------------------
N = 40
groups = ["staff", "undergrad", "faculty", "graduate"]
with open(os.path.join(work, "users.jsonl"), "w") as f:
    for i in range(N):
        f.write(json.dumps({
            "username": f"peer{i:03d}", "externalSystemId": f"peer-ext-{i:03d}", "barcode": f"9900{i:04d}",
            "active": True, "patronGroup": groups[i % 4], "departments": ["History"],
            "personal": {"lastName": f"Peer{i:03d}", "firstName": "Test", "email": f"peer{i:03d}@example.edu",
                "preferredContactTypeId": "email",
                "addresses": [{"addressTypeId": "Home", "addressLine1": f"{i} Main St", "city": "Springfield", "primaryAddress": True}]},
            "customFields": {"classLevel": "Senior" if i % 2 else "opt_0", "alumni": i % 3 == 0},
            "requestPreference": {"holdShelf": True, "delivery": False, "defaultServicePointId": "cd1", "fulfillment": "Hold Shelf"},
            "servicePointsUser": {"servicePointsIds": ["cd1"], "defaultServicePointId": "cd1"},
        }) + "\n")
p = subprocess.run([os.path.join(venv, "bin", "folio-user-import"), "--gateway-url", f"{base}/folio",
    "--tenant-id", "diku", "--username", "diku_admin", "--password", "admin", "--library-name", "peer check",
    "--user-file-paths", os.path.join(work, "users.jsonl"), "--batch-size", "20", "--no-progress"],
    cwd=work, capture_output=True, text=True)
record("folio-user-import exits 0", "PASS" if p.returncode == 0 else "FAIL", (p.stdout + p.stderr)[-300:].replace("\n", " ") if p.returncode else "")
users = [u for u in folio("GET", "/users?limit=1000&query=" + urllib.parse.quote('username=="peer*"'))["users"]]
by_name = {u["username"]: u for u in users}
dept = folio("GET", "/departments?limit=10&query=" + urllib.parse.quote('code=="HIST"'))["departments"][0]["id"]
grp = {g["group"]: g["id"] for g in folio("GET", "/groups?limit=100")["usergroups"]}
home = {a["addressType"]: a["id"] for a in folio("GET", "/addresstypes?limit=100")["addressTypes"]}["Home"]
sp = folio("GET", "/service-points?limit=10&query=" + urllib.parse.quote('code=="cd1"'))["servicepoints"][0]["id"]
check("users created", lambda: (len(by_name) == N, f"{len(by_name)} of {N}"))
check("patron groups by name", lambda: (all(by_name[f"peer{i:03d}"]["patronGroup"] == grp[groups[i % 4]] for i in range(N)), ""))
check("address types by name", lambda: (all(u["personal"]["addresses"][0]["addressTypeId"] == home for u in users), ""))
check("departments by name", lambda: (all(u.get("departments") == [dept] for u in users), ""))
check("custom fields: select label → option id", lambda: (all(u["customFields"]["classLevel"] in ("opt_0", "opt_1") for u in users), ""))
rps = folio("GET", "/request-preference-storage/request-preference?limit=1000")["requestPreferences"]
check("request preferences", lambda: (len([r for r in rps if r["userId"] in {u["id"] for u in users}]) == N, f"{len(rps)}"))
spus = folio("GET", "/service-points-users?limit=1000")["servicePointsUsers"]
check("service points users", lambda: (len(spus) == N and all(s.get("defaultServicePointId") == sp for s in spus), f"{len(spus)}"))

# --- folioclient ------------------------------------------------------------------------------
import folioclient
def fc_all():
    fc = folioclient.FolioClient(f"{base}/folio", "diku", "diku_admin", "admin")
    got = list(fc.folio_get_all("/users", "users", query='username=="peer*" sortBy id', limit=7))
    return len(got) == N, f"{len(got)} by keyset pages of 7"
check("folioclient login + folio_get_all (id paging)", fc_all)
def fc_offset():
    fc = folioclient.FolioClient(f"{base}/folio", "diku", "diku_admin", "admin")
    got = list(fc.folio_get_all("/users", "users", query='username=="peer*" sortBy username', limit=9))
    return len(got) == N, f"{len(got)} by offset pages of 9"
check("folioclient folio_get_all (offset paging)", fc_offset)
def fc_cql():
    fc = folioclient.FolioClient(f"{base}/folio", "diku", "diku_admin", "admin")
    one = fc.folio_get("/users", "users", query='username=="peer007"')
    groups_ = fc.folio_get("/groups", "usergroups", query='group=="staff"')
    return len(one) == 1 and len(groups_) == 1, ""
check("folioclient folio_get with CQL", fc_cql)

# --- libib-client -----------------------------------------------------------------------------
from libib_client import main as lm
lm.Patrons.url = f"{base}/libib/patrons"
lm.Managers.url = f"{base}/libib/managers"
lm.Accounts.url = f"{base}/libib/accounts"
lib = lm.Libib("sandbox-libib-key", "sandbox-user")
check("libib create_patron", lambda: (lib.patrons.create_patron(first_name="Mary", last_name="Shelley", email="mshelley@example.com") is True, ""))
pats = lib.patrons.get_patrons()
check("libib get_patrons", lambda: (isinstance(pats, list) and any(p.get("email") == "mshelley@example.com" for p in pats), ""))
bc = next((p["barcode"] for p in pats if p.get("email") == "mshelley@example.com"), "")
check("libib get_patron_by_id (barcode)", lambda: (lib.patrons.get_patron_by_id(bc).get("email") == "mshelley@example.com", bc))
check("libib get_patron_by_id (e-mail)", lambda: (lib.patrons.get_patron_by_id("mshelley@example.com").get("barcode") == bc, ""))
check("libib update_patron", lambda: (lib.patrons.update_patron(bc, phone="555-123-4567") is True and lib.patrons.get_patron_by_id(bc).get("phone") == "555-123-4567", ""))
try:
    r = lib.patrons.delete_patron(bc)
    record("libib delete_patron", "PASS" if r is True else "FAIL", str(r))
except Exception as e:  # noqa: BLE001
    # Libib answers 204 with no body (docs, DELETE /patrons/{id}); the client parses the body
    # before looking at the status (libib_client/main.py line 260).
    gone = not lib.patrons.get_patron_by_id(bc).get("barcode")
    record("libib delete_patron", "CLIENT-BUG" if gone else "FAIL",
           f"{type(e).__name__} at libib_client/main.py line 260 (response.json() on the 204's empty body); patron deleted: {gone}")
check("libib restore_patron", lambda: (lib.patrons.restore_patron(bc) is True and lib.patrons.get_patron_by_id(bc).get("barcode") == bc, ""))
check("libib get_managers / get_accounts", lambda: (bool(lib.managers.get_managers()) and bool(lib.accounts.get_accounts()), ""))

fails = [r for r in results if r[1] == "FAIL"]
bugs = [r for r in results if r[1] == "CLIENT-BUG"]
print(f"== {len(results) - len(fails) - len(bugs)} passed, {len(bugs)} client bug(s), {len(fails)} failed")
sys.exit(1 if fails else 0)
PY
