"""`specc schedule`: the table, its elision, --all, --plot, --n-train and the errors."""
import subprocess
import sys

import numpy as np
import pytest

from specc.cli import main
from specc.commands.schedule import format_table, rows_to_show

SPEC = """
model m {
    input x [2]
    dense(4)
    tanh
    dense(1)
    sigmoid
}
%s
train {
    loss = bce
    optimizer = sgd(lr=0.5)
    schedule = step(every=10, gamma=0.5)
    batch = 2
    epochs = 3
}
"""
DATA = "data {\n    train = xor()\n}"


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "m.nn"
    path.write_text(SPEC % DATA)
    return str(path)


def table_rows(out):
    """(epoch, step, lr) of every numeric row of the printed table."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            rows.append((int(parts[0]), int(parts[1]), float(parts[2])))
    return rows


def test_short_table_shows_every_step(spec, capsys):
    assert main(["schedule", spec, "--n-train", "10"]) == 0  # 5 steps an epoch, 15 steps
    rows = table_rows(capsys.readouterr().out)
    assert [r[1] for r in rows] == list(range(1, 16))
    assert rows[0] == (1, 1, 0.5) and rows[9] == (2, 10, 0.5) and rows[10] == (3, 11, 0.25)


def test_data_block_gives_steps_per_epoch(spec, capsys):
    assert main(["schedule", spec]) == 0  # xor: 4 examples, batch 2 -> 2 steps an epoch
    out = capsys.readouterr().out
    assert "6 steps, 2 per epoch" in out
    assert [r[:2] for r in table_rows(out)] == [(1, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]


def test_long_table_is_elided_unless_all(spec, capsys):
    assert main(["schedule", spec, "--n-train", "200", "--set", "train.epochs=10"]) == 0  # 1000 steps
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert len(rows) < 150 and rows[0][1] == 1 and rows[-1][1] == 1000
    assert "--all shows every step" in out
    # a step schedule with few changes: every step where the lr changes is shown
    assert main(["schedule", spec, "--n-train", "200", "--set", "train.epochs=10",
                 "--set", "train.schedule=step(every=100, gamma=0.5)"]) == 0
    shown = {r[1] for r in table_rows(capsys.readouterr().out)}
    assert set(range(101, 1000, 100)) <= shown and len(shown) < 30
    assert main(["schedule", spec, "--n-train", "200", "--set", "train.epochs=10", "--all"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert [r[1] for r in rows] == list(range(1, 1001))
    assert rows[-1][2] == pytest.approx(0.5 * 0.5 ** 99, rel=1e-5)  # printed with 6 significant digits


def test_smooth_schedule_elides_to_evenly_spaced_rows():
    lrs = np.linspace(1, 0, 1000)
    rows = rows_to_show(lrs, False)
    assert rows[:5] == [0, 1, 2, 3, 4] and rows[-1] == 999 and 15 <= len(rows) <= 30
    text = format_table(lrs, 100)
    assert text.count("...") >= 10 and "of 1000 steps not shown" in text


def test_plot_writes_a_png(spec, tmp_path, capsys):
    png = tmp_path / "lr.png"
    assert main(["schedule", spec, "--n-train", "10", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_errors_exit_2(tmp_path, spec, capsys):
    nodata = tmp_path / "nodata.nn"
    nodata.write_text(SPEC % "")
    assert main(["schedule", str(nodata)]) == 2
    assert "--n-train" in capsys.readouterr().err
    assert main(["schedule", str(nodata), "--n-train", "8"]) == 0
    capsys.readouterr()
    assert main(["schedule", spec, "--set", "train.schedule=piecewise(boundaries=[5], values=[0.1])"]) == 2
    assert "one more value than boundaries" in capsys.readouterr().err


def test_command_module_imports_no_heavy_library():
    code = ("import sys, specc.commands.schedule; "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_header_writes_values_as_the_language_does(spec, capsys):
    assert main(["schedule", spec, "--n-train", "4", "--set", "train.optimizer=sgd(lr=1e-3, nesterov=true, momentum=0.9)",
                 "--set", "train.schedule=piecewise(boundaries=[2, 4], values=[0.1, 0.01, 1e-3])"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "nesterov=true" in head and "lr=0.001" in head and "values=[0.1, 0.01, 0.001]" in head
