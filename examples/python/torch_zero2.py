#!/usr/bin/env python3
"""ZeRO-2 data-parallel training of a small PyTorch model with tidal's
overlap hooks, called from Python through ctypes.

What a framework integration does, in one page:
  1. register every parameter's gradient in a tidal tensor list (zero-copy:
     tidal allocates the gradient memory inside its buckets and each
     ``param.grad`` is a view of it, like DDP's gradient_as_bucket_view), and
     the parameters themselves in a second list with the same layout;
  2. hook each parameter's gradient accumulation: the hook calls
     ``tidal_grad_ready`` the moment that gradient is final, so a bucket's
     reduce-scatter starts while backward is still computing earlier layers;
  3. after ``loss.backward()``, ``tidal_grad_reducer_wait``: this rank's
     shard of the averaged gradient is in the reducer's flat shard buffer;
  4. the optimizer steps on that shard only (SGD on an f32 master shard);
  5. the param gatherer all-gathers the updated shards back into every
     rank's full parameters (prefetched bucket by bucket, waited for before
     the next forward).

Ranks are Python threads over a local-threads communicator (tidal's embedded
default: no launcher); under mpiexec, one rank per process over MPI (the
Zero2Rank class is the same either way).

Checked against plain PyTorch: one process steps a copy of the model with the
mean of every rank's gradients. Exits 0 when the parameters agree.

Usage: python3 torch_zero2.py [path/to/libtidal.so] [--ranks N] [--steps S]
       mpiexec -n 4 python3 torch_zero2.py path/to/libtidal.so
(exit status 77 when torch is not installed: the test is skipped).
"""
import argparse
import ctypes
import os
import sys
import threading

try:
    import torch
except ImportError:
    print("skipped: this example needs PyTorch (Debian: python3-torch)")
    sys.exit(77)

# --- the C API, as ctypes sees it (include/tidal/*.h) -----------------------
TIDAL_F32, TIDAL_AVG = 0, 4
TIDAL_BUCKET_ORDER_REVERSE = 1
TIDAL_SCHEDULE_UNSET = -1
UNSET_SIZE = ctypes.c_size_t(-1).value
c_size, c_void = ctypes.c_size_t, ctypes.c_void_p


class TensorDesc(ctypes.Structure):
    _fields_ = [("data", c_void), ("count", c_size), ("dtype", ctypes.c_int)]


class BucketOptions(ctypes.Structure):
    _fields_ = [("size", c_size), ("bucket_bytes", c_size), ("first_bucket_bytes", c_size),
                ("align_bytes", c_size), ("order", ctypes.c_int), ("comm_dtype", ctypes.c_int),
                ("zero_copy", ctypes.c_int), ("fp8_block", c_size),
                ("fp8_pow2_scales", ctypes.c_int)]


class GradReducerOptions(ctypes.Structure):
    _fields_ = [("size", c_size), ("all_reduce", ctypes.c_int), ("op", ctypes.c_int),
                ("pre_scale", ctypes.c_float), ("post_scale", ctypes.c_float),
                ("schedule", ctypes.c_int), ("pack_on_progress_thread", ctypes.c_int)]


class ParamGathererOptions(ctypes.Structure):
    _fields_ = [("size", c_size), ("depth", c_size), ("max_inflight_bytes", c_size),
                ("pre_scale", ctypes.c_float), ("post_scale", ctypes.c_float),
                ("schedule", ctypes.c_int)]


class BucketCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "buckets_launched", "collective_calls", "pack_calls", "unpack_calls",
        "bytes_communicated", "pack_ns", "unpack_ns", "wait_ns", "steps", "overlapped_passes",
        "direct_buckets")]


class ShardSegment(ctypes.Structure):
    _fields_ = [("bucket", c_size), ("tensor_offset", c_size), ("shard_offset", c_size),
                ("count", c_size)]


def load(path):
    lib = ctypes.CDLL(path)
    lib.tidal_status_string.restype = ctypes.c_char_p
    lib.tidal_last_error.restype = ctypes.c_char_p
    handle_args = ("tidal_grad_ready", "tidal_grad_reducer_wait", "tidal_param_prefetch",
                   "tidal_param_wait", "tidal_param_release")
    for name in handle_args:
        getattr(lib, name).argtypes = [c_void, c_size]
    lib.tidal_grad_reducer_wait.argtypes = [c_void]
    return lib


