#!/usr/bin/env python3
"""tidal's grad reducer against PyTorch DDP on the same model, same data, same
processes: the time of one data-parallel step (forward, backward, gradients
averaged over the ranks), interleaved rounds, slowest rank per step, medians.

Variants, each on its own copy of the model (same weights):
  compute only     forward + backward, no communication: the bound
  DDP (gloo)       torch.nn.parallel.DistributedDataParallel, bucket_cap_mb,
                   gradient_as_bucket_view (backward returns once every
                   bucket's all-reduce is done)
  tidal ZeRO-1     GradHooks(all_reduce=True): every rank gets the mean
                   gradient, as with DDP; backward + tidal_grad_reducer_wait
  tidal ZeRO-2     GradHooks(all_reduce=False): reduce-scatter, each rank gets
                   its shard of the mean (half the bytes of an all-reduce; the
                   parameter all-gather a ZeRO-2 step also needs is not timed)
  ... after bwd    the same reducers with their hooks idle: every gradient
                   marked after backward (no overlap)
  ... alone        communication only, no forward or backward: gloo
                   all-reduces of the gradients in bucket-sized chunks (what
                   DDP's buckets do) and tidal's ZeRO-1 reducer marked at once
exposed = step - compute only.

The model has DiT's parameter shapes (hidden, depth, adaLN modulation, MLP
ratio 4) and runs attention over --tokens tokens; one intra-op thread per
process (ranks share the cores). Run under mpiexec; tidal talks MPI, gloo TCP
over loopback (torch 1.13 from Debian has no MPI backend).

  mpiexec -n 4 /usr/bin/python3 bench/torch/ddp_vs_tidal.py build/libtidal.so --model dit-s
"""
import argparse
import ctypes
import math
import os
import socket
import statistics
import sys
import time

try:
    import torch
    import torch.distributed as dist
