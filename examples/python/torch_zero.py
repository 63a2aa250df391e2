#!/usr/bin/env python3
"""ZeRO-2 / ZeRO-3 data-parallel training of a small PyTorch model with
tidal's overlap hooks, called from Python through ctypes.

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
     rank's full parameters: --stage 2 right after the optimizer step;
     --stage 3 during the next forward: every bucket is prefetched when the
     forward starts (at most 2 in flight) and a forward pre-hook on each
     layer waits just for the buckets holding that layer's parameters.
With --accumulate K, each step runs K micro-batches; all but the last run
inside GradHooks.no_sync() (DDP's no_sync: they accumulate into param.grad and
communicate nothing), and the last reduces the sum.

The ctypes plumbing (structs, error checks, the hooks) is tidal_torch.py.
Ranks are Python threads over a local-threads communicator (tidal's embedded
default: no launcher); under mpiexec, one rank per process over MPI (the
ZeroRank class is the same either way).

Checked against plain PyTorch: one process steps a copy of the model with the
mean of every rank's gradients. Exits 0 when the parameters agree.

Usage: python3 torch_zero.py [path/to/libtidal.so] [--stage 2|3] [--accumulate K]
                             [--ranks N] [--steps S]
       mpiexec -n 4 python3 torch_zero.py path/to/libtidal.so [--stage 2|3]
(exit status 77 when torch is not installed: the test is skipped).
"""
import argparse
import contextlib
import ctypes
import os
import sys
import threading

try:
    import torch
except ImportError:
    print("skipped: this example needs PyTorch (Debian: python3-torch)")
    sys.exit(77)

from tidal_torch import (TIDAL_SCHEDULE_UNSET, UNSET_SIZE, BucketCounters, GradHooks,
                         ParamGathererOptions, bucket_options, c_size, c_void, check, load,
                         mpi_world, shard_segments, tensor_list)

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


