"""`specc lsp` driven over stdio as an editor drives it: open, edit, hover, hints, completion, navigation."""
from __future__ import annotations

import pytest
from lsp_client import EXAMPLES, ROOT, change_line, diagnostics_of, open_doc, wait_for
from lsprotocol import types as T

from specc.ops import OPS

pytestmark = pytest.mark.asyncio(loop_scope="module")

MNIST_CNN = (EXAMPLES / "mnist_cnn.nn").read_text()
LINES = MNIST_CNN.split("\n")


def line_of(text: str, needle: str) -> int:
    """The first line that is not a comment and contains needle."""
    return next(i for i, l in enumerate(text.split("\n")) if needle in l and not l.lstrip().startswith("#"))


def doc(uri):
    return T.TextDocumentIdentifier(uri)


async def test_open_example_then_break_a_line_and_fix_it(client):
    uri = (EXAMPLES / "mnist_cnn.nn").as_uri()
    open_doc(client, uri, MNIST_CNN)
    assert await diagnostics_of(client, uri, 1) == []

    line = line_of(MNIST_CNN, "dense(1000)")  # after flatten: a vector
    change_line(client, uri, 2, line, len(LINES[line]), "    conv2d(8, 3)")
    [diag] = await diagnostics_of(client, uri, 2)
    assert diag.severity == T.DiagnosticSeverity.Error
    assert "expects an image [C, H, W] but gets [640]" in diag.message
    assert (diag.range.start.line, diag.range.start.character, diag.range.end.character) == (line, 4, 10)
    assert diag.related_information and diag.related_information[0].message.startswith("hint: ")

    change_line(client, uri, 3, line, len("    conv2d(8, 3)"), LINES[line])
    assert await diagnostics_of(client, uri, 3) == []


async def test_syntax_error_at_its_token(client):
    uri = "untitled:syntax.nn"
    text = "model m {\n    input [4]\n    dense(3 4)\n}\n"
    open_doc(client, uri, text)
    [diag] = await diagnostics_of(client, uri, 1)
    assert "unexpected `4`" in diag.message
    assert (diag.range.start.line, diag.range.start.character, diag.range.end.character) == (2, 12, 13)


async def test_hover_shows_signature_doc_shapes_params_and_init(client):
    uri = (EXAMPLES / "mnist_cnn.nn").as_uri()
    line = line_of(MNIST_CNN, "dense(1000)")
    hover = await client.text_document_hover_async(T.HoverParams(doc(uri), T.Position(line, 6)))
    text = hover.contents.value
    for part in ("dense(units, init=auto, bias=true, bias_init=zeros)", OPS["dense"].doc, "`dense_1` (dense): [640] → [1000]",
                 "641,000 parameters", "`weight` [1000, 640] init he_normal", "`bias` [1000] init zeros"):
        assert part in text
    use = line_of(MNIST_CNN, "conv_pool(40)")
    hover = await client.text_document_hover_async(T.HoverParams(doc(uri), T.Position(use, 5)))
    assert "conv_pool(n)" in hover.contents.value and "`conv2d_2` (conv2d): [20, 12, 12] → [40, 8, 8]" in hover.contents.value
    train = line_of(MNIST_CNN, "optimizer = sgd")
    hover = await client.text_document_hover_async(T.HoverParams(doc(uri), T.Position(train, 17)))
    assert "sgd(lr, momentum=0.0, nesterov=false)" in hover.contents.value


async def test_inlay_hints_give_shape_and_parameters_per_line(client):
    uri = (EXAMPLES / "mnist_cnn.nn").as_uri()
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(
        text_document=doc(uri), range=T.Range(T.Position(0, 0), T.Position(len(LINES), 0))))
    by_line = {h.position.line: h.label for h in hints}
    assert by_line[line_of(MNIST_CNN, "conv_pool(20)")] == "→ [20, 12, 12] · 520 params"
    assert by_line[line_of(MNIST_CNN, "flatten")] == "→ [640]"
    assert by_line[line_of(MNIST_CNN, "dense(1000)")] == "→ [1000] · 641,000 params"
    assert by_line[line_of(MNIST_CNN, "softmax")] == "→ [10]"
    # inside the block: one shape per use of the block
    assert by_line[line_of(MNIST_CNN, "conv2d(n, 5)")] == "→ [20, 24, 24] | [40, 8, 8] · 520 | 20,040 params"
    dense = next(h for h in hints if h.label == "→ [1000] · 641,000 params")
    assert dense.position.character == len("    dense(1000)")


