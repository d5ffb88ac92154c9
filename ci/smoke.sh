#!/usr/bin/env bash
# Install peerclass as a user would and use it: build a wheel from the working tree, install
# it (not editable) into a brand-new virtualenv, check that every command's --help works and
# that every data file made it in, then run a short real class of two peers on loopback
# (discovery to 127.255.255.255 only) with the installed `peerclass`.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d -t peerclass-smoke.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
quietly() {  # run a noisy tool; show its output only if it fails
    "$@" >>"$WORK/tools.log" 2>&1 || { cat "$WORK/tools.log" >&2; fail "$*"; }
}

# 1. A clean copy of the tree (tracked and new files, nothing git ignores: no stale build/).
say "copying the source tree"
mkdir "$WORK/src"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$SRC" && xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$WORK/src"

# 2. Build the wheel and install it into a fresh virtualenv.
say "building the wheel"
"$PYTHON" -m venv "$WORK/venv"
VENV_BIN="$WORK/venv/bin"
quietly "$VENV_BIN/pip" install --upgrade pip
quietly "$VENV_BIN/pip" wheel --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/peerclass-*.whl)"
say "installing $(basename "$WHEEL") into a new virtualenv"
quietly "$VENV_BIN/pip" install "$WHEEL"
# From here on nothing may see the source tree: run from an empty directory.
cd "$WORK"
export PATH="$VENV_BIN:$PATH"
unset PEERCLASS_HOME PYTHONPATH
PC="$VENV_BIN/peerclass"
[ -x "$PC" ] || fail "the wheel installed no peerclass command"
SITE="$("$VENV_BIN/python" -c 'import peer, pathlib; print(pathlib.Path(peer.__file__).parent.parent)')"
case "$SITE" in "$WORK/venv/"*) ;; *) fail "peer was imported from $SITE, not the new venv" ;; esac

# 3. Every data file of the packages is installed (templates, static files, migrations' mako).
missing=0
while IFS= read -r -d '' file; do
    [ -f "$SITE/$file" ] || { echo "smoke: not installed: $file" >&2; missing=1; }
done < <(cd "$WORK/src" && find peer storage migrations -type f ! -name '*.py' \
    ! -name '*.pyc' ! -path '*/__pycache__/*' -print0)
[ "$missing" = 0 ] || fail "data files are missing from the wheel"
say "every data file is installed"
"$VENV_BIN/python" -c '
from peer.i18n import translator
assert translator("ko").gettext("Chat") == "\ucc44\ud305", "the Korean catalog is not in the wheel"
' || fail "the installed package does not speak Korean (compiled catalogs missing)"
say "the compiled Korean catalog is installed"

# 4. --help of the program and of every subcommand, at every depth.
helps=0
while IFS= read -r cmd; do
    # shellcheck disable=SC2086
    "$PC" $cmd --help >/dev/null || fail "'peerclass $cmd --help' failed"
    helps=$((helps + 1))
done < <("$VENV_BIN/python" - <<'PY'
import argparse
from peer.cli import build_parser

def walk(parser, path):
    print(" ".join(path))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                walk(sub, [*path, name])

walk(build_parser(), [])
PY
)
[ "$helps" -gt 10 ] || fail "only $helps commands found"
say "--help works for all $helps commands"

# 5. A short real class: an instructor and a student on loopback.
KIM="$WORK/kim"
JISOO="$WORK/jisoo"
INVITE="$("$PC" --data-dir "$KIM" init --name Kim --role instructor --class Smoke --json \
    | "$VENV_BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["invite"])')"
"$PC" --data-dir "$JISOO" init --name Jisoo --invite "$INVITE" >/dev/null
DISCOVERY_PORT="$("$VENV_BIN/python" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
start_peer() {  # data dir -> pid in PIDS
    "$PC" --data-dir "$1" run --bind 127.0.0.1 --discovery-addr 127.255.255.255 \
        --discovery-port "$DISCOVERY_PORT" </dev/null >"$1.out" 2>"$1.err" &
    PIDS+=("$!")
}
wait_for() {  # seconds, description, command...
    local limit="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.2
    done
}
start_peer "$KIM"
start_peer "$JISOO"
wait_for 30 "both peers to listen" \
    grep -q '^listening on ' "$KIM.out" "$JISOO.out"
wait_for 30 "the student's peer to listen" grep -q '^listening on ' "$JISOO.out"
say "both peers are running"
"$PC" --data-dir "$JISOO" chat send "hello from the installed wheel" >/dev/null
has_chat() {
    "$PC" --data-dir "$KIM" chat log --json | "$VENV_BIN/python" -c '
import json, sys
sys.exit(0 if any(m["text"] == "hello from the installed wheel" for m in json.load(sys.stdin))
         else 1)'
}
wait_for 60 "the instructor's peer to receive the chat" has_chat
say "the chat crossed from the student to the instructor"
# The web UI serves its templates and static files from the installed package.
UI_URL="$(sed -n 's/^ui at //p' "$KIM.out" | head -1)"
[ -n "$UI_URL" ] || fail "the instructor's peer printed no 'ui at' line"
"$VENV_BIN/python" - "$UI_URL" <<'PY' || fail "the web UI did not serve its pages"
import http.cookiejar, sys, urllib.parse, urllib.request
base, _, fragment = sys.argv[1].partition("#")
token = urllib.parse.parse_qs(fragment)["token"][0]
opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
)
opener.open(base.rstrip("/") + "/session", urllib.parse.urlencode({"token": token}).encode())
chat = opener.open(base.rstrip("/") + "/chat").read().decode()
assert "hello from the installed wheel" in chat, chat[:500]
css = opener.open(base.rstrip("/") + "/static/style.css").read()
assert len(css) > 100
PY
say "the web UI serves its pages and static files"
"$PC" --data-dir "$KIM" status >/dev/null || fail "status failed"
"$PC" --data-dir "$KIM" peers >/dev/null || fail "peers failed"
"$PC" --data-dir "$KIM" report --class --format html -o "$WORK/class.html" \
    || fail "report (html) failed"
grep -q '<svg' "$WORK/class.html" || grep -q '<html' "$WORK/class.html" \
    || fail "the html report is empty"
"$PC" --data-dir "$JISOO" report --format md -o "$WORK/jisoo.md" || fail "report (md) failed"
say "reports written"
for pid in "${PIDS[@]}"; do kill -INT "$pid"; done
for pid in "${PIDS[@]}"; do
    status=0
    wait "$pid" || status=$?
    [ "$status" = 0 ] || fail "a peer exited with status $status after SIGINT"
done
PIDS=()
say "both peers stopped cleanly (exit 0)"
for dir in "$KIM" "$JISOO"; do
    if grep -q Traceback "$dir.err"; then
        cat "$dir.err" >&2
        fail "a traceback reached the terminal of $(basename "$dir")"
    fi
done
for dir in "$KIM" "$JISOO"; do
    [ -s "$dir/peerclass.log" ] || fail "run wrote no log file in $dir"
done
say "each peer wrote its log file in its data dir"

# 6. The README's way for a student: a plain (not editable) `pip install .` of the tree.
"$PYTHON" -m venv "$WORK/student-venv"
quietly "$WORK/student-venv/bin/pip" install "$WORK/src"
"$WORK/student-venv/bin/peerclass" --help >/dev/null || fail "pip install . gave no working command"
"$WORK/student-venv/bin/peerclass" --data-dir "$WORK/solo" init --name Solo --role instructor \
    --class Solo >/dev/null || fail "init from a pip install . failed"
say "pip install . of the source tree works too"
say "OK"
