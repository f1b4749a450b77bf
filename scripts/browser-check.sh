#!/usr/bin/env bash
# Opens the sample import's report.html in headless Chromium: takes a screenshot and checks that
# the outcome filter works (a click on the "rejected" count, made by the page's own script when
# opened as report.html#outcome=rejected, must leave exactly the rejected rows visible).
#
# Not part of `cargo test` / .ci/run: it needs a browser. Chromium comes from the system package
# manager (Debian's `chromium`) when it is missing; nothing else is downloaded.
#
# Usage: scripts/browser-check.sh [--update-docs]
#   --update-docs  also copy the screenshot to docs/report-sample.png (shown in the README)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
update_docs=false
[[ "${1:-}" == "--update-docs" ]] && update_docs=true

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
    echo "installing Debian's chromium (apt-get)…" >&2
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core
    browser="$(command -v chromium)"
fi

cargo build --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/debug/patron-etl"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/samples" "$work/mappings"
cp "$root/samples/roster.csv" "$work/samples/"
cp "$root/mappings/folio.toml" "$work/mappings/"
# Exit 1 is expected: the sample has deliberately bad rows.
(cd "$work" && "$bin" import samples/roster.csv --mapping mappings/folio.toml --to sandbox:folio >summary.txt 2>/dev/null) || true
page="$(sed -n 's/^ *html report: //p' "$work/summary.txt")"
[[ -f "$page" ]] || { echo "no report.html in the summary:" >&2; cat "$work/summary.txt" >&2; exit 1; }
csv="$(dirname "$page")/report.csv"

chrome=("$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
        --disable-extensions --user-data-dir="$work/profile")

shot="$work/report.png"
"${chrome[@]}" --window-size=1280,1500 --screenshot="$shot" "file://$page" 2>/dev/null
[[ -s "$shot" ]] || { echo "no screenshot" >&2; exit 1; }
echo "screenshot: $(stat -c %s "$shot") bytes"

"${chrome[@]}" --virtual-time-budget=3000 --dump-dom "file://$page#outcome=rejected" >"$work/filtered.html" 2>/dev/null
"${chrome[@]}" --virtual-time-budget=3000 --dump-dom "file://$page" >"$work/all.html" 2>/dev/null

python3 - "$csv" "$work/filtered.html" "$work/all.html" <<'PY'
import csv, sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    """Collects the rows of table#rows: (outcome, hidden) and the #shown counter."""
    def __init__(self):
        super().__init__()
        self.in_rows = False
        self.rows = []
        self.shown = None
        self.in_shown = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "rows":
            self.in_rows = True
        elif tag == "tr" and self.in_rows and "data-outcome" in a:
            self.rows.append((a["data-outcome"], "hidden" in a))
        elif a.get("id") == "shown":
            self.in_shown = True
    def handle_endtag(self, tag):
        if tag == "table":
            self.in_rows = False
        if tag == "span":
            self.in_shown = False
    def handle_data(self, data):
        if self.in_shown and data.strip():
            self.shown = int(data.strip())

with open(sys.argv[1], newline="", encoding="utf-8") as f:
    report = list(csv.DictReader(f))
rejected = sum(1 for r in report if r["outcome"] == "rejected")

def parse(path):
    p = Rows()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return p

filtered, everything = parse(sys.argv[2]), parse(sys.argv[3])
fail = []
if len(everything.rows) != len(report):
    fail.append(f"page has {len(everything.rows)} rows, report.csv {len(report)}")
if any(h for _, h in everything.rows) or everything.shown != len(report):
    fail.append(f"unfiltered page hides rows (shown={everything.shown})")
visible = [o for o, h in filtered.rows if not h]
if len(visible) != rejected or set(visible) != {"rejected"}:
    fail.append(f"after the click {len(visible)} rows are visible ({set(visible)}), expected {rejected} rejected")
if filtered.shown != rejected:
    fail.append(f"the counter says {filtered.shown}, expected {rejected}")
if fail:
    print("FILTER CHECK FAILED:\n  " + "\n  ".join(fail))
    sys.exit(1)
print(f"filter check: {len(report)} rows; clicking 'rejected' leaves exactly the {rejected} rejected rows")
PY

if $update_docs; then
    mkdir -p "$root/docs"
    cp "$shot" "$root/docs/report-sample.png"
    echo "wrote docs/report-sample.png"
fi
echo "browser check passed"
