"""The language server: documents in, features out. One function per feature.

Checks run off the event loop in one worker thread, so the editor's requests are answered
while a big file is re-checked. Each edit takes a ticket; a check whose ticket is no longer
the newest when it would start, or when it finishes, is dropped (its result would describe
text the user has already changed). Each document keeps its Incremental caches, so an edit
re-parses and re-checks only what it can change. The shapes, names and outline the hints
and hovers read are worked out when a request needs them, in the same worker, or after a
short pause in typing, so they never delay the diagnostics of the next edit.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import sys
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from .. import __version__
from . import completion, diagnostics, formatting, hover, inlay, navigation, symbols
from .analysis import Analysis, analyse
from .incremental import Incremental

IDLE_BEFORE_FACTS = 0.3  # seconds without an edit before the hints' facts are worked out unasked
GC_THRESHOLDS = (50_000, 20, 100)  # the cycle collector's generations (Python's default: 700, 10, 10)


class _Protocol(LanguageServerProtocol):
    """pygls 2.1 keeps the future of every notification it handles (in `_request_futures`, under a
    random id that no response removes): a few KB for each keystroke, for the life of the server.
    The finished ones are dropped after each notification; a request's own future is removed
    with `pop(id, None)` when its response is sent, so dropping it first changes nothing."""

    def _handle_notification(self, method_name, params):
        super()._handle_notification(method_name, params)
        for msg_id in [i for i, future in self._request_futures.items() if future.done()]:
            del self._request_futures[msg_id]


class SpecServer(LanguageServer):
    def __init__(self, incremental: bool = True):
        super().__init__("specc", __version__, text_document_sync_kind=T.TextDocumentSyncKind.Incremental,
                         protocol_cls=_Protocol)
        self.incremental = incremental  # False: every edit re-checks the whole text (`--full-check`)
        self.latest: dict[str, int] = {}  # uri -> ticket of the newest edit
        self.running: set[str] = set()  # uris with a check in flight
        self.analyses: dict[str, Analysis] = {}  # uri -> analysis of the newest checked text
        self.caches: dict[str, Incremental] = {}  # uri -> what its last check can lend the next
        self.blocks: dict[str, dict] = {}  # uri -> blocks of the last text that parsed (for completion)
        self.checks = ThreadPoolExecutor(1, thread_name_prefix="specc-check")
        self.tickets = itertools.count(1)
        self.dropped = 0  # checks whose result was superseded by a newer edit

    def path_of(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    async def _analyse(self, uri: str, text: str) -> Analysis:
        loop = asyncio.get_running_loop()
        path = self.path_of(uri)
        cache = self.caches.setdefault(uri, Incremental(path)) if self.incremental else None
        result = await loop.run_in_executor(self.checks, analyse, text, path, cache)
        if result.parsed:
            self.blocks[uri] = result.blocks
        return result

    async def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text: the last check's, or wait for the one in flight."""
        doc = self.workspace.get_text_document(uri)
        while uri in self.running and self.analyses.get(uri, _NONE).text != doc.source:
            await asyncio.sleep(0.005)
        cached = self.analyses.get(uri)
        if cached is None or cached.text != doc.source:
            cached = await self._analyse(uri, doc.source)
            self.analyses[uri] = cached
        if not cached.completed:  # in the worker: the event loop keeps reading the editor's messages
            await asyncio.get_running_loop().run_in_executor(self.checks, cached.complete)
        return cached

    def _related_information(self) -> bool:
        caps = self.client_capabilities.text_document
        publish = caps.publish_diagnostics if caps else None
        return bool(publish and publish.related_information)

    async def check(self, uri: str) -> None:
        """Re-check a document and publish its diagnostics.

        One check per document runs at a time. Edits that arrive meanwhile only move the
        ticket; when the check ends, its result is dropped if a newer edit came in, and the
        newest text is checked next (the edits in between are never checked).
        """
        self.latest[uri] = next(self.tickets)
        if uri in self.running:
            return
        self.running.add(uri)
        ticket = None
        try:
            while uri in self.latest:
                ticket = self.latest[uri]
                doc = self.workspace.get_text_document(uri)
                text, version = doc.source, doc.version
                result = await self._analyse(uri, text)
                if self.latest.get(uri) != ticket:
                    self.dropped += 1
                    continue
                self.analyses[uri] = result
                self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
                    uri, diagnostics.diagnostics(result, uri, self._related_information()), version=version))
                break
        finally:
            self.running.discard(uri)
        # Shapes, names and outline for the hints and hovers, once the user pauses (a request
        # that comes first works them out itself).
        await asyncio.sleep(IDLE_BEFORE_FACTS)
        if ticket is not None and self.latest.get(uri) == ticket and uri not in self.running:
            await asyncio.get_running_loop().run_in_executor(self.checks, self._complete_if_newest, uri, ticket)

    def _complete_if_newest(self, uri: str, ticket: int) -> None:
        result = self.analyses.get(uri)
        if self.latest.get(uri) == ticket and result is not None:
            result.complete()
            gc.collect()  # the user paused: the one full scan, off the path of an edit

    def close(self, uri: str) -> None:
        self.latest.pop(uri, None)
        self.analyses.pop(uri, None)
        self.caches.pop(uri, None)
        self.blocks.pop(uri, None)
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri, []))


