"""A real client (pytest-lsp) talking to `specc lsp` over stdio, shared by a module's tests."""
from __future__ import annotations

import os
import sys

import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import ROOT  # noqa: E402


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "specc", "lsp"]))
async def client(lsp_client: LanguageClient):
    published: list[T.PublishDiagnosticsParams] = []
    lsp_client.published = published
    handler = lsp_client.protocol.fm.features[T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params):  # keep every publication (the client keeps only the newest per document)
        published.append(params)
        return handler(params)

    lsp_client.protocol.fm.features[T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    await lsp_client.initialize_session(T.InitializeParams(capabilities=client_capabilities("visual-studio-code"),
                                                           root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()

