#!/usr/bin/env python3
"""Calls libtidal from Python through ctypes: two local ranks, driven from
one thread with non-blocking requests, all-reduce a NumPy-free array.

Usage: python3 allreduce_ctypes.py [path/to/libtidal.so]
"""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else "libtidal.so")
lib.tidal_status_string.restype = ctypes.c_char_p
lib.tidal_last_error.restype = ctypes.c_char_p

TIDAL_F32, TIDAL_SUM = 0, 0
N, COUNT = 2, 8


def check(rc, what):
    if rc != 0:
        raise RuntimeError(f"{what}: {lib.tidal_status_string(rc).decode()}: "
                           f"{lib.tidal_last_error().decode()}")


comms = (ctypes.c_void_p * N)()
check(lib.tidal_comm_create_local(N, None, comms), "create")
bufs = [(ctypes.c_float * COUNT)(*[float(r + 1)] * COUNT) for r in range(N)]
reqs = (ctypes.c_void_p * N)()
for r in range(N):
    check(lib.tidal_all_reduce(bufs[r], bufs[r], ctypes.c_size_t(COUNT), TIDAL_F32, TIDAL_SUM,
                               ctypes.c_void_p(comms[r]), ctypes.byref(reqs, r * ctypes.sizeof(ctypes.c_void_p))),
          "all_reduce")
check(lib.tidal_wait_all(ctypes.c_size_t(N), reqs), "wait_all")
for r in range(N):
    lib.tidal_request_free(ctypes.c_void_p(reqs[r]))
    lib.tidal_comm_destroy(ctypes.c_void_p(comms[r]))
print("rank 0 got", list(bufs[0]), "(expected 3.0 everywhere)")
sys.exit(0 if all(v == 3.0 for b in bufs for v in b) else 1)