async def test_shapes_before_an_error_still_shown(client):
    uri = "untitled:partial.nn"
    open_doc(client, uri, "model m {\n    input [8]\n    dense(16)\n    relu\n    maxpool(2)\n    dense(4)\n}\n")
    [diag] = await diagnostics_of(client, uri, 1)
    assert diag.range.start.line == 4
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(
        text_document=doc(uri), range=T.Range(T.Position(0, 0), T.Position(7, 0))))
    assert [(h.position.line, h.label) for h in hints] == [(2, "→ [16] · 144 params"), (3, "→ [16]")]


async def _complete(client, uri, text, line, column):
    open_doc(client, uri, text)
    result = await client.text_document_completion_async(T.CompletionParams(doc(uri), T.Position(line, column)))
    return {item.label: item for item in result.items}


async def test_completion_of_layers_arguments_and_values(client):
    base = MNIST_CNN.replace("    flatten\n", "    flatten\n    \n", 1)
    line = line_of(base, "flatten") + 1
    items = await _complete(client, "untitled:c1.nn", base, line, 4)
    assert items["dense"].insert_text == "dense(${1:units})"
    assert items["dense"].insert_text_format == T.InsertTextFormat.Snippet
    assert items["dense"].detail == "dense(units, init=auto, bias=true, bias_init=zeros)"
    assert items["relu"].insert_text == "relu"
    assert items["conv_pool"].insert_text == "conv_pool(${1:n})"  # a block of this file

    text = base.replace("\n    \n", "\n    dense(64, \n", 1)
    items = await _complete(client, "untitled:c2.nn", text, line, len("    dense(64, "))
    assert {"units=", "init=", "bias=", "name="} <= set(items)

    text = base.replace("\n    \n", "\n    dense(64, init=\n", 1)
    items = await _complete(client, "untitled:c3.nn", text, line, len("    dense(64, init="))
    assert {"auto", "he_normal", "glorot_uniform"} <= set(items)


async def test_completion_of_train_and_data_keys_and_values(client):
    text = "train {\n    loss = \n    optimizer = \n    \n}\ndata {\n    source = \n}\n"
    items = await _complete(client, "untitled:c4.nn", text, 1, len("    loss = "))
    assert set(items) == {"mse", "mae", "huber", "bce", "cross_entropy", "focal", "nll"}
    items = await _complete(client, "untitled:c5.nn", text, 2, len("    optimizer = "))
    assert items["adam"].detail == "adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
    assert items["sgd"].insert_text == "sgd(${1:lr})"
    items = await _complete(client, "untitled:c6.nn", text, 3, 4)
    assert {"loss", "optimizer", "schedule", "epochs", "batch", "metrics"} <= set(items)
    items = await _complete(client, "untitled:c7.nn", text, 6, len("    source = "))
    assert items["csv"].insert_text == "csv(${1:path})" and "sklearn" in items
    typed = text.replace("optimizer = ", "optimizer = adam(")
    items = await _complete(client, "untitled:c8.nn", typed, 2, len("    optimizer = adam("))
    assert set(items) == {"lr=", "beta1=", "beta2=", "eps="}
    items = await _complete(client, "untitled:c9.nn", "\n", 0, 0)
    assert {"model", "block", "data", "train"} <= set(items)


async def test_definition_references_and_rename_of_a_block(client):
    uri = (EXAMPLES / "mnist_cnn.nn").as_uri()
    use = line_of(MNIST_CNN, "conv_pool(20)")
    defn = line_of(MNIST_CNN, "block conv_pool")
    [loc] = await client.text_document_definition_async(T.DefinitionParams(doc(uri), T.Position(use, 6)))
    assert (loc.range.start.line, loc.range.start.character, loc.range.end.character) == (defn, 6, 15)
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc(uri), position=T.Position(defn, 8), context=T.ReferenceContext(include_declaration=True)))
    assert sorted(r.range.start.line for r in refs) == [defn, use, use + 1]
    edit = await client.text_document_rename_async(T.RenameParams(text_document=doc(uri), position=T.Position(use, 6), new_name="conv_block"))
    assert sorted((e.range.start.line, e.new_text) for e in edit.changes[uri]) == [
        (defn, "conv_block"), (use, "conv_block"), (use + 1, "conv_block")]


