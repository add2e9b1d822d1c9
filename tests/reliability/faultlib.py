"""Fault injection shared by tests/reliability and bench/faults.py.

Three kinds of fault, each with a check that nothing was lost:

* `kill_checkpoint_writers`: a forked child writes checkpoints in a loop and
  is SIGKILLed at a random moment; afterwards the checkpoint on disk must load
  and be a complete checkpoint the child wrote (the previous good one or a
  newer one), never a torn mix.
* `interrupt_and_resume`: a real `specc train` subprocess gets SIGINT or
  SIGTERM mid-run; it must exit 130, print a resume command, leave a loadable
  checkpoint, and the printed command must finish the run with exactly the
  weights of an uninterrupted run.
* `kill_and_resume`: the same with SIGKILL (no chance to save): resuming from
  whatever checkpoint was last written must still end bit-identical.

NumPy backend only: its steps are deterministic, so "the same weights" means
bitwise equal (np.array_equal), with no tolerance.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from specc import rundir
from specc.checkpoint import Checkpoint, load_checkpoint, load_npz, save_checkpoint

# Trains 6000 steps in about a second on the NumPy backend (50 steps an epoch, so a signal sent at a
# random moment almost never lands on an epoch boundary). Dropout makes the per-step RNG part of
# what a resume must reproduce; adam makes the optimizer state part of it.
SPEC = """\
model sig {
    input point [2]
    dense(32)
    tanh
    dropout(0.1)
    dense(2)
    softmax
}

data {
    source = spirals(n=1000, noise=0.1)
    split = [0.8, 0.2]
}

train {
    loss = cross_entropy
    optimizer = adam(lr=0.01)
    batch = 16
    epochs = 120
    metrics = [accuracy]
    seed = 3
}
"""

SPECC = [sys.executable, "-m", "specc"]


# Trains in a few hundredths of a second in-process: for error paths that need a real run directory.
TINY = """\
model tiny {
    input x [2]
    dense(4)
    tanh
    dense(1)
    sigmoid
}

data {
    train = xor(n=16)
    val = 0
}

