"""One module per CLI subcommand.

Each module defines `register(subparsers)` (adds its parser and sets
`func=run`) and `run(args) -> int`. Modules must not import heavy libraries
(torch, onnx, onnxruntime, matplotlib) at top level: the CLI imports every
command module to build its parser, and `specc check` must start fast.
"""

# Order shown in `specc --help`.
COMMANDS = ["check", "summary", "fmt", "train", "eval", "schedule", "export", "predict", "verify", "generate", "graph",
            "runs", "compare", "sweep", "report", "lsp"]