except ImportError:
    print("skipped: needs PyTorch (Debian: python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
from tidal_torch import MPI_COMM_WORLD, MPI_INT, GradHooks, load, mpi_world  # noqa: E402

MODELS = {"dit-s": (384, 12, 6), "dit-b": (768, 12, 12), "tiny": (64, 2, 2)}  # hidden, depth, heads


class Block(torch.nn.Module):
    """A DiT block's parameters: adaLN-Zero modulation, attention, MLP."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.ada = torch.nn.Linear(hidden, 6 * hidden)
        self.qkv = torch.nn.Linear(hidden, 3 * hidden)
        self.proj = torch.nn.Linear(hidden, hidden)
        self.fc1 = torch.nn.Linear(hidden, 4 * hidden)
        self.fc2 = torch.nn.Linear(4 * hidden, hidden)

    def forward(self, x, c):
        s1, b1, g1, s2, b2, g2 = self.ada(torch.nn.functional.silu(c)).chunk(6, dim=-1)
        t, h = x.shape[0], self.heads
        y = torch.nn.functional.layer_norm(x, x.shape[-1:]) * (1 + s1) + b1
        q, k, v = self.qkv(y).view(t, 3, h, -1).permute(1, 2, 0, 3)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1) @ v
        x = x + g1 * self.proj(a.transpose(0, 1).reshape(t, -1))
        y = torch.nn.functional.layer_norm(x, x.shape[-1:]) * (1 + s2) + b2
        return x + g2 * self.fc2(torch.nn.functional.gelu(self.fc1(y)))


class DiTLike(torch.nn.Module):
    def __init__(self, hidden, depth, heads):
        super().__init__()
        self.embed = torch.nn.Linear(16, hidden)  # a 2x2x4 latent patch
        self.cond = torch.nn.Linear(hidden, hidden)
        self.blocks = torch.nn.ModuleList([Block(hidden, heads) for _ in range(depth)])
        self.out = torch.nn.Linear(hidden, 16)

    def forward(self, patches, c):
        c = self.cond(c)
        x = self.embed(patches)
        for b in self.blocks:
            x = b(x, c)
        return self.out(x)


def make_model(spec):
    torch.manual_seed(0)
    return DiTLike(*MODELS[spec])


def loss_of(model, spec, tokens, rank, step):
    g = torch.Generator().manual_seed(7919 * step + rank)
    x, y = torch.randn(tokens, 16, generator=g), torch.randn(tokens, 16, generator=g)
    c = torch.randn(1, MODELS[spec][0], generator=g)
    return torch.nn.functional.mse_loss(model(x, c), y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--model", default="dit-s", choices=sorted(MODELS))
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--bucket-mib", type=float, default=25.0, help="DDP's bucket_cap_mb and tidal's")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--port", type=int, default=0, help="gloo's rendezvous port (0: a free one)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    lib = load(args.lib)
    comm, rank, size = mpi_world(lib)
    port = ctypes.c_int(args.port)
    if port.value == 0 and rank == 0:
        with socket.socket() as probe:  # a free port, handed to the other ranks
            probe.bind(("127.0.0.1", 0))
            port.value = probe.getsockname()[1]
    lib.MPI_Bcast(ctypes.byref(port), 1, MPI_INT, 0, MPI_COMM_WORLD)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port.value}", rank=rank,
                            world_size=size)

    bucket = int(args.bucket_mib * 2**20)
    plain = make_model(args.model)
    ddp = torch.nn.parallel.DistributedDataParallel(make_model(args.model),
                                                    bucket_cap_mb=args.bucket_mib,
                                                    gradient_as_bucket_view=True)
    zero1_model, zero2_model = make_model(args.model), make_model(args.model)
    zero1 = GradHooks(lib, comm, zero1_model.parameters(), bucket, all_reduce=True)
    zero2 = GradHooks(lib, comm, zero2_model.parameters(), bucket, all_reduce=False)
    late1_model, late2_model = make_model(args.model), make_model(args.model)
    late1 = GradHooks(lib, comm, late1_model.parameters(), bucket, all_reduce=True,
                      overlap=False)
    late2 = GradHooks(lib, comm, late2_model.parameters(), bucket, all_reduce=False,
                      overlap=False)
    params = list(plain.parameters())
    nbytes = sum(p.numel() for p in params) * 4

    def step_plain(s):
        plain.zero_grad(set_to_none=False)
        loss_of(plain, args.model, args.tokens, rank, s).backward()

    def step_ddp(s):
        ddp.zero_grad(set_to_none=False)
        loss_of(ddp, args.model, args.tokens, rank, s).backward()

    def tidal_step(model, hooks):
        def run(s):
            for p in model.parameters():
                p.grad.zero_()
            hooks.begin_step()
            loss_of(model, args.model, args.tokens, rank, s).backward()
            hooks.wait()
        return run

    flat = torch.zeros(sum(p.numel() for p in params))
    chunks = flat.split(bucket // 4)

    def gloo_alone(_s):
        for work in [dist.all_reduce(c, async_op=True) for c in chunks]:
            work.wait()

    def tidal_alone(_s):
        late1.begin_step()
        late1.wait()  # marks every gradient, then waits

    variants = [("compute only (bound)", step_plain), ("DDP (gloo)", step_ddp),
                ("tidal ZeRO-1 all-reduce", tidal_step(zero1_model, zero1)),
                ("tidal ZeRO-2 reduce-scatter", tidal_step(zero2_model, zero2)),
                ("tidal ZeRO-1 after bwd", tidal_step(late1_model, late1)),
                ("tidal ZeRO-2 after bwd", tidal_step(late2_model, late2)),
                ("gloo all-reduce alone", gloo_alone), ("tidal ZeRO-1 alone", tidal_alone)]
    times = {name: [] for name, _ in variants}
    for r in range(args.rounds + 1):  # round 0 warms up and is dropped
        for name, run in variants:
            dist.barrier()
            t0 = time.perf_counter()
            run(r)
            t = torch.tensor([time.perf_counter() - t0], dtype=torch.float64)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)  # the step ends when the slowest rank's does
            if r > 0:
                times[name].append(t.item())

    # The same averaged gradient either way (up to float summation order).
    diff = max((a.grad - b.grad).abs().max().item()
               for a, b in zip(ddp.module.parameters(), zero1_model.parameters()))
    scale = max(a.grad.abs().max().item() for a in ddp.module.parameters())
    if rank == 0:
        bound = statistics.median(times["compute only (bound)"])
        ddp_med = statistics.median(times["DDP (gloo)"])
        print(f"# {args.model}: {len(params)} tensors, {nbytes / 1e6:.1f} MB f32 gradients, "
              f"{args.tokens} tokens, {size} processes, {args.bucket_mib:g} MiB buckets "
              f"(tidal: {zero1.num_buckets}), {args.rounds} interleaved rounds, slowest rank")
        print(f"{'variant':<30} {'step ms':>9} {'exposed ms':>11} {'vs DDP':>7} {'spread':>7}"
              "   (alone rows: vs gloo alone)")
        for name, _ in variants:
            m = statistics.median(times[name])
            spread = (max(times[name]) - min(times[name])) / m
            alone = name.endswith("alone")
            exposed = "-" if alone else f"{(m - bound) * 1e3:.1f}"
            versus = (statistics.median(times["gloo all-reduce alone"]) if alone else ddp_med) / m
            print(f"{name:<30} {m * 1e3:9.1f} {exposed:>11} {versus:6.2f}x {100 * spread:6.0f}%")
        print(f"tidal ZeRO-1 vs DDP gradients: max |diff| {diff:.2e} (largest gradient {scale:.2e})")
    ok = diff <= 1e-5 * max(scale, 1.0)
    for hooks in (late2, late1, zero2, zero1):
        hooks.close()
    lib.tidal_comm_destroy(ctypes.c_void_p(comm))
    dist.destroy_process_group()
    lib.MPI_Finalize()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