_NONE = Analysis("\0", "")  # stands for "no analysis yet" (no document has this text)


server = SpecServer()


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SpecServer, params: T.DidOpenTextDocumentParams):
    await ls.check(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: SpecServer, params: T.DidChangeTextDocumentParams):
    await ls.check(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: SpecServer, params: T.DidSaveTextDocumentParams):
    await ls.check(params.text_document.uri)  # data files next to the spec may have changed


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SpecServer, params: T.DidCloseTextDocumentParams):
    ls.close(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_INLAY_HINT)
async def inlay_hints(ls: SpecServer, params: T.InlayHintParams):
    return inlay.inlay_hints(await ls.analysis(params.text_document.uri), params.range.start.line, params.range.end.line)


@server.feature(T.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: SpecServer, params: T.HoverParams):
    return hover.hover(await ls.analysis(params.text_document.uri), params.position.line, params.position.character)


@server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["(", ",", "=", "[", " "]))
async def on_completion(ls: SpecServer, params: T.CompletionParams):
    uri = params.text_document.uri
    current = await ls.analysis(uri)  # text being typed often does not parse: blocks of the last that did
    analysis = Analysis(current.text, current.path, lines=current.lines, blocks=ls.blocks.get(uri, {}))
    items = completion.completions(analysis, params.position.line, params.position.character)
    return T.CompletionList(is_incomplete=False, items=items)


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
async def on_definition(ls: SpecServer, params: T.DefinitionParams):
    return navigation.definition(await ls.analysis(params.text_document.uri), params.text_document.uri,
                                 params.position.line, params.position.character)


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
async def on_references(ls: SpecServer, params: T.ReferenceParams):
    return navigation.references(await ls.analysis(params.text_document.uri), params.text_document.uri,
                                 params.position.line, params.position.character,
                                 params.context.include_declaration)


@server.feature(T.TEXT_DOCUMENT_PREPARE_RENAME)
async def on_prepare_rename(ls: SpecServer, params: T.PrepareRenameParams):
    return navigation.prepare_rename(await ls.analysis(params.text_document.uri), params.position.line,
                                     params.position.character)


@server.feature(T.TEXT_DOCUMENT_RENAME, T.RenameOptions(prepare_provider=True))
async def on_rename(ls: SpecServer, params: T.RenameParams):
    return navigation.rename(await ls.analysis(params.text_document.uri), params.text_document.uri,
                             params.position.line, params.position.character, params.new_name)


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def on_document_symbol(ls: SpecServer, params: T.DocumentSymbolParams):
    return symbols.document_symbols(await ls.analysis(params.text_document.uri))


@server.feature(T.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: SpecServer, params: T.DocumentFormattingParams):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    edits, refusal = formatting.format_document(doc.source, ls.path_of(doc.uri))
    if refusal:
        ls.window_show_message(T.ShowMessageParams(T.MessageType.Warning, refusal))
    return edits


def main(incremental: bool = True) -> None:
    # Hand the GIL between the check thread and the thread reading stdin often, so edits
    # arriving during a check are read (and supersede it) promptly.
    sys.setswitchinterval(0.001)
    # A check allocates ~10^5 objects and frees them by reference counting (the analysis
    # makes no reference cycles: tests/lsp/test_incremental.py), so the cycle collector's
    # default pace (a scan every 700 allocations, a full one every ~100 checks, 50-300 ms on
    # a loaded machine) was pure latency: scan rarely, never the modules and grammar loaded
    # by now, and collect fully when the user pauses (_complete_if_newest).
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    server.incremental = incremental
    server.start_io()
