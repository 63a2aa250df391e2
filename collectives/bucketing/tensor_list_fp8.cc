// tensor_list_fp8.cc — the FP8 side of a tensor list (comm dtype
// TIDAL_FP8_E4M3/E5M2, all-gather only): the wire layout of a bucket, its
// decode table, the queued encode -> byte all-gather -> decode, and the
// refusal to reduce. Host lists run the CPU codec; device lists (NCCL) its
// CUDA kernels on the communication stream. The rest of TensorList is in
// tensor_list.cc.
#include <algorithm>

#include <fmt/format.h>

#include "collectives/bucketing/tensor_list.h"
#include "lib/core/dtype.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "collectives/codecs/cuda/fp8_codec_cuda.h"
#endif

namespace tidal {
namespace {

using Clock = std::chrono::steady_clock;

size_t round16(size_t v) { return (v + 15) / 16 * 16; }

// Encodes `count` values of this rank's shard into its wire block: bytes
// at `own`, scales after them. Device lists launch the kernel on `stream`.
Status encode_shard(const Fp8Codec& codec, const char* shard_in, tidal_dtype_t storage,
                    size_t count, uint8_t* own, float* own_scales, float pre, bool device,
                    void* stream) {
  if (device) {
#if TIDAL_HAVE_CUDA
    return cuda_fp8_encode(codec, shard_in, storage, count, own, own_scales, pre, stream);
#else
    return Status(TIDAL_ERR_UNSUPPORTED, "device FP8 encode in a build without CUDA");
#endif
  }
  (void)stream;
  fp8_encode(codec, shard_in, storage, count, own, own_scales, pre);
  return Status();
}

}  // namespace

Status TensorList::build_fp8_table(size_t b) {
  const Bucket& bk = plan_.buckets[b];
  const size_t ses = dtype_size(plan_.storage_dtype(bk));
  // A piece may span several ranks' blocks: one run per block it touches.
  for (size_t k = 0; k < bk.piece_count; ++k) {
    const Piece& pc = plan_.pieces[bk.first_piece + k];
    for (size_t done = 0; done < pc.count;) {
      const size_t at = pc.bucket_offset + done;
      const size_t rank = at / bk.shard_count, first = at % bk.shard_count;
      const size_t n = std::min(pc.count - done, bk.shard_count - first);
      const char* block = bucket_ptr(b) + rank * fp8_block_bytes(b);
      fp8_unpack_[b].add(Fp8Run{reinterpret_cast<const uint8_t*>(block),
                                reinterpret_cast<const float*>(block + fp8_scales_at(b)), first,
                                static_cast<char*>(data_[pc.tensor]) +
                                    (pc.tensor_offset + done) * ses,
                                n});
      done += n;
    }
  }
  return fp8_unpack_[b].finalize(device_);
}

Fp8Codec TensorList::fp8_codec(size_t b) const {
  Fp8Codec c;
  c.format = plan_.comm_dtype(plan_.buckets[b]);
  c.block = plan_.options.fp8_block;
  c.pow2_scales = plan_.options.fp8_pow2_scales;
  return c;
}

// [shard_count bytes, padded to 16][the scales of those elements, padded to 16]
size_t TensorList::fp8_scales_at(size_t b) const {
  return round16(plan_.buckets[b].shard_count);
}

size_t TensorList::fp8_block_bytes(size_t b) const {
  const size_t scales = fp8_scale_count(plan_.buckets[b].shard_count, plan_.options.fp8_block);
  return fp8_scales_at(b) + round16(scales * sizeof(float));
}

Status TensorList::decode_pass(size_t b, float post, bool overlapped, BucketCounters* c,
                               void* stream) const {
  auto start = Clock::now();
  Status s = fp8_unpack_[b].run(fp8_codec(b), plan_.storage_dtype(plan_.buckets[b]), post, stream);
  c->unpack_ns += elapsed_ns(start);
  c->unpack_calls += 1;
  if (overlapped) c->overlapped_passes += 1;
  return s;
}

Status TensorList::check_reducible() const {
  for (const ArenaGroup& g : plan_.groups) {
    if (is_fp8_comm(g.comm_dtype)) {
      return Status(TIDAL_ERR_UNSUPPORTED,
                    fmt::format("this tensor list communicates in {}, which is for gathering "
                                "parameters: reductions in FP8 lose too much precision (reduce "
                                "gradients in a list with comm_dtype bf16, f16 or unset)",
                                tidal_dtype_name(g.comm_dtype)));
    }
  }
  return Status();
}

// This rank's shard is encoded into its block (bytes, then scales; the
// pre-scale multiplies the scales), one all-gather of bytes moves every
// rank's block, and the decode table writes the tensors.
Status TensorList::queue_fp8_all_gather(size_t b, const char* shard_in, const BucketScales& scales,
                                        int schedule, RequestPtr* last, BucketCounters* c,
                                        bool unpack) {
  const Bucket& bk = plan_.buckets[b];
  const tidal_dtype_t storage = plan_.storage_dtype(bk);
  const Fp8Codec codec = fp8_codec(b);
  uint8_t* own = reinterpret_cast<uint8_t*>(own_block_ptr(b));
  float* own_scales = reinterpret_cast<float*>(own_block_ptr(b) + fp8_scales_at(b));
  const size_t count = bk.shard_count;
  const float pre = scales.pre;
  const bool device = device_;
  comm_.submit("bucket_fp8_encode", [codec, shard_in, storage, count, own, own_scales, pre, c,
                                     device](const ExecContext& ctx) {
    auto start = Clock::now();
    Status s = encode_shard(codec, shard_in, storage, count, own, own_scales, pre, device,
                            ctx.stream);
    c->pack_ns += elapsed_ns(start);
    c->pack_calls += 1;
    return s;
  });
  const size_t block = fp8_block_bytes(b);
  CollectiveCall call{CollKind::kAllGather, own, bucket_ptr(b), block, TIDAL_U8, TIDAL_SUM, 0};
  TIDAL_RETURN_IF_ERROR(
      queue_coll(call, schedule, static_cast<size_t>(comm_.size()) * block, last, c));
  RequestPtr unpacked = unpack ? queue_unpack(b, scales.post, c) : nullptr;
  if (unpacked) *last = unpacked;
  note_queued(*last);
  return Status();
}

}  // namespace tidal
