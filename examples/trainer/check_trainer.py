#!/usr/bin/env python3
"""Checks the reference trainer end to end (ctest: example.trainer_dit, _vae).

    check_trainer.py MPIEXEC TRAIN MODEL CKPT_DIR

1. One process and two processes train 6 steps on the same global batches
   from the same initial weights (the trainer's data is per global sample):
   their final parameters must agree up to the order of float sums.
2. The two-process run saves a checkpoint and reads it back.
3. Two processes with the FP8 parameter gather train 60 steps: the loss falls.
4. Bad arguments end with exit status 1 and a message naming the problem.
Exit status 0 when all hold.
"""
import re
import shutil
import subprocess
import sys


def run(mpiexec, exe, n, *args):
    cmd = [mpiexec, "-n", str(n), exe, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=500)
    print(f"$ {' '.join(cmd)}\n{out.stdout}{out.stderr}", end="")
    if out.returncode != 0:
        sys.exit(f"exit status {out.returncode}")
    return out.stdout


def final_params(out):
    m = re.search(r"final params: sum (\S+) sumsq (\S+)", out)
    if not m:
        sys.exit("no final checksum in the output")
    return float(m.group(1)), float(m.group(2))


def losses(out):
    return [float(v) for v in re.findall(r"step\s+\d+\s+loss (\S+)", out)]


def main():
    mpiexec, exe, model, ckpt = sys.argv[1:5]
    shutil.rmtree(ckpt, ignore_errors=True)
    common = ["--model", model, "--steps", "6", "--global-batch", "8", "--bucket-kib", "32"]
    s1, q1 = final_params(run(mpiexec, exe, 1, *common))
    out2 = run(mpiexec, exe, 2, *common, "--ckpt", ckpt)
    s2, q2 = final_params(out2)
    ok = True
    # Same global gradients, summed in another order: float rounding only.
    if abs(q1 - q2) > 1e-5 * q1 or abs(s1 - s2) > 1e-5 * q1:
        print(f"1 vs 2 processes differ: sum {s1} vs {s2}, sumsq {q1} vs {q2}")
        ok = False
    m = re.search(r"checkpoint .*: (\d+) of (\d+) tensors read back equal", out2)
    if not m or m.group(1) != m.group(2):
        print("the checkpoint did not read back")
        ok = False
    fp8 = losses(run(mpiexec, exe, 2, "--model", model, "--steps", "60", "--gather", "fp8",
                     "--lr", "3e-3"))
    if len(fp8) < 2 or not fp8[-1] < 0.8 * fp8[0]:
        print(f"the FP8-gather run's loss did not fall: {fp8}")
        ok = False
    for bad, message in [(["--model", "gpt"], "--model is dit or vae"),
                         (["--gather", "int4"], "--gather is f32, bf16 or fp8"),
                         (["--steps", "0"], "must be positive"),
                         (["--global-batch", "3"], "must divide by the number of ranks"),
                         (["--steps"], "--steps needs a value"),
                         (["--frobnicate", "1"], "unknown option --frobnicate")]:
        out = subprocess.run([mpiexec, "-n", "2", exe, *bad], capture_output=True, text=True,
                             timeout=120)
        if out.returncode == 0 or message not in out.stderr:
            print(f"bad arguments {bad}: exit {out.returncode}, stderr {out.stderr!r}")
            ok = False
    print("trainer check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
