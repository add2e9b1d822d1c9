"""Helpers for the language-server tests (a module name of its own: tests/examples has a conftest too)."""
from __future__ import annotations

import asyncio
import pathlib

from lsprotocol import types as T
from pytest_lsp import LanguageClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


async def wait_for(predicate, timeout: float = 20.0):
    """Poll until predicate() is truthy (the server answers asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.01)


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(uri=uri, language_id="specc", version=version, text=text)))


def change_line(client: LanguageClient, uri: str, version: int, line: int, old_len: int, new: str) -> None:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[T.TextDocumentContentChangePartial(
            range=T.Range(start=T.Position(line, 0), end=T.Position(line, old_len)), text=new)]))


async def diagnostics_of(client: LanguageClient, uri: str, version: int):
    """The diagnostics the server published for this version of the document."""
    found = await wait_for(lambda: [p for p in client.published if p.uri == uri and p.version == version])
    return list(found[-1].diagnostics)
