"""curves.png is drawn without delaying the result (issue 17, item 9).

Importing matplotlib was half of a short run's wall time; `specc train` now
prints its result with the weights saved and draws the curves in a detached
process; `--no-plot` draws none.
"""
import subprocess
import sys
import time

SPEC = """\
model m {
    input x [2]
    dense(8); tanh
    dense(2); softmax
}
data { source = moons(n=64); split = [0.75, 0.25, 0.0] }
train { loss = cross_entropy; optimizer = adam(lr=1e-2); batch = 16; epochs = 3; metrics = [accuracy] }
"""
PROBE = """\
import sys
from specc.cli import main
code = main(sys.argv[1:])
print("matplotlib imported:", "matplotlib" in sys.modules)
sys.exit(code)
"""


def _train(tmp_path, *extra):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC)
    cmd = [sys.executable, "-c", PROBE, "train", str(spec), "--quiet", "--out", str(tmp_path / "run"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_result_does_not_wait_for_matplotlib_and_the_curves_follow(tmp_path):
    done = _train(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "trained m: 9 steps" in done.stdout and "matplotlib imported: False" in done.stdout
    assert (tmp_path / "run" / "weights.npz").exists()
    png = tmp_path / "run" / "curves.png"
    deadline = time.monotonic() + 60
    while not png.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_plot_draws_no_curves(tmp_path):
    done = _train(tmp_path, "--no-plot")
    assert done.returncode == 0, done.stderr
    time.sleep(2)
    assert not (tmp_path / "run" / "curves.png").exists()
    assert (tmp_path / "run" / "metrics.csv").exists()
