"""Fault injection at scale: kills, signals and damaged files against training and checkpoints.

    python bench/faults.py            # ~2 minutes on 2 cores
    python bench/faults.py --quick    # a smaller run (for trying changes)

What it does (helpers in tests/reliability/faultlib.py, shared with the tests):
  1. SIGKILLs a checkpoint-writing child process at random moments (>= 200 times)
     and verifies the checkpoint after every kill: it must load and be the previous
     good checkpoint or a newer complete one.
  2. Sends SIGINT/SIGTERM to real `specc train` runs at random moments (>= 20 runs
     interrupted), resumes each with the command the run printed, and compares the
     final weights bitwise with an uninterrupted run.
  3. SIGKILLs real `specc train` runs after their first checkpoint, resumes them
     with --resume and compares the same way.
  4. Loads damaged copies of a real checkpoint (truncations, bit flips, zeroed
     blocks, foreign files): each must be refused with an error naming the file,
     or load with exactly the original content.

It prints counts; the run fails (exit 1) if any checkpoint was corrupt, any
resumed run differed, or any damaged file loaded silently or crashed.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

import faultlib  # noqa: E402
from specc import rundir  # noqa: E402
from specc.checkpoint import load_checkpoint  # noqa: E402


def writer_kills(work: Path, kills: int, rng) -> dict:
    d = work / "writer"
    d.mkdir()
    return faultlib.kill_checkpoint_writers(d, kills, rng)


def signal_runs(work: Path, spec, reference, wanted: int, rng) -> dict:
    """Interrupt runs until `wanted` were really interrupted (a signal after the end does not count)."""
    c = Counter()
    sigs = [signal.SIGINT, signal.SIGTERM]
    while c["interrupted"] < wanted and c["attempts"] < 3 * wanted:
        c["attempts"] += 1
        sig = sigs[c["attempts"] % 2]
        r = faultlib.interrupt_and_resume(spec, work / f"sig-{c['attempts']}", reference, sig,
                                          delay=float(rng.uniform(0.0, 0.6)))
        if not r["interrupted"]:
            c["finished_before_signal"] += 1
            c["identical_unresumed"] += r["identical"]
            continue
        c["interrupted"] += 1
        c[signal.Signals(sig).name] += 1
        c["mid_epoch"] += r["pos"] > 0
        c["at_step_0"] += r["step"] == 0
        c["resumed_identical"] += bool(r["identical"])
    return dict(c)


def kill_runs(work: Path, wanted: int, rng) -> dict:
    """SIGKILL runs of a 4x longer spec (several throttled checkpoints to land between or inside)."""
    d = work / "long"
    d.mkdir()
    spec = faultlib.write_spec(d, faultlib.SPEC.replace("epochs = 120", "epochs = 480"))
    reference = faultlib.reference_weights(spec, d / "reference")
    c = Counter()
    lost = []
    while c["killed"] < wanted and c["attempts"] < 3 * wanted:
        c["attempts"] += 1
        out = work / f"kill-{c['attempts']}"
        r = faultlib.kill_and_resume(spec, out, reference, delay=float(rng.uniform(0.0, 2.5)))
        if not r["killed"]:
            c["finished_before_kill"] += 1
            continue
        c["killed"] += 1
        c["resumed_identical"] += bool(r["identical"])
        c["stale_temps_after_resume"] += r["stale_temps"]
        lost.append(r["step"])
    c["checkpoint_steps_resumed_from"] = sorted(lost)
    return dict(c)


def damaged_files(work: Path, rng, n: int) -> dict:
    d = work / "damaged"
    d.mkdir()
    run = faultlib.run(faultlib.train_cmd(faultlib.write_spec(d, faultlib.SPEC.replace("epochs = 120", "epochs = 3")),
                                          "--out", d / "run"))
    assert run.returncode == 0, run.stderr
    source = d / "run" / rundir.CHECKPOINT
    original, data = load_checkpoint(source), source.read_bytes()
    c = Counter()
    path = d / rundir.CHECKPOINT
    for label, damaged in faultlib.damaged_variants(data, rng, n):
        path.write_bytes(damaged)
        outcome = faultlib.classify_damaged(path, original)
        c[outcome if outcome in ("refused", "intact") else "BAD: " + outcome] += 1
    c["tried"] = sum(c.values())
    return dict(c)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer faults (50 kills, 4+2 runs)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    n_kills, n_signals, n_killruns, n_damage = (50, 4, 2, 20) if args.quick else (220, 22, 10, 100)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specc-faults-") as tmp:
        work = Path(tmp)
        spec = faultlib.write_spec(work)
        reference = faultlib.reference_weights(spec, work / "reference")

        t = time.perf_counter()
        writers = writer_kills(work, n_kills, rng)
        print(f"checkpoint writers SIGKILLed: {writers}  ({time.perf_counter() - t:.1f} s)", flush=True)
        t = time.perf_counter()
        signals = signal_runs(work, spec, reference, n_signals, rng)
        print(f"training runs SIGINT/SIGTERM: {signals}  ({time.perf_counter() - t:.1f} s)", flush=True)
        t = time.perf_counter()
        kills = kill_runs(work, n_killruns, rng)
        print(f"training runs SIGKILLed:      {kills}  ({time.perf_counter() - t:.1f} s)", flush=True)
        t = time.perf_counter()
        damage = damaged_files(work, rng, n_damage)
        print(f"damaged checkpoints loaded:   {damage}  ({time.perf_counter() - t:.1f} s)", flush=True)

    faults = writers["kills"] + signals.get("interrupted", 0) + kills.get("killed", 0) + damage["tried"]
    resumed = signals.get("interrupted", 0) + kills.get("killed", 0)
    identical = signals.get("resumed_identical", 0) + kills.get("resumed_identical", 0)
    corrupt = writers["corrupt"] + writers["went_back"]
    bad_damage = sum(v for k, v in damage.items() if k.startswith("BAD"))
    print()
    print(f"faults injected:                {faults}  ({writers['kills']} writer SIGKILLs, "
          f"{signals.get('interrupted', 0)} SIGINT/SIGTERM runs, {kills.get('killed', 0)} training SIGKILLs, "
          f"{damage['tried']} damaged files)")
    print(f"runs resumed identical:         {identical} / {resumed}")
    print(f"corrupt checkpoints found:      {corrupt}")
    print(f"damaged files loaded silently or crashing: {bad_damage}")
    print(f"total time: {time.perf_counter() - t0:.1f} s  (pid {os.getpid()})")
    ok = corrupt == 0 and identical == resumed and bad_damage == 0 and writers["kills"] >= n_kills
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