async def test_named_values_in_merges_and_rename_refusals(client):
    # The graph syntax of issue 11 (`add(a, b)` over named values) parses today; navigation works on it.
    uri = "untitled:graph.nn"
    text = ('model g {\n    input x [8]\n    dense(8, name="left")\n    relu\n    dense(8, name="right")\n'
            '    add(left, right)\n    concat(x, left)\n}\n')
    open_doc(client, uri, text)
    await diagnostics_of(client, uri, 1)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(doc(uri), T.Position(5, 9)))
    assert (loc.range.start.line, loc.range.start.character, loc.range.end.character) == (2, 19, 23)
    hover = await client.text_document_hover_async(T.HoverParams(doc(uri), T.Position(6, 12)))
    assert hover.contents.value == "named value `x`: the input, [8]"
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc(uri), position=T.Position(2, 20), context=T.ReferenceContext(include_declaration=False)))
    assert sorted((r.range.start.line, r.range.start.character) for r in refs) == [(5, 8), (6, 14)]
    edit = await client.text_document_rename_async(T.RenameParams(text_document=doc(uri), position=T.Position(6, 11), new_name="inputs"))
    assert sorted((e.range.start.line, e.range.start.character) for e in edit.changes[uri]) == [(1, 10), (6, 11)]
    with pytest.raises(Exception, match="already defined") as refused:
        await client.text_document_rename_async(T.RenameParams(text_document=doc(uri), position=T.Position(5, 9), new_name="right"))
    assert str(refused.value) == "`right` is already defined"  # a clean refusal, not an internal error
    with pytest.raises(Exception, match="not a name"):
        await client.text_document_rename_async(T.RenameParams(text_document=doc(uri), position=T.Position(5, 9), new_name="2x"))


async def test_formatting_goes_through_fmt_and_refuses_a_broken_spec(client):
    uri = "untitled:fmt.nn"
    open_doc(client, uri, "model m {\ninput [4]   # features\n   dense(3);relu\n dense(2) ; softmax\n}\n")
    options = T.FormattingOptions(tab_size=4, insert_spaces=True)
    [edit] = await client.text_document_formatting_async(T.DocumentFormattingParams(text_document=doc(uri), options=options))
    assert edit.new_text == ("model m {\n    input [4]  # features\n    dense(3)\n    relu\n    dense(2)\n"
                             "    softmax\n}\n")
    uri = "untitled:fmt_broken.nn"
    open_doc(client, uri, "model m {\ninput [4]\n   dense(3, units=2)\n}\n")
    client.messages.clear()
    assert not await client.text_document_formatting_async(T.DocumentFormattingParams(text_document=doc(uri), options=options))
    message = await wait_for(lambda: client.messages)
    assert "not formatted" in message[-1].message


async def test_document_symbols_are_the_outline(client):
    uri = (EXAMPLES / "mnist_cnn.nn").as_uri()
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(doc(uri)))
    assert [s.name for s in symbols] == ["conv_pool", "mnist_cnn", "data", "train"]
    model = symbols[1]
    assert [c.name for c in model.children][:4] == ["image", "conv_pool", "conv_pool", "flatten_1"]
    assert model.children[3].detail == "flatten [640]"
    assert [c.name for c in symbols[3].children][:2] == ["loss", "optimizer"]


async def test_a_check_superseded_by_a_newer_edit_is_dropped(client):
    lines = ["model big {", "    input [16]"] + ["    dense(16)\n    relu"] * 300 + ["}", ""]
    text = "\n".join(lines)
    uri = "untitled:big.nn"
    open_doc(client, uri, text)
    await diagnostics_of(client, uri, 1)
    for version in range(2, 12):  # ten edits in a burst; only the newest must be answered
        change_line(client, uri, version, 2, len("    dense(16)"), f"    dense({version})")
    await diagnostics_of(client, uri, 11)
    answered = [p.version for p in client.published if p.uri == uri and p.version > 1]
    assert answered[-1] == 11 and len(answered) < 10


