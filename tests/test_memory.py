"""Both backends raise glibc's malloc thresholds when built (specc/memory.py), so a step reuses memory."""
import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
import specc.memory as memory
from specc.frontend import compile_text
from specc.init import initial_params
program = compile_text("model m {{ input x [2]; dense(2); softmax }}\\ntrain {{ loss = cross_entropy; optimizer = sgd(lr=0.1) }}")
from specc.backend_lookup import backend_class
backend_class("{backend}")(program, initial_params(program), seed=0)
print(memory._done)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_building_a_backend_keeps_freed_memory(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    r = subprocess.run([sys.executable, "-c", PROBE.format(backend=backend)], capture_output=True, text=True,
                       timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "True", r.stderr
