"""tidal from PyTorch through ctypes: the C API's structs (include/tidal/*.h),
error checking, and GradHooks, which wires a model's parameters to a tidal
grad reducer the way DDP wires them to its own (one autograd hook per
parameter, gradients living in the communication buckets).

Used by torch_zero.py (a ZeRO-2 / ZeRO-3 training loop) and by
bench/torch/ddp_vs_tidal.py (against torch.nn.parallel.DistributedDataParallel).
`cmake --install` puts it in PREFIX/share/tidal/python, where load() finds
PREFIX/lib*/libtidal.so by itself.
"""
import contextlib
import ctypes
import glob
import os

import torch

# --- the C API, as ctypes sees it (include/tidal/*.h) -----------------------
TIDAL_F32, TIDAL_AVG = 0, 4
TIDAL_SUCCESS, TIDAL_ERR_INVALID_USAGE = 0, 2
WRITTEN_FOR = (0, 2)  # the major.minor of the headers these structs mirror
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


def load(path=None):
    """Loads libtidal: `path`, else $TIDAL_LIBRARY, else the library of the
    prefix this module is installed in, else the dynamic loader's search.
    Refuses a library whose major.minor differs from WRITTEN_FOR (its
    structs could have changed)."""
    if path is None:
        here = os.path.dirname(os.path.abspath(__file__))
        installed = sorted(glob.glob(os.path.join(here, "..", "..", "..", "lib*", "libtidal.so"))
                           + glob.glob(os.path.join(here, "..", "..", "..", "lib*", "*",
                                                    "libtidal.so")))
        path = os.environ.get("TIDAL_LIBRARY") or (os.path.normpath(installed[0]) if installed
                                                    else "libtidal.so")
    lib = ctypes.CDLL(path)
    version = ctypes.c_int()
    if lib.tidal_get_version(ctypes.byref(version)) != 0:
        raise RuntimeError(f"{path}: tidal_get_version failed")
    major, minor = version.value // 10000, version.value // 100 % 100
    if (major, minor) != WRITTEN_FOR:
        raise RuntimeError(f"{path} is libtidal {major}.{minor}; tidal_torch.py mirrors the "
                           f"{WRITTEN_FOR[0]}.{WRITTEN_FOR[1]} headers")
    lib.tidal_status_string.restype = ctypes.c_char_p
    lib.tidal_last_error.restype = ctypes.c_char_p
    handle_args = ("tidal_grad_ready", "tidal_grad_reducer_wait", "tidal_param_prefetch",
                   "tidal_param_wait", "tidal_param_release")
    for name in handle_args:
        getattr(lib, name).argtypes = [c_void, c_size]
    lib.tidal_grad_reducer_wait.argtypes = [c_void]
    return lib


MPI_COMM_WORLD, MPI_THREAD_MULTIPLE, MPI_INT = 0x44000000, 3, 0x4c000405  # MPICH's mpi.h


def mpi_world(lib):
    """Under mpiexec: initialises MPI through libtidal's own MPICH (with
    MPI_THREAD_MULTIPLE, which tidal's progress threads need) and creates a
    tidal communicator over MPI_COMM_WORLD. Returns (comm, rank, size); call
    lib.MPI_Finalize() after destroying the communicator."""
    provided, rank, size = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if lib.MPI_Init_thread(None, None, MPI_THREAD_MULTIPLE, ctypes.byref(provided)) != 0:
        raise RuntimeError("MPI_Init_thread failed (run under mpiexec)")
    lib.MPI_Comm_rank(MPI_COMM_WORLD, ctypes.byref(rank))
    lib.MPI_Comm_size(MPI_COMM_WORLD, ctypes.byref(size))
    comm = c_void()
    check(lib, lib.tidal_comm_create_mpi(MPI_COMM_WORLD, None, ctypes.byref(comm)), "communicator")
    return comm.value, rank.value, size.value


def check(lib, rc, what):
    if rc != 0:  # the message is this thread's last error
        raise RuntimeError(f"{what}: {lib.tidal_status_string(rc).decode()}: "
                           f"{lib.tidal_last_error().decode()}")


def on_grad_accumulated(param, fn):
    """Calls fn() once param.grad holds this backward's gradient."""
    if hasattr(param, "register_post_accumulate_grad_hook"):  # torch >= 2.1
        return param.register_post_accumulate_grad_hook(lambda _p: fn())
    # Older torch: a post-hook on the AccumulateGrad node (what DDP used).
    acc = param.expand_as(param).grad_fn.next_functions[0][0]
    acc.register_hook(lambda *_: fn())
    return acc  # keep the node alive, or the hook goes with it



def tensor_list(lib, comm, tensors, options):
    """A tidal tensor list over torch tensors (f32; pointers ignored when
    options.zero_copy is set). Collective: every rank calls it together."""
    descs = (TensorDesc * len(tensors))(*[
        TensorDesc(None if options.zero_copy else t.data_ptr(), t.numel(), TIDAL_F32)
        for t in tensors])
    handle = c_void()
    check(lib, lib.tidal_tensor_list_create(c_void(comm), descs, c_size(len(tensors)),
                                            ctypes.byref(options), ctypes.byref(handle)),
          "tensor list")
    return handle


def bucket_options(bucket_bytes, first_bucket_bytes, zero_copy):
    """Buckets in reverse registration order: backward's first gradients first."""
    return BucketOptions(ctypes.sizeof(BucketOptions), bucket_bytes, first_bucket_bytes, 0,
                         TIDAL_BUCKET_ORDER_REVERSE, -1, int(zero_copy), 0, 0)


