"""`specc lsp`: a language server for `.nn` files (pygls over stdio).

The server is a thin layer over the compiler. `analysis` is the ONE module that
reads the syntax tree, the IR, the op table and the section tables; it hands the
features plain data (spans, shapes, symbols, signatures). Each feature module
(diagnostics, inlay, hover, completion, navigation, symbols, formatting) turns that
data into LSP types, and `server` wires them to requests. When the IR changes,
only `analysis` changes.
"""