# --- one rank ----------------------------------------------------------------
class ZeroRank:
    def __init__(self, lib, comm, lr, stage):
        self.lib, self.lr, self.stage = lib, lr, stage
        self.model = make_model()
        self.params = list(self.model.parameters())
        # 1.-2. Gradients: zero-copy in buckets (8 KiB, the first 2 KiB), one
        # hook per parameter, reduce-scattered and averaged.
        self.grads = GradHooks(lib, comm, self.params, 8 << 10, 2 << 10)
        self.grad_shard = self.grads.shard()
        # ... and the parameters, registered where torch keeps them (same
        # order and bucket sizes, so the two shards line up element for element).
        self.plist = tensor_list(lib, comm, self.params, bucket_options(8 << 10, 2 << 10, False))
        for i in range(len(self.params)):  # what the optimizer relies on
            if self.grads.segments(i) != shard_segments(lib, self.plist, i):
                raise RuntimeError("gradient and parameter shards do not line up")
        # 4. The optimizer's f32 master shard, copied from the parameters.
        self.master = torch.zeros_like(self.grad_shard)
        for i, p in enumerate(self.params):
            for _bucket, offset, shard_offset, count in shard_segments(lib, self.plist, i):
                at = shard_offset // 4
                self.master[at:at + count] = p.detach().view(-1)[offset:offset + count]
        # 5. The param gatherer fills the parameters from the master shard.
        gopts = ParamGathererOptions(ctypes.sizeof(ParamGathererOptions), 2, 0, 1.0, 1.0,
                                     TIDAL_SCHEDULE_UNSET)
        self.gatherer = c_void()
        check(lib, lib.tidal_param_gatherer_create(self.plist, c_void(self.master.data_ptr()),
                                                   ctypes.byref(gopts),
                                                   ctypes.byref(self.gatherer)), "param gatherer")
        self.num_buckets = self.grads.num_buckets
        self.layer_waits = 0  # forward pre-hooks run (ZeRO-3)
        if stage == 3:  # each layer waits for its own buckets, just before it runs
            index = {id(p): i for i, p in enumerate(self.params)}
            for layer in self.model:
                mine = [index[id(p)] for p in layer.parameters(recurse=False)]
                if mine:
                    layer.register_forward_pre_hook(self._wait_fn(self._buckets_of(mine)))

    def _buckets_of(self, tensors):
        buckets = set()
        for t in tensors:
            first, last = c_size(), c_size()
            check(self.lib, self.lib.tidal_tensor_list_buckets_of(
                self.plist, c_size(t), ctypes.byref(first), ctypes.byref(last)), "buckets of")
            buckets.update(range(first.value, last.value + 1))
        return sorted(buckets)

    def _wait_fn(self, buckets):
        def wait(_layer, _inputs):
            self.layer_waits += 1
            for b in buckets:
                check(self.lib, self.lib.tidal_param_wait(self.gatherer, c_size(b)), "param wait")
        return wait

    def _prefetch_all(self):
        """Marks every gathered bucket stale and queues them all, in the order
        forward uses them (reverse bucket order: the list is a gradient list's
        twin); the gatherer keeps at most `depth` in flight."""
        check(self.lib, self.lib.tidal_param_release(self.gatherer, UNSET_SIZE), "release")
        for b in reversed(range(self.num_buckets)):
            check(self.lib, self.lib.tidal_param_prefetch(self.gatherer, c_size(b)), "prefetch")

    def gather_all(self):
        """Waits for every bucket: the model holds the current parameters."""
        for b in range(self.num_buckets):
            check(self.lib, self.lib.tidal_param_wait(self.gatherer, c_size(b)), "param wait")

    def step(self, rank, step, accumulate):
        for p in self.params:
            p.grad.zero_()  # in place: the gradients stay inside the buckets
        if self.stage == 3:
            self._prefetch_all()  # 5. (ZeRO-3) gathered as the forward reaches each layer
        for micro in range(accumulate):  # all but the last accumulate without communicating
            last = micro == accumulate - 1
            with contextlib.nullcontext() if last else self.grads.no_sync():
                self.grads.begin_step()
                loss_of(self.model, rank, step * accumulate + micro).backward()  # hooks launch
                self.grads.wait()  # 3. (last micro-batch) the averaged gradient shard landed
        with torch.no_grad():
            self.master.add_(self.grad_shard, alpha=-self.lr)  # 4. SGD on this rank's shard
        if self.stage == 2:
            self._prefetch_all()  # 5. (ZeRO-2) gathered right away
            self.gather_all()

    def close(self):
        self.lib.tidal_param_gatherer_destroy(self.gatherer)
        self.grads.close()
        self.lib.tidal_tensor_list_destroy(self.plist)


def train(rk, rank, steps, accumulate):
    for s in range(steps):
        rk.step(rank, s, accumulate)
    if rk.stage == 3:  # the last update lands in the parameters, for the check
        rk._prefetch_all()
        rk.gather_all()