GRAPH = (ROOT / "tests" / "lsp" / "graph.nn").read_text()


async def test_graph_syntax_shapes_hover_and_names(client):
    uri = (ROOT / "tests" / "lsp" / "graph.nn").as_uri()
    open_doc(client, uri, GRAPH)
    assert await diagnostics_of(client, uri, 1) == []
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(
        text_document=doc(uri), range=T.Range(T.Position(0, 0), T.Position(30, 0))))
    by_line = {h.position.line: h.label for h in hints}
    assert by_line[line_of(GRAPH, "branch(16")] == "→ [16] · 544 params"  # the block use: both its dense layers
    assert by_line[line_of(GRAPH, "concat(left, right)")] == "→ [32]"
    assert by_line[line_of(GRAPH, "add(inner, outer)")] == "→ [16]"
    hover = await client.text_document_hover_async(T.HoverParams(doc(uri), T.Position(line_of(GRAPH, "concat"), 5)))
    assert "`concat_1` (concat): `add_1` [16], `right` [16] → [32]" in hover.contents.value

    at = line_of(GRAPH, "from trunk")  # `from NAME` goes to the layer named NAME
    [loc] = await client.text_document_definition_async(T.DefinitionParams(doc(uri), T.Position(at, 10)))
    assert (loc.range.start.line, loc.range.start.character) == (line_of(GRAPH, 'name="trunk"'), 20)
    inner = line_of(GRAPH, "add(inner, outer)")  # names given in a block are local to it
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc(uri), position=T.Position(inner, 9), context=T.ReferenceContext(include_declaration=True)))
    assert sorted(r.range.start.line for r in refs) == [line_of(GRAPH, 'name="inner"'), inner]
    edit = await client.text_document_rename_async(T.RenameParams(
        text_document=doc(uri), position=T.Position(line_of(GRAPH, "concat"), 12), new_name="branch_out"))
    assert sorted((e.range.start.line, e.range.start.character) for e in edit.changes[uri]) == [
        (line_of(GRAPH, 'name="left"'), 21), (line_of(GRAPH, "concat"), 11)]
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(doc(uri)))
    model = next(s for s in symbols if s.name == "two_towers")
    assert [c.name for c in model.children][-1] == "probs"


async def test_renaming_an_input_renames_the_keys_of_its_preprocessing_maps(client):
    """`scale = {image: ...}` names the input: a rename that left the key behind would break the spec."""
    path = EXAMPLES / "two_inputs.nn"
    text, uri = path.read_text(), path.as_uri()
    open_doc(client, uri, text)
    assert await diagnostics_of(client, uri, 1) == []
    decl, scale = line_of(text, "input image"), line_of(text, "scale = {image")
    edit = await client.text_document_rename_async(T.RenameParams(
        text_document=doc(uri), position=T.Position(decl, 11), new_name="picture"))
    assert sorted((e.range.start.line, e.range.start.character) for e in edit.changes[uri]) == [
        (decl, 10), (scale, text.split("\n")[scale].index("image"))]


async def test_front_end_warnings_are_warnings(client):
    uri = "untitled:unused.nn"
    text = GRAPH.replace("    concat(left, right)\n", "    from left\n")  # `right` is now computed for nothing
    open_doc(client, uri, text)
    [diag] = await diagnostics_of(client, uri, 1)
    assert diag.severity == T.DiagnosticSeverity.Warning
    assert diag.message == "value `right` is computed but never used"
    assert diag.range.start.line == line_of(text, 'tanh(name="right")')


async def test_output_names_and_the_loss_and_metrics_map_keys_that_name_them(client):
    path = EXAMPLES / "two_heads.nn"
    text, uri = path.read_text(), path.as_uri()
    open_doc(client, uri, text)
    assert await diagnostics_of(client, uri, 1) == []
    out = line_of(text, "output digit")
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc(uri), position=T.Position(out, 12), context=T.ReferenceContext(include_declaration=True)))
    loss, metrics = line_of(text, "loss = {"), line_of(text, "metrics = {")
    assert sorted((r.range.start.line, r.range.start.character) for r in refs) == [
        (out, 11), (loss, text.split("\n")[loss].index("digit")), (metrics, text.split("\n")[metrics].index("digit"))]
