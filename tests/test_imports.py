"""Import direction and start-up cost: `specc check`/`summary`/`fmt` stay light."""
from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("torch", "onnx", "onnxruntime", "matplotlib", "numpy", "tqdm")


def _modules_after(argv, tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("model m {\n input [4]\n dense(3); relu\n dense(2); softmax\n}\n"
                    "data { source = xor() }\ntrain { loss = cross_entropy; optimizer = sgd(lr=0.1) }\n")
    code = textwrap.dedent(f"""
        import sys, contextlib, io
        import specc.cli
        with contextlib.redirect_stdout(io.StringIO()):
            rc = specc.cli.main({argv!r} + [{str(spec)!r}])
        print(rc)
        print(" ".join(sorted(sys.modules)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    return int(out[0]), set(out[1].split())


def test_check_summary_fmt_import_no_heavy_library(tmp_path):
    for argv in (["check"], ["summary"], ["fmt", "--check"]):
        rc, modules = _modules_after(argv, tmp_path)
        assert rc in (0, 1), argv
        loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
        assert not loaded, f"specc {argv[0]} imported {loaded[:5]}"


def test_ir_and_frontend_never_import_a_backend():
    code = "import sys, specc.frontend, specc.printer, specc.ir; print([m for m in sys.modules if 'backends' in m])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _frame(message: dict) -> bytes:
    import json

    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_frame(stream) -> dict:
    import json

    length = 0
    while (line := stream.readline().strip()):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def test_lsp_imports_no_heavy_library(tmp_path):
    """`specc lsp` serving a session (open, hover, inlay hints) loads none of the heavy libraries."""
    pytest = __import__("pytest")
    pytest.importorskip("pygls")
    uri = (tmp_path / "m.nn").as_uri()
    text = "model m {\n input [4]\n dense(3); relu\n dense(2); softmax\n}\n"
    code = ("import atexit, sys, specc.cli\n"
            "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\n"
            "specc.cli.main(['lsp'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    for m in [{"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}},
              {"method": "initialized", "params": {}},
              {"method": "textDocument/didOpen", "params": {"textDocument": {
                  "uri": uri, "languageId": "specc", "version": 1, "text": text}}},
              {"id": 2, "method": "textDocument/hover", "params": {"textDocument": {"uri": uri},
                                                                   "position": {"line": 2, "character": 2}}}]:
        proc.stdin.write(_frame(m))
    proc.stdin.flush()
    answers = {}
    while 2 not in answers:
        msg = _read_frame(proc.stdout)
        answers[msg.get("id")] = msg
    proc.stdin.write(_frame({"id": 3, "method": "shutdown", "params": None}) + _frame({"method": "exit", "params": None}))
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "dense(units" in answers[2]["result"]["contents"]["value"]
    modules = set(err.decode().strip().split("\n")[-1].split())
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert "specc.lsp.server" in modules and not loaded, f"specc lsp imported {loaded[:5]}"
