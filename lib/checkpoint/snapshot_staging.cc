#include "lib/checkpoint/snapshot_staging.h"

#include <cstring>
#include <utility>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "lib/core/parallel.h"

namespace tidal {
namespace ckpt {
namespace {

constexpr uint64_t kChunk = 256 * 1024;      // copied, then hashed while in cache
constexpr uint64_t kParallelBytes = 4 << 20;  // smaller batches stay on one thread

void stage_piece(const StagedPiece& p, XXH3_state_t* h) {
  for (uint64_t done = 0; done < p.bytes; done += kChunk) {
    const uint64_t n = p.bytes - done < kChunk ? p.bytes - done : kChunk;
    if (p.source) std::memcpy(p.staged + done, p.source + done, n);
    XXH3_64bits_update(h, p.staged + done, n);
  }
}

}  // namespace

StreamCursor::StreamCursor(size_t tensors)
    : checksums(tensors, XXH3_64bits(nullptr, 0)),
      carry_(XXH3_createState()),
      spare_(XXH3_createState()) {}

StreamCursor::~StreamCursor() {
  XXH3_freeState(carry_);
  XXH3_freeState(spare_);
}

void StreamCursor::stage_and_hash(const std::vector<StagedPiece>& pieces) {
  // Items: runs of consecutive pieces of one tensor (a tensor crosses
  // slots only at their boundaries, so its pieces are adjacent).
  std::vector<size_t> starts;
  uint64_t bytes = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i == 0 || pieces[i].tensor != pieces[i - 1].tensor) starts.push_back(i);
    bytes += pieces[i].bytes;
  }
  starts.push_back(pieces.size());
  const size_t items = starts.size() - 1;
  bool carried_in_spare = false;  // written by the batch's last item only
  auto run_item = [&](size_t k) {
    const size_t lo = starts[k], hi = starts[k + 1];
    const bool continues = !pieces[lo].first;   // the batch's first item only
    const bool carries = !pieces[hi - 1].last;  // the batch's last item only
    XXH3_state_t local;
    XXH3_INITSTATE(&local);
    XXH3_state_t* h = continues ? carry_ : carries ? spare_ : &local;
    for (size_t i = lo; i < hi; ++i) {
      if (pieces[i].first) XXH3_64bits_reset(h);
      stage_piece(pieces[i], h);
    }
    if (!carries) checksums[pieces[lo].tensor] = XXH3_64bits_digest(h);
    if (carries && !continues) carried_in_spare = true;
  };
  if (items > 1 && bytes >= kParallelBytes) {
    run_parallel(items, run_item);
  } else {
    for (size_t k = 0; k < items; ++k) run_item(k);
  }
  if (carried_in_spare) std::swap(carry_, spare_);
}

}  // namespace ckpt
}  // namespace tidal