def run_ranks(lib, comms, nranks, steps, lr, stage, accumulate):
    """Every rank in its own thread: creation is collective (lists register
    together), and backward runs on the thread that calls it."""
    ranks, errors = [None] * nranks, []

    def body(r):
        try:
            ranks[r] = ZeroRank(lib, comms[r], lr, stage)
            train(ranks[r], r, steps, accumulate)
        except Exception as e:  # reported below; tidal fails the other ranks' waits
            errors.append(f"rank {r}: {e}")

    threads = [threading.Thread(target=body, args=(r,)) for r in range(nranks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ranks, errors


def reference(nranks, steps, lr, accumulate):
    """Plain PyTorch: each step, the mean over ranks of each rank's gradient
    summed over its micro-batches (what DDP with no_sync computes)."""
    model = make_model()
    params = list(model.parameters())
    for s in range(steps):
        mean = [torch.zeros_like(p) for p in params]
        for r in range(nranks):
            model.zero_grad()
            for micro in range(accumulate):
                loss_of(model, r, s * accumulate + micro).backward()
            for m, p in zip(mean, params):
                m += p.grad / nranks
        with torch.no_grad():
            for m, p in zip(mean, params):
                p -= lr * m
    return params


def report(lib, rk, nranks, steps, lr, accumulate, label):
    """Compares this rank's parameters with plain PyTorch; True when they agree."""
    expected = reference(nranks, steps, lr, accumulate)
    worst = max((p.detach() - q.detach()).abs().max().item()
                for p, q in zip(rk.params, expected))
    moved = max((p.detach() - q.detach()).abs().max().item()
                for p, q in zip(make_model().parameters(), expected))
    c, g = rk.grads.counters(), BucketCounters()
    check(lib, lib.tidal_param_gatherer_get_counters(rk.gatherer, ctypes.byref(g)), "counters")
    print(f"{label}: {nranks} ranks, {steps} ZeRO-{rk.stage} steps of {accumulate} "
          f"micro-batches, {len(rk.params)} tensors in "
          f"{rk.num_buckets} buckets, {c.buckets_launched} bucket reduce-scatters, "
          f"{c.wait_ns / 1e6:.2f} ms blocked in waits, {rk.grads.launched_during_backward} of "
          f"{rk.num_buckets} launched before the last gradient was ready; {g.buckets_launched} "
          f"bucket all-gathers, {rk.layer_waits} layer waits; parameters moved "
          f"{moved:.3g}, differ from plain PyTorch by at most {worst:.3g}")
    layers = sum(1 for m in rk.model if list(m.parameters(recurse=False)))
    hooked = rk.layer_waits == (layers * steps * accumulate if rk.stage == 3 else 0)
    quiet = c.buckets_launched == rk.num_buckets * steps  # no_sync micro-batches send nothing
    return (worst <= 1e-6 and moved > 1e-3 and rk.grads.launched_during_backward > 0 and hooked
            and quiet)


def main_local(lib, nranks, steps, lr, stage, accumulate):
    """Ranks as threads of this process (tidal's embedded default)."""
    comms = (c_void * nranks)()
    check(lib, lib.tidal_comm_create_local(nranks, None, comms), "communicators")
    ranks, errors = run_ranks(lib, comms, nranks, steps, lr, stage, accumulate)
    for e in errors:
        print("error:", e)
    ok = not errors and all(report(lib, rk, nranks, steps, lr, accumulate, f"local rank {r}")
                            for r, rk in enumerate(ranks))
    for rk in ranks:
        if rk is not None:
            rk.close()
    for r in range(nranks):
        lib.tidal_comm_destroy(c_void(comms[r]))
    return ok


def main_mpi(lib, steps, lr, stage, accumulate):
    """One rank per process under mpiexec: MPI through libtidal's own MPICH."""
    comm, rank, size = mpi_world(lib)
    rk = ZeroRank(lib, comm, lr, stage)
    train(rk, rank, steps, accumulate)
    ok = report(lib, rk, size, steps, lr, accumulate, f"MPI rank {rank}")
    rk.close()
    lib.tidal_comm_destroy(c_void(comm))
    lib.MPI_Finalize()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", nargs="?", default="libtidal.so")
    ap.add_argument("--ranks", type=int, default=4, help="local-thread ranks (not under mpiexec)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--stage", type=int, default=2, choices=(2, 3),
                    help="ZeRO stage: when the parameters are gathered")
    ap.add_argument("--accumulate", type=int, default=1,
                    help="micro-batches per step (all but the last in no_sync)")
    args = ap.parse_args()
    lib, lr = load(args.lib), 0.05
    under_mpiexec = "PMI_RANK" in os.environ or "PMI_FD" in os.environ
    ok = (main_mpi(lib, args.steps, lr, args.stage, args.accumulate) if under_mpiexec
          else main_local(lib, args.ranks, args.steps, lr, args.stage, args.accumulate))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