def check(lib, rc, what):
    if rc != 0:  # the message is this thread's last error
        raise RuntimeError(f"{what}: {lib.tidal_status_string(rc).decode()}: "
                           f"{lib.tidal_last_error().decode()}")


# --- the model and its data --------------------------------------------------
_init_lock = threading.Lock()  # torch's global RNG is shared by the rank threads


def make_model():
    with _init_lock:
        torch.manual_seed(0)  # every rank starts from the same weights
        return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.GELU(),
                                   torch.nn.Linear(64, 64), torch.nn.GELU(),
                                   torch.nn.Linear(64, 4))


def batch(rank, step):
    g = torch.Generator().manual_seed(1000 * step + rank)  # each rank its own data
    return torch.randn(8, 16, generator=g), torch.randn(8, 4, generator=g)


def loss_of(model, rank, step):
    x, y = batch(rank, step)
    return torch.nn.functional.mse_loss(model(x), y)


def on_grad_accumulated(param, fn):
    """Calls fn() once param.grad holds this backward's gradient."""
    if hasattr(param, "register_post_accumulate_grad_hook"):  # torch >= 2.1
        return param.register_post_accumulate_grad_hook(lambda _p: fn())
    # Older torch: a post-hook on the AccumulateGrad node (what DDP used).
    acc = param.expand_as(param).grad_fn.next_functions[0][0]
    acc.register_hook(lambda *_: fn())
    return acc  # keep the node alive, or the hook goes with it