train {
    loss = bce
    optimizer = sgd(lr=0.5, momentum=0.9)
    batch = 4
    epochs = 3
    metrics = [accuracy]
    seed = 1
}
"""



def write_spec(directory, text: str = SPEC, name: str = "sig.nn") -> Path:
    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")
    return path


def same_weights(a: dict, b: dict) -> bool:
    """Bitwise equality of two canonical weight dicts (same keys, shapes, dtypes and values)."""
    return set(a) == set(b) and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def stale_temps(directory) -> list[Path]:
    """Temporary files an atomic write left behind (only a SIGKILL mid-write can do that)."""
    return sorted(Path(directory).glob(".*.tmp"))


# ---------------------------------------------------------------- checkpoint writers killed with SIGKILL

def _params_for(step: int, size: int) -> dict[str, np.ndarray]:
    """Checkpoint content that is a pure function of the step, so a torn mix of two writes is detectable."""
    rng = np.random.default_rng(step)
    return {"dense_1.weight": rng.standard_normal((size // 64, 64)).astype(np.float32),
            "dense_1.bias": np.full((64,), step, np.float32)}


def _checkpoint_for(step: int, size: int) -> Checkpoint:
    params = _params_for(step, size)
    optim = {f"{k}.exp_avg": v * 0.5 for k, v in params.items()}
    optim["step"] = np.array(step)
    return Checkpoint(params, optim, {"step": step, "epoch": step // 7, "history": [{"step": s} for s in range(step % 50)]})


def verify_writer_checkpoint(path) -> int:
    """Load a writer's checkpoint and check every array against its step; returns the step.

    Raises AssertionError for a checkpoint that loads but holds the wrong numbers,
    SpecError (from load_checkpoint) for one that does not load.
    """
    ckpt = load_checkpoint(path)
    step = int(ckpt.meta["step"])
    size = ckpt.params["dense_1.weight"].size
    want = _checkpoint_for(step, size)
    assert same_weights(ckpt.params, want.params), f"checkpoint of step {step}: parameters do not match"
    assert same_weights(ckpt.optimizer, want.optimizer), f"checkpoint of step {step}: optimizer state does not match"
    assert ckpt.meta["history"] == want.meta["history"], f"checkpoint of step {step}: metadata does not match"
    return step


def _writer(path: Path, start: int, size: int, ready: int) -> None:
    """The child: say it is running (one byte on `ready`), then write checkpoints of steps
    start+1, start+2, ... until killed."""
    os.write(ready, b"r")
    step = start
    while True:
        step += 1
        save_checkpoint(path, _checkpoint_for(step, size))


def kill_checkpoint_writers(directory, kills: int, rng: np.random.Generator, *, size: int = 1 << 18,
                            max_delay: float = 0.05) -> dict:
    """Fork a checkpoint writer `kills` times and SIGKILL it at a random moment each time.

    After each kill the file must load and hold a complete checkpoint whose step is
    the one seen after the previous kill (no write finished) or a later one (a write
    finished); anything else is counted as corrupt. Returns counts.
    """
    directory = Path(directory)
    path = directory / rundir.CHECKPOINT
    t0 = time.perf_counter()
    save_checkpoint(path, _checkpoint_for(0, size))
    # On a loaded machine (CI, parallel jobs) one write can take longer than max_delay; the kills
    # must still spread over several writes, so the window is at least three writes long.
    max_delay = max(max_delay, 3 * (time.perf_counter() - t0))
    last = 0
    counts = {"kills": 0, "corrupt": 0, "went_back": 0, "kept_previous": 0, "advanced": 0, "mid_write": 0}
    for _ in range(kills):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into the caller (pytest), whatever happens
            try:
                os.close(ready_r)
                _writer(path, last, size, ready_w)
            finally:
                os._exit(0)
        os.close(ready_w)
        os.read(ready_r, 1)  # the delay counts from the child's first write, not from fork (slow under load)
        os.close(ready_r)
        time.sleep(rng.uniform(0.0, max_delay))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        counts["kills"] += 1
        temps = stale_temps(directory)
        counts["mid_write"] += bool(temps)  # the kill landed inside a write (its temp file is left)
        for t in temps:
            t.unlink()
        try:
            step = verify_writer_checkpoint(path)
        except Exception:  # SpecError (does not load) or AssertionError (loads, wrong content)
            counts["corrupt"] += 1
            save_checkpoint(path, _checkpoint_for(last, size))  # start the next round from a good file
            continue
        if step < last:
            counts["went_back"] += 1
        elif step == last:
            counts["kept_previous"] += 1
        else:
            counts["advanced"] += 1
        last = step
    return counts


# ---------------------------------------------------------------- training runs interrupted by signals

def train_cmd(spec, *extra) -> list[str]:
    return [*SPECC, "train", str(spec), "--quiet", *map(str, extra)]


def run(cmd, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def reference_weights(spec, out) -> dict:
    """Weights of an uninterrupted run (trained once, then reused)."""
    out = Path(out)
    if not (out / rundir.WEIGHTS).exists():
        done = run(train_cmd(spec, "--out", out))
        assert done.returncode == 0, done.stderr
    return load_npz(out / rundir.WEIGHTS)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Poll until `path` exists; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def resume_command(stderr: str) -> list[str]:
    """The command after 'resume with: ' in the interrupt message, as argv (specc -> python -m specc)."""
    marker = "resume with: "
    line = next(l for l in stderr.splitlines() if marker in l)
    words = shlex.split(line.split(marker, 1)[1])
    assert words[0] == "specc", line
    return [*SPECC, *words[1:], "--quiet"]


def interrupt_and_resume(spec, out, reference: dict, sig: int, delay: float) -> dict:
    """Start `specc train`, send `sig` `delay` s after training began, resume with the printed command.

    Returns {"interrupted": bool (False: the run finished before the signal),
             "rc", "step", "pos", "identical", "stderr"}.
    """
    out = Path(out)
    proc = subprocess.Popen(train_cmd(spec, "--out", out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # manifest.json is the last file written before the first step
    started = _wait_for(out / rundir.MANIFEST, proc)
    if started:
        time.sleep(delay)
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    result = {"interrupted": proc.returncode != 0, "rc": proc.returncode, "stderr": stderr, "stdout": stdout}
    if proc.returncode == 0:  # finished before the signal arrived: nothing to resume
        result.update(identical=same_weights(load_npz(out / rundir.WEIGHTS), reference), step=None, pos=None)
        return result
    assert proc.returncode == 130, f"exit {proc.returncode}: {stderr}"
    assert "resume with: " in stderr, stderr
    ckpt = load_checkpoint(out / rundir.CHECKPOINT)  # the checkpoint written on the signal loads
    result.update(step=int(ckpt.meta["step"]), pos=int(ckpt.meta["pos"]))
    assert f"interrupted at step {result['step']}" in stderr, stderr
    done = run(resume_command(stderr))
    assert done.returncode == 0, done.stderr
    result["identical"] = same_weights(load_npz(out / rundir.WEIGHTS), reference)
    return result


def kill_and_resume(spec, out, reference: dict, delay: float) -> dict:
    """SIGKILL `specc train` `delay` s after its first checkpoint appeared, then `--resume` it."""
    out = Path(out)
    proc = subprocess.Popen(train_cmd(spec, "--out", out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = _wait_for(out / rundir.CHECKPOINT, proc)
    if started:
        time.sleep(delay)
        proc.kill()
    proc.communicate(timeout=120)
    result = {"killed": proc.returncode == -signal.SIGKILL, "rc": proc.returncode}
    if not result["killed"]:
        result.update(identical=same_weights(load_npz(out / rundir.WEIGHTS), reference), step=None)
        return result
    ckpt = load_checkpoint(out / rundir.CHECKPOINT)
    result["step"] = int(ckpt.meta["step"])
    done = run(train_cmd(spec, "--resume", out))
    assert done.returncode == 0, done.stderr
    result["identical"] = same_weights(load_npz(out / rundir.WEIGHTS), reference)
    result["stale_temps"] = len(stale_temps(out))
    return result


# ---------------------------------------------------------------- damaged checkpoint files

def damaged_variants(data: bytes, rng: np.random.Generator, n: int):
    """(label, bytes) pairs: `n` truncations, `n` single-byte flips, `n` zeroed blocks, plus odd files."""
    size = len(data)
    for cut in sorted(set(rng.integers(0, size, n).tolist())):
        yield f"truncated to {cut} bytes", data[:cut]
    for at in rng.integers(0, size, n).tolist():
        b = bytearray(data)
        b[at] ^= 1 << int(rng.integers(0, 8))
        yield f"bit flipped at byte {at}", bytes(b)
    for at in rng.integers(0, size, n).tolist():
        b = bytearray(data)
        b[at:at + 64] = bytes(len(b[at:at + 64]))
        yield f"64 bytes zeroed at {at}", bytes(b)
    yield "empty", b""
    yield "random bytes", rng.bytes(size)
    yield "text", b"model m { }\n" * 10
    yield "a pickle", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."


def classify_damaged(path, original) -> str:
    """'refused' (clear SpecError naming the file), 'intact' (loads, same content), or a failure kind.

    A damaged file may still load when the damage hit bytes zip readers ignore;
    then every array and the metadata must be exactly the original's.
    """
    from specc.errors import SpecError

    try:
        ckpt = load_checkpoint(path)
    except SpecError as e:
        text = e.render()
        return "refused" if Path(path).name in text else "refused without naming the file"
    except Exception as e:  # a traceback for the user
        return f"crash: {type(e).__name__}: {e}"
    same = (same_weights(ckpt.params, original.params) and same_weights(ckpt.optimizer, original.optimizer)
            and same_weights(ckpt.best, original.best) and ckpt.meta == original.meta)
    return "intact" if same else "loaded with different content"
