"""Fault test: ``kill -9`` a batch scoring job mid-run, then check the results store and rerun.

Makes a folder of different demo-style clips (espeak-ng speech over the animated face, each
with its transcript as a ``.txt`` sidecar), starts

    python3 -m mmviz score FOLDER --store STORE [--checkpoint DIR]

and sends SIGKILL as soon as the first records appear in ``STORE/inspections`` (scoring goes in
batches of 8, so with the default 12 clips the kill lands while clips 9-12 are being read).
Then it checks that

1. every record in the store (``*.json``) loads with :func:`mmviz.records.serialize.load_record`;
2. nothing else is left over: temporary files (``.*.tmp``, from a write the kill cut short) are
   reported and allowed, arrays files without their ``.json`` are reported, anything else fails;
3. the same command run again completes, scores every clip, and reuses the records already
   there (the same files, untouched: same inode and size), counted before and after the rerun.

    python bench/fault_test.py [--clips 12] [--checkpoint DIR] [--kill-on inspections|features]

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmviz.testing.clips import speech_clips

ROOT = Path(__file__).resolve().parents[1]


def score_command(folder: Path, store: Path, checkpoint: str) -> list[str]:
    cmd = [sys.executable, "-m", "mmviz", "score", str(folder), "--store", str(store)]
    return cmd + (["--checkpoint", checkpoint] if checkpoint != "default" else [])


def records(store: Path, kind: str) -> dict[Path, tuple[int, int]]:
    """``kind`` records (features / inspections / explanations) in the store: JSON path → (inode, size)."""
    return {p: (p.stat().st_ino, p.stat().st_size) for p in (store / kind).rglob("*.json") if not p.name.startswith(".")}


def audit(store: Path) -> dict:
    """Load every record; sort every other file into temporary, orphaned arrays, or stray."""
    import mmviz.explain.analysis  # noqa: F401 - load_record rebuilds only record types imported (registered) so far
    import mmviz.inference.record  # noqa: F401
    import mmviz.records.features  # noqa: F401
    from mmviz.records.serialize import load_record

    loaded, broken, tmp, orphan, stray = 0, [], [], [], []
    for p in sorted(q for q in store.rglob("*") if q.is_file()):
        rel = p.relative_to(store)
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            tmp.append(str(rel))
        elif p.suffix == ".json" and rel.parts[0] != "datasets":
            try:
                load_record(p)
                loaded += 1
            except Exception as e:  # noqa: BLE001 - any failure to load is what this test looks for
                broken.append(f"{rel}: {type(e).__name__}: {e}")
        elif p.suffix == ".npz":
            if not p.with_suffix(".json").exists():
                orphan.append(str(rel))
        elif not (p.suffix == ".csv" and rel.parts[0] == "datasets"):
            stray.append(str(rel))
    return {"loaded": loaded, "broken": broken, "tmp": tmp, "orphan": orphan, "stray": stray}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=5.0, help="clip length (clips are this ±1 s)")
    ap.add_argument("--checkpoint", default="default", help="default (the shipped model) or a checkpoint folder")
    ap.add_argument("--kill-on", default="inspections", choices=["inspections", "features"],
                    help="kill once the first record of this kind is in the store")
    ap.add_argument("--timeout", type=float, default=600.0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` / kill: still stop the server, delete the temp folder

    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mmviz-fault-") as tmp:
        folder, store = Path(tmp) / "clips", Path(tmp) / "store"
        for clip, text in speech_clips(folder, a.clips, a.seconds):
            clip.with_suffix(".txt").write_text(text + "\n")
        cmd = score_command(folder, store, a.checkpoint)
        print("$ " + " ".join(cmd[1:]).replace(tmp, "$TMP"))

        # ---- run 1, killed
        t0 = time.perf_counter()
        log1 = open(Path(tmp) / "run1.log", "w")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log1, stderr=subprocess.STDOUT)
        while not records(store, a.kill_on) and proc.poll() is None and time.perf_counter() - t0 < a.timeout:
            time.sleep(0.05)
        if proc.poll() is not None:
            log1.close()
            print((Path(tmp) / "run1.log").read_text()[-2000:])
            print(f"FAIL: the scoring job ended (exit {proc.returncode}) before it could be killed")
            return 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        log1.close()
        t_kill = time.perf_counter() - t0
        before = {k: records(store, k) for k in ("features", "inspections")}
        a1 = audit(store)
        print(f"killed (SIGKILL, exit {proc.returncode}) after {t_kill:.1f} s, once {a.kill_on} appeared: "
              f"{len(before['features'])} features and {len(before['inspections'])} inspections of {a.clips} clips in the store")
        print(f"  records that load: {a1['loaded']}, damaged: {len(a1['broken'])}, temporary .*.tmp: {len(a1['tmp'])}, "
              f"arrays without their .json: {len(a1['orphan'])}, other stray files: {len(a1['stray'])}")
        for name in a1["tmp"] + a1["orphan"]:
            print(f"    left over: {name}")
        failures += [f"damaged record after the kill: {b}" for b in a1["broken"]]
        failures += [f"stray file after the kill: {s}" for s in a1["stray"]]

        # ---- run 2, to completion
        t1 = time.perf_counter()
        run2 = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=a.timeout)
        t_rerun = time.perf_counter() - t1
        after = {k: records(store, k) for k in ("features", "inspections")}
        a2 = audit(store)
        summary = next((ln for ln in run2.stdout.splitlines() if ln.startswith("scored ")), "(no summary line)")
        print(f"rerun: exit {run2.returncode} in {t_rerun:.1f} s: {summary.split(';')[0]}")
        if run2.returncode != 0:
            failures.append(f"the rerun failed (exit {run2.returncode}): {(run2.stderr or run2.stdout)[-600:]}")
        elif not summary.startswith(f"scored {a.clips} of {a.clips}"):
            failures.append(f"the rerun did not score every clip: {summary}")
        for kind in ("features", "inspections"):
            old, new = before[kind], after[kind]
            reused = sum(1 for p, ident in old.items() if new.get(p) == ident)
            print(f"  {kind:<11}: {len(old)} before the rerun, {len(new)} after; {reused} of the {len(old)} reused as they were")
            if reused != len(old):
                failures.append(f"the rerun rewrote {len(old) - reused} {kind} records instead of reusing them")
            if len(new) < a.clips:
                failures.append(f"only {len(new)} {kind} records after the rerun, for {a.clips} clips")
        print(f"  after the rerun: records that load: {a2['loaded']}, damaged: {len(a2['broken'])}, "
              f"temporary: {len(a2['tmp'])}, arrays without .json: {len(a2['orphan'])}, stray: {len(a2['stray'])}")
        failures += [f"damaged record after the rerun: {b}" for b in a2["broken"]]

    print("PASS" if not failures else "FAIL:\n  " + "\n  ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