def float_view(address, count):
    """A torch tensor over `count` floats of memory tidal owns (no copy)."""
    return torch.frombuffer((ctypes.c_float * count).from_address(address), dtype=torch.float32)


class GradHooks:
    """Averages `params`' gradients over the communicator with a tidal grad
    reducer, bucket by bucket during backward.

    zero_copy: each param.grad becomes a view into tidal's buckets (nothing
    is packed), like DDP's gradient_as_bucket_view; zero it in place between
    steps. all_reduce: ZeRO-1 / DDP semantics (every rank's param.grad holds
    the mean); else reduce-scatter (ZeRO-2: only this rank's shard, see
    shard()). overlap=False leaves the hooks idle and marks every gradient in
    wait() instead (reduce after backward, the baseline the hooks beat when
    communication has resources of its own). Call begin_step() before
    backward and wait() after it."""

    def __init__(self, lib, comm, params, bucket_bytes, first_bucket_bytes=UNSET_SIZE,
                 all_reduce=False, zero_copy=True, overlap=True):
        self.lib, self.params, self.overlap = lib, list(params), overlap
        self.list = tensor_list(lib, comm, self.params,
                                bucket_options(bucket_bytes, first_bucket_bytes, zero_copy))
        if zero_copy:
            for i, p in enumerate(self.params):
                data = c_void()
                check(lib, lib.tidal_tensor_list_data(self.list, c_size(i), ctypes.byref(data)),
                      "tensor data")
                p.grad = float_view(data.value, p.numel()).view(p.shape)
        ropts = GradReducerOptions(ctypes.sizeof(GradReducerOptions), int(all_reduce), TIDAL_AVG,
                                   1.0, 1.0, TIDAL_SCHEDULE_UNSET, 0)
        self.reducer = c_void()
        check(lib, lib.tidal_grad_reducer_create(self.list, ctypes.byref(ropts),
                                                 ctypes.byref(self.reducer)), "grad reducer")
        nb = c_size()
        check(lib, lib.tidal_tensor_list_num_buckets(self.list, ctypes.byref(nb)), "buckets")
        self.num_buckets = nb.value
        self._hooks = [on_grad_accumulated(p, self._ready_fn(i))
                       for i, p in enumerate(self.params)]
        self.begin_step()

    def counters(self):
        c = BucketCounters()
        check(self.lib, self.lib.tidal_grad_reducer_get_counters(self.reducer, ctypes.byref(c)),
              "counters")
        return c

    def begin_step(self):
        self._launched_before, self._ready = self.counters().buckets_launched, 0
        self.launched_during_backward = 0  # buckets launched before the last gradient

    def _ready_fn(self, i):
        def ready():
            if not self.overlap:
                return
            check(self.lib, self.lib.tidal_grad_ready(self.reducer, i), f"gradient {i} ready")
            self._ready += 1
            if self._ready == len(self.params) - 1:  # one query a step: before the last
                self.launched_during_backward = (self.counters().buckets_launched -
                                                 self._launched_before)
        return ready

    @contextlib.contextmanager
    def no_sync(self):
        """Like DDP's no_sync(): backward passes inside the block accumulate
        into param.grad and communicate nothing (wait() after each returns at
        once); the first backward after the block reduces the accumulated sum.
        Zero the gradients only before the first micro-batch."""
        check(self.lib, self.lib.tidal_grad_reducer_set_sync(self.reducer, 0), "no-sync")
        try:
            yield
        finally:
            check(self.lib, self.lib.tidal_grad_reducer_set_sync(self.reducer, 1), "sync")

    def wait(self):
        """Ends the step (call it after every backward): blocks until every
        bucket is reduced (the step's exposed communication)."""
        if not self.overlap:
            for i in reversed(range(len(self.params))):  # the order backward produces them
                check(self.lib, self.lib.tidal_grad_ready(self.reducer, i), f"gradient {i} ready")
        check(self.lib, self.lib.tidal_grad_reducer_wait(self.reducer), "reducer wait")

    def shard(self):
        """This rank's flat shard of the averaged gradients (reduce-scatter mode)."""
        shard, nbytes = c_void(), c_size()
        check(self.lib, self.lib.tidal_grad_reducer_shard(self.reducer, ctypes.byref(shard),
                                                          ctypes.byref(nbytes)), "shard")
        return float_view(shard.value, nbytes.value // 4)

    def segments(self, i):
        return shard_segments(self.lib, self.list, i)

    def close(self):
        self.lib.tidal_grad_reducer_destroy(self.reducer)
        self.lib.tidal_tensor_list_destroy(self.list)


def shard_segments(lib, tlist, i):
    """The runs of tensor i this rank owns in `tlist`'s shard, as
    (bucket, tensor_offset, shard_offset_bytes, count) tuples."""
    n = c_size()
    check(lib, lib.tidal_tensor_list_shard_segments(tlist, c_size(i), None, c_size(0),
                                                    ctypes.byref(n)), "segments")
    segs = (ShardSegment * n.value)()
    check(lib, lib.tidal_tensor_list_shard_segments(tlist, c_size(i), segs, n, ctypes.byref(n)),
          "segments")
    return [(s.bucket, s.tensor_offset, s.shard_offset, s.count) for s in segs]