# --- one rank ----------------------------------------------------------------
class Zero2Rank:
    def __init__(self, lib, comm, lr):
        self.lib, self.lr = lib, lr
        self.model = make_model()
        self.params = list(self.model.parameters())
        n = len(self.params)
        opts = BucketOptions(ctypes.sizeof(BucketOptions), 8 << 10, 2 << 10, 0,
                             TIDAL_BUCKET_ORDER_REVERSE, -1, 0, 0, 0)
        # 1. Gradients: zero-copy, so param.grad lives in the buckets.
        descs = (TensorDesc * n)(*[TensorDesc(None, p.numel(), TIDAL_F32) for p in self.params])
        opts.zero_copy = 1
        self.grads = c_void()
        check(lib, lib.tidal_tensor_list_create(c_void(comm), descs, c_size(n), ctypes.byref(opts),
                                                ctypes.byref(self.grads)), "gradient list")
        for i, p in enumerate(self.params):
            p.grad = self._tidal_tensor(self.grads, i, p.shape)
        # ... and the parameters, registered where torch keeps them (same
        # order, same bucket sizes: the two shards line up element for element).
        descs = (TensorDesc * n)(*[TensorDesc(p.data_ptr(), p.numel(), TIDAL_F32)
                                   for p in self.params])
        opts.zero_copy = 0
        self.plist = c_void()
        check(lib, lib.tidal_tensor_list_create(c_void(comm), descs, c_size(n), ctypes.byref(opts),
                                                ctypes.byref(self.plist)), "parameter list")
        for i in range(n):  # what the optimizer relies on
            if self._segments(self.grads, i) != self._segments(self.plist, i):
                raise RuntimeError("gradient and parameter shards do not line up")
        # 2. The grad reducer averages (TIDAL_AVG) by reduce-scatter.
        ropts = GradReducerOptions(ctypes.sizeof(GradReducerOptions), 0, TIDAL_AVG, 1.0, 1.0,
                                   TIDAL_SCHEDULE_UNSET, 0)
        self.reducer = c_void()
        check(lib, lib.tidal_grad_reducer_create(self.grads, ctypes.byref(ropts),
                                                 ctypes.byref(self.reducer)), "grad reducer")
        self.hooks = [on_grad_accumulated(p, self._ready_fn(i)) for i, p in enumerate(self.params)]
        # 4. The optimizer's f32 master shard, copied from the parameters.
        shard, shard_bytes = c_void(), c_size()
        check(lib, lib.tidal_grad_reducer_shard(self.reducer, ctypes.byref(shard),
                                                ctypes.byref(shard_bytes)), "shard")
        self.grad_shard = self._view(shard.value, shard_bytes.value // 4)
        self.master = torch.zeros(shard_bytes.value // 4)
        for i, p in enumerate(self.params):
            for _bucket, offset, shard_offset, count in self._segments(self.plist, i):
                at = shard_offset // 4
                self.master[at:at + count] = p.detach().view(-1)[offset:offset + count]
        # 5. The param gatherer fills the parameters from the master shard.
        gopts = ParamGathererOptions(ctypes.sizeof(ParamGathererOptions), 2, 0, 1.0, 1.0,
                                     TIDAL_SCHEDULE_UNSET)
        self.gatherer = c_void()
        check(lib, lib.tidal_param_gatherer_create(self.plist, c_void(self.master.data_ptr()),
                                                   ctypes.byref(gopts),
                                                   ctypes.byref(self.gatherer)), "param gatherer")
        nb = c_size()
        check(lib, lib.tidal_tensor_list_num_buckets(self.plist, ctypes.byref(nb)), "buckets")
        self.num_buckets = nb.value

    def _view(self, address, count):
        return torch.frombuffer((ctypes.c_float * count).from_address(address), dtype=torch.float32)

    def _tidal_tensor(self, tlist, i, shape):
        data = c_void()
        check(self.lib, self.lib.tidal_tensor_list_data(tlist, c_size(i), ctypes.byref(data)),
              "tensor data")
        return self._view(data.value, int(torch.Size(shape).numel())).view(shape)

    def _segments(self, tlist, i):
        """The runs of tensor i this rank owns, as (bucket, tensor_offset,
        shard_offset, count) tuples."""
        n = c_size()
        check(self.lib, self.lib.tidal_tensor_list_shard_segments(tlist, c_size(i), None,
                                                                  c_size(0), ctypes.byref(n)),
              "segments")
        segs = (ShardSegment * n.value)()
        check(self.lib, self.lib.tidal_tensor_list_shard_segments(tlist, c_size(i), segs, n,
                                                                  ctypes.byref(n)), "segments")
        return [(s.bucket, s.tensor_offset, s.shard_offset, s.count) for s in segs]

    def _ready_fn(self, i):
        def ready():
            check(self.lib, self.lib.tidal_grad_ready(self.reducer, i), f"gradient {i} ready")
            self.ready_this_step += 1
            if self.ready_this_step < len(self.params):  # backward is still running
                c = BucketCounters()
                check(self.lib, self.lib.tidal_grad_reducer_get_counters(
                    self.reducer, ctypes.byref(c)), "counters")
                self.launched_during_backward = c.buckets_launched - self.launched_before
        return ready

    def step(self, rank, step):
        for p in self.params:
            p.grad.zero_()  # in place: the gradients stay inside the buckets
        c = BucketCounters()
        check(self.lib, self.lib.tidal_grad_reducer_get_counters(self.reducer, ctypes.byref(c)),
              "counters")
        self.launched_before, self.ready_this_step, self.launched_during_backward = \
            c.buckets_launched, 0, 0
        loss_of(self.model, rank, step).backward()  # hooks launch the buckets
        # 3. The averaged gradient shard has landed once the reducer's wait returns.
        check(self.lib, self.lib.tidal_grad_reducer_wait(self.reducer), "reducer wait")
        with torch.no_grad():
            self.master.add_(self.grad_shard, alpha=-self.lr)  # 4. SGD on this rank's shard
            check(self.lib, self.lib.tidal_param_release(self.gatherer, UNSET_SIZE), "release")
            for b in range(self.num_buckets):  # 5. the gathers queue back to back ...
                check(self.lib, self.lib.tidal_param_prefetch(self.gatherer, b), "prefetch")
            for b in range(self.num_buckets):  # ... a forward would wait per layer
                check(self.lib, self.lib.tidal_param_wait(self.gatherer, b), "param wait")

    def close(self):
        self.lib.tidal_param_gatherer_destroy(self.gatherer)
        self.lib.tidal_grad_reducer_destroy(self.reducer)
        self.lib.tidal_tensor_list_destroy(self.plist)
        self.lib.tidal_tensor_list_destroy(self.grads)


def run_ranks(lib, comms, nranks, steps, lr):
    """Every rank in its own thread: creation is collective (lists register
    together), and backward runs on the thread that calls it."""
    ranks, errors = [None] * nranks, []

    def body(r):
        try:
            ranks[r] = Zero2Rank(lib, comms[r], lr)
            for s in range(steps):
                ranks[r].step(r, s)
        except Exception as e:  # reported below; tidal fails the other ranks' waits
            errors.append(f"rank {r}: {e}")

    threads = [threading.Thread(target=body, args=(r,)) for r in range(nranks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ranks, errors


def reference(nranks, steps, lr):
    """Plain PyTorch: each step, the mean of every rank's gradient."""
    model = make_model()
    params = list(model.parameters())
    for s in range(steps):
        mean = [torch.zeros_like(p) for p in params]
        for r in range(nranks):
            model.zero_grad()
            loss_of(model, r, s).backward()
            for m, p in zip(mean, params):
                m += p.grad / nranks
        with torch.no_grad():
            for m, p in zip(mean, params):
                p -= lr * m
    return params


def report(lib, rk, nranks, steps, lr, label):
    """Compares this rank's parameters with plain PyTorch; True when they agree."""
    expected = reference(nranks, steps, lr)
    worst = max((p.detach() - q.detach()).abs().max().item()
                for p, q in zip(rk.params, expected))
    moved = max((p.detach() - q.detach()).abs().max().item()
                for p, q in zip(make_model().parameters(), expected))
    c = BucketCounters()
    check(lib, lib.tidal_grad_reducer_get_counters(rk.reducer, ctypes.byref(c)), "counters")
    print(f"{label}: {nranks} ranks, {steps} ZeRO-2 steps, {len(rk.params)} tensors in "
          f"{rk.num_buckets} buckets, {c.buckets_launched} bucket reduce-scatters, "
          f"{c.wait_ns / 1e6:.2f} ms blocked in waits, {rk.launched_during_backward} of "
          f"{rk.num_buckets} launched before the last gradient was ready; parameters moved "
          f"{moved:.3g}, differ from plain PyTorch by at most {worst:.3g}")
    return worst <= 1e-6 and moved > 1e-3 and rk.launched_during_backward > 0


def main_local(lib, nranks, steps, lr):
    """Ranks as threads of this process (tidal's embedded default)."""
    comms = (c_void * nranks)()
    check(lib, lib.tidal_comm_create_local(nranks, None, comms), "communicators")
    ranks, errors = run_ranks(lib, comms, nranks, steps, lr)
    for e in errors:
        print("error:", e)
    ok = not errors and all(report(lib, rk, nranks, steps, lr, f"local rank {r}")
                            for r, rk in enumerate(ranks))
    for rk in ranks:
        if rk is not None:
            rk.close()
    for r in range(nranks):
        lib.tidal_comm_destroy(c_void(comms[r]))
    return ok


MPI_COMM_WORLD, MPI_THREAD_MULTIPLE = 0x44000000, 3  # MPICH's values (mpi.h)


def main_mpi(lib, steps, lr):
    """One rank per process under mpiexec: MPI through libtidal's own MPICH."""
    provided, rank, size = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if lib.MPI_Init_thread(None, None, MPI_THREAD_MULTIPLE, ctypes.byref(provided)) != 0:
        raise RuntimeError("MPI_Init_thread failed")
    lib.MPI_Comm_rank(MPI_COMM_WORLD, ctypes.byref(rank))
    lib.MPI_Comm_size(MPI_COMM_WORLD, ctypes.byref(size))
    comm = c_void()
    check(lib, lib.tidal_comm_create_mpi(MPI_COMM_WORLD, None, ctypes.byref(comm)), "communicator")
    rk = Zero2Rank(lib, comm.value, lr)
    for s in range(steps):
        rk.step(rank.value, s)
    ok = report(lib, rk, size.value, steps, lr, f"MPI rank {rank.value}")
    rk.close()
    lib.tidal_comm_destroy(comm)
    lib.MPI_Finalize()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", nargs="?", default="libtidal.so")
    ap.add_argument("--ranks", type=int, default=4, help="local-thread ranks (not under mpiexec)")
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    lib, lr = load(args.lib), 0.05
    under_mpiexec = "PMI_RANK" in os.environ or "PMI_FD" in os.environ
    ok = main_mpi(lib, args.steps, lr) if under_mpiexec else main_local(lib, args.ranks,
                                                                          args.steps, lr)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
