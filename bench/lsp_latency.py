"""Edit-to-diagnostics latency of `specc lsp` on a 1,000-layer spec, and its memory over 1,000 edits.

Starts `specc lsp` as an editor does (stdio, JSON-RPC), opens the spec of
bench/parse_1000.py, then sends `didChange` edits one at a time: odd edits break a
line (an unknown argument), even edits restore it. For each it times the interval from
sending the edit to receiving the `publishDiagnostics` for that version. The same edit
script runs twice in one run, against `specc lsp --full-check` (every edit re-checks the
whole text: before) and `specc lsp` (only what the edit can change: after), interleaved in
rounds so both see the same machine load (`--original DIR` adds a third: the server of
another checkout, such as the commit before the incremental check). Each server's CPU time
per edit is printed too: unlike the latency, it does not depend on the machine's load.
Baseline, in the same run: `compile_text` of the same text in this process (the check
alone, no protocol). Then a burst of 10 edits without waiting shows superseded checks
dropped, and the server's resident memory is read from /proc every 250 edits (goal: no growth).

    python bench/lsp_latency.py [--layers 1000] [--edits 50] [--rounds 5] [--memory-edits 1000] [--original DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parse_1000 import spec  # noqa: E402

from specc.frontend import compile_text  # noqa: E402


class Server:
    """A bare JSON-RPC client over the server's stdin/stdout."""

    def __init__(self, *flags, tree=None):
        # Another checkout's specc (--original): `python -m` puts the working directory first on
        # sys.path, ahead of PYTHONPATH, so the server runs there.
        env = dict(os.environ, PYTHONPATH=tree) if tree else None
        self.proc = subprocess.Popen([sys.executable, "-m", "specc", "lsp", *flags], stdin=subprocess.PIPE, env=env,
                                     cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.inbox: queue.Queue = queue.Queue()
        self.ids = iter(range(1, 10**9))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.strip() == b"":
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.inbox.put((time.perf_counter(), json.loads(out.read(length))))

    def send(self, method, params, request=False):
        msg = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            msg["id"] = next(self.ids)
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return time.perf_counter(), msg.get("id")

    def wait(self, match, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            at, msg = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.001))
            if match(msg):
                return at, msg

    def cpu_seconds(self) -> float:
        """The server's user + system CPU time so far (load-independent, unlike the latency)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return kb / 1024

    def close(self):
        _, rid = self.send("shutdown", None, request=True)
        self.wait(lambda m: m.get("id") == rid)
        self.send("exit", None)
        self.proc.wait(timeout=10)


URI = "file:///bench/deep.nn"
IDLE = 1.0  # seconds between rounds


def published(version):
    return lambda m: (m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == URI and m["params"].get("version") == version)


def edit(server, version, line, old, new):
    change = {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": len(old)}},
              "text": new}
    return server.send("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                                  "contentChanges": [change]})[0]


class Session:
    """One server with the spec open, editing one line back and forth."""

    def __init__(self, text, target, good, bad, *flags, tree=None):
        self.server = Server(*flags, tree=tree)
        self.target, self.good, self.bad = target, good, bad
        _, rid = self.server.send("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}},
                                  request=True)
        self.server.wait(lambda m: m.get("id") == rid)
        self.server.send("initialized", {})
        self.server.send("textDocument/didOpen",
                         {"textDocument": {"uri": URI, "languageId": "specc", "version": 1, "text": text}})
        self.server.wait(published(1))
        self.version, self.current = 1, good

    def toggle(self) -> float:
        """Send one edit; the time until its diagnostics arrive."""
        self.version += 1
        new = self.bad if self.current == self.good else self.good
        sent = edit(self.server, self.version, self.target, self.current, new)
        self.current = new
        at, msg = self.server.wait(published(self.version))
        expected = 1 if new == self.bad else 0
        assert len(msg["params"]["diagnostics"]) == expected, msg["params"]["diagnostics"]
        return at - sent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5, help="the edits are split in rounds, alternating servers")
    ap.add_argument("--memory-edits", type=int, default=1000)
    ap.add_argument("--original", metavar="DIR",
                    help="also time the server of another checkout, e.g. the commit before the incremental "
                         "check: git archive <commit> | tar -x -C DIR")
    args = ap.parse_args()

    text = spec(args.layers)
    lines = text.split("\n")
    target = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].strip().startswith("dense(32)"))
    good, bad = lines[target], lines[target].replace("dense(32)", "dense(32, unit=3)")

    base = []
    for _ in range(5):
        t0 = time.perf_counter()
        compile_text(text)
        base.append(time.perf_counter() - t0)
    baseline = statistics.median(base)

    sessions = {}
    if args.original:
        sessions[f"original ({args.original})"] = Session(text, target, good, bad, tree=args.original)
    sessions["before (--full-check)"] = Session(text, target, good, bad, "--full-check")
    sessions["after (incremental)"] = Session(text, target, good, bad)
    times = {name: [] for name in sessions}
    cpu = {name: 0.0 for name in sessions}
    for session in sessions.values():
        for _ in range(5):  # warm up
            session.toggle()
    per_round = max(args.edits // args.rounds, 1)
    for _ in range(args.rounds):  # alternate, so both servers see the same load
        for name, session in sessions.items():
            time.sleep(IDLE)  # the last round's deferred work (hints' facts) is done: no server runs meanwhile
            start = session.server.cpu_seconds()
            times[name] += [session.toggle() for _ in range(per_round)]
            cpu[name] += session.server.cpu_seconds() - start
    print(f"spec: {args.layers} layers, {len(lines)} lines; {per_round * args.rounds} edits per server, "
          f"each waited for, in {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f}")
    print(f"baseline compile_text in-process     {baseline * 1e3:7.1f} ms")
    for name, ts in times.items():
        median, worst = statistics.median(ts), max(ts)
        print(f"{name:24s} didChange -> publishDiagnostics  median {median * 1e3:6.1f} ms "
              f"({median / baseline:.2f}x baseline), worst {worst * 1e3:6.1f} ms ({worst / baseline:.2f}x); "
              f"server CPU {cpu[name] / len(ts) * 1e3:5.1f} ms per edit")
    worst = max(times["after (incremental)"])
    print(f"goal: worst within 100 ms -> {'ok' if worst < 0.1 else 'MISSED'}")
    for name, session in sessions.items():
        if name != "after (incremental)":
            session.server.close()
    session = sessions["after (incremental)"]
    server, version, current = session.server, session.version, session.current

    # A burst: 10 edits sent without waiting; checks superseded by a newer edit are dropped.
    first = version + 1
    for _ in range(10):
        version += 1
        new = bad if current == good else good
        edit(server, version, target, current, new)
        current = new
    server.wait(published(version))
    time.sleep(0.3)
    answered = []
    while not server.inbox.empty():
        _, msg = server.inbox.get()
        if msg.get("method") == "textDocument/publishDiagnostics":
            answered.append(msg["params"].get("version"))
    print(f"burst of 10 edits (versions {first}..{version}): diagnostics published for 1 + {len(answered)} "
          f"other versions {answered} (the rest dropped or never started)")

    # Memory: RSS every 250 edits.
    marks = []
    for i in range(1, args.memory_edits + 1):
        version += 1
        new = bad if current == good else good
        edit(server, version, target, current, new)
        current = new
        server.wait(published(version))
        if i == 1 or i % 250 == 0:
            marks.append((i, server.rss_mib()))
    print("server memory (RSS) after N edits: " + ", ".join(f"{n}: {mib:.1f} MiB" for n, mib in marks))
    growth = marks[-1][1] - marks[1][1] if len(marks) > 2 else 0.0
    print(f"growth from edit {marks[1][0] if len(marks) > 1 else 1} to {marks[-1][0]}: {growth:+.1f} MiB")
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
