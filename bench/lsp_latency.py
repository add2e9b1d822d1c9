"""Edit-to-diagnostics latency of `specc lsp` on a 1,000-layer spec, and its memory over 1,000 edits.

Starts `specc lsp` as an editor does (stdio, JSON-RPC), opens the spec of
bench/parse_1000.py, then sends `didChange` edits one at a time: odd edits break a
line (an unknown argument), even edits restore it. For each it times the interval from
sending the edit to receiving the `publishDiagnostics` for that version. Baseline, in
the same run: `compile_text` of the same text in this process (the check alone, no
protocol). Then a burst of 10 edits without waiting shows superseded checks dropped,
and the server's resident memory is read from /proc every 250 edits (goal: no growth).

    python bench/lsp_latency.py [--layers 1000] [--edits 50] [--memory-edits 1000]
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

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "specc", "lsp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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


def published(version):
    return lambda m: (m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == URI and m["params"].get("version") == version)


def edit(server, version, line, old, new):
    change = {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": len(old)}},
              "text": new}
    return server.send("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                                  "contentChanges": [change]})[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--memory-edits", type=int, default=1000)
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

    server = Server()
    _, rid = server.send("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}}, request=True)
    server.wait(lambda m: m.get("id") == rid)
    server.send("initialized", {})
    server.send("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "specc", "version": 1, "text": text}})
    server.wait(published(1))

    version, current = 1, good
    times = []
    for i in range(args.edits + 5):  # the first 5 warm up
        version += 1
        new = bad if current == good else good
        sent = edit(server, version, target, current, new)
        current = new
        at, msg = server.wait(published(version))
        expected = 1 if new == bad else 0
        assert len(msg["params"]["diagnostics"]) == expected, msg["params"]["diagnostics"]
        if i >= 5:
            times.append(at - sent)
    median, worst = statistics.median(times), max(times)
    print(f"spec: {args.layers} layers, {len(lines)} lines; {args.edits} edits, each waited for")
    print(f"baseline compile_text in-process   {baseline * 1e3:7.1f} ms")
    print(f"didChange -> publishDiagnostics    median {median * 1e3:6.1f} ms ({median / baseline:.2f}x baseline), "
          f"worst {worst * 1e3:6.1f} ms ({worst / baseline:.2f}x)")
    print(f"goal: within 100 ms -> {'ok' if worst < 0.1 else 'median ok, worst over' if median < 0.1 else 'MISSED'}")

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
