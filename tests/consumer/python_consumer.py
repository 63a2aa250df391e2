#!/usr/bin/env python3
"""The installed PyTorch bridge: with PYTHONPATH=PREFIX/share/tidal/python,
`import tidal_torch` finds PREFIX's libtidal without being told where it is,
a library of another major.minor is refused, and a grad reducer over two
thread ranks averages their gradients.
Exit 77 (skipped) without torch."""
import sys
import threading

try:
    import torch
except ImportError:
    print("skipped: needs PyTorch (Debian: python3-torch)")
    sys.exit(77)
import tidal_torch as tt

prefix = sys.argv[1]
lib = tt.load()  # no path: the module's own prefix
found = lib._name
assert found.startswith(prefix), f"loaded {found}, not the library under {prefix}"
# A library of another major.minor is refused, naming both versions.
tt.WRITTEN_FOR, written_for = (9, 9), tt.WRITTEN_FOR
try:
    tt.load(found)
    sys.exit("a libtidal of another version was accepted")
except RuntimeError as e:
    assert "9.9" in str(e) and f"{written_for[0]}.{written_for[1]}" in str(e), e
tt.WRITTEN_FOR = written_for

comms = (tt.c_void * 2)()
tt.check(lib, lib.tidal_comm_create_local(2, None, comms), "communicators")
grads, errors = [None, None], []


def rank(r):
    try:
        params = [torch.nn.Parameter(torch.zeros(5)), torch.nn.Parameter(torch.zeros(3, 3))]
        hooks = tt.GradHooks(lib, comms[r], params, 1 << 10, all_reduce=True)
        ((params[0].sum() + params[1].sum()) * (r + 1)).backward()  # gradients r + 1
        hooks.wait()
        grads[r] = [p.grad.clone() for p in params]
        hooks.close()
    except Exception as e:
        errors.append(f"rank {r}: {e}")


threads = [threading.Thread(target=rank, args=(r,)) for r in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for r in range(2):
    lib.tidal_comm_destroy(tt.c_void(comms[r]))
assert not errors, errors
assert all(torch.equal(g, torch.full_like(g, 1.5)) for gs in grads for g in gs), grads
print(f"tidal_torch from {tt.__file__} loaded {found}: mean gradient 1.5 on both ranks")
