"""The server keeps nothing per edit once the edit's check is done (bench/lsp_latency.py measures
its memory over 1,000 edits; this is the part a test can pin down in-process)."""
from __future__ import annotations

import asyncio
import json

from specc.lsp import server as lsp_server

URI = "file:///mem/net.nn"
TEXT = "model m {\n    input [4]\n    dense(8)\n    relu\n    dense(2)\n}\n"


class Sink:
    """Where the server writes its messages (the editor's end of stdio)."""

    def __init__(self):
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def published(self, version: int) -> bool:
        return b'"version": %d}, "method": "textDocument/publishDiagnostics"' % version in self.data


def test_no_task_or_future_is_kept_per_edit():
    """pygls 2.1 keeps the future of every notification for good (a few KB a keystroke); the
    server's protocol drops them once finished."""
    async def session():
        ls = lsp_server.server  # the features are registered on this one
        sink = Sink()
        ls.protocol.set_writer(sink)

        def send(method, params, msg_id=None):
            message = {"jsonrpc": "2.0", "method": method, "params": params}
            if msg_id is not None:
                message["id"] = msg_id
            ls.protocol.handle_message(ls.protocol.structure_message(json.loads(json.dumps(message))))

        send("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, msg_id=1)
        send("initialized", {})
        send("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "specc", "version": 1,
                                                       "text": TEXT}})
        for version in range(2, 42):
            width = "8" if version % 2 else "8, unit=3"
            lines = TEXT.split("\n")
            lines[2] = f"    dense({width})"
            change = {"text": "\n".join(lines)}
            send("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                            "contentChanges": [change]})
            while not sink.published(version):  # each edit's diagnostics, before the next edit
                await asyncio.sleep(0.005)
        while not all(f.done() for f in ls.protocol._request_futures.values()):  # the last check's pause too
            await asyncio.sleep(0.05)
        send("textDocument/didClose", {"textDocument": {"uri": URI}})
        return ls

    ls = asyncio.run(session())
    assert ls.protocol._request_futures == {}
