// The snapshot's copy-and-checksum stage: whatever the slot size, batch
// size and tensor sizes (tensors crossing slots and batches, empty ones,
// batches big enough to run on the copy pool), every staged byte equals
// its source and every checksum equals xxHash3 of the whole tensor.
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "lib/checkpoint/snapshot_staging.h"

namespace {

using tidal::ckpt::StagedPiece;
using tidal::ckpt::StreamCursor;

// Lays the tensors out back to back in a stream of `slot`-byte slots and
// stages them `batch_slots` slots at a time, as the async writer does.
void stage_stream(const std::vector<std::vector<char>>& tensors, size_t slot, size_t batch_slots) {
  size_t total = 0;
  for (const auto& t : tensors) total += t.size();
  std::vector<char> staged(total + slot, 0);
  StreamCursor cursor(tensors.size());
  ASSERT_TRUE(cursor.ok());
  size_t tensor = 0, in_tensor = 0, pos = 0;
  while (pos < total || tensor < tensors.size()) {
    std::vector<StagedPiece> pieces;
    const size_t batch_end = std::min(total, pos + batch_slots * slot);
    size_t slot_end = std::min(batch_end, pos + slot);
    while (tensor < tensors.size()) {
      const size_t size = tensors[tensor].size();
      const size_t n = std::min(size - in_tensor, slot_end - pos);
      if (n == 0 && size != 0) {  // the slot is full: next slot of the batch, or done
        if (slot_end == batch_end) break;
        slot_end = std::min(batch_end, slot_end + slot);
        continue;
      }
      pieces.push_back(StagedPiece{tensor, staged.data() + pos, tensors[tensor].data() + in_tensor,
                                   n, in_tensor == 0, in_tensor + n == size});
      in_tensor += n, pos += n;
      if (in_tensor == size) ++tensor, in_tensor = 0;
    }
    cursor.stage_and_hash(pieces);
  }
  size_t off = 0;
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (!tensors[t].empty()) {  // memcmp's pointers must not be null, even for 0 bytes
      ASSERT_EQ(std::memcmp(staged.data() + off, tensors[t].data(), tensors[t].size()), 0)
          << "tensor " << t;
    }
    EXPECT_EQ(cursor.checksums[t], XXH3_64bits(tensors[t].data(), tensors[t].size()))
        << "tensor " << t << " of " << tensors[t].size() << " bytes, slot " << slot << ", batch "
        << batch_slots;
    off += tensors[t].size();
  }
}

std::vector<std::vector<char>> make_tensors(const std::vector<size_t>& sizes, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<char>> out;
  for (size_t s : sizes) {
    std::vector<char> t(s);
    for (char& c : t) c = static_cast<char>(rng());
    out.push_back(std::move(t));
  }
  return out;
}

TEST(SnapshotStaging, SmallSlotsAndBatchesMatchTheWholeTensorHash) {
  auto tensors = make_tensors({0, 1, 4095, 4096, 10000, 0, 70000, 3, 300000, 12}, 1);
  for (size_t slot : {4096u, 65536u, 1u << 20})
    for (size_t batch : {1u, 2u, 5u}) stage_stream(tensors, slot, batch);
}

TEST(SnapshotStaging, LargeBatchesRunOnThePoolAndStillHashInOrder) {
  // Multi-MiB tensors crossing slots and batches (one spans several
  // batches), many tensors per batch, so the parallel path runs.
  auto tensors = make_tensors({5u << 20, 100, 3u << 20, 17u << 20, 1u << 20, 2000000, 0, 4u << 20,
                               777, 9u << 20}, 2);
  for (size_t slot : {1u << 20, 4u << 20})
    for (size_t batch : {1u, 3u, 8u}) stage_stream(tensors, slot, batch);
}

TEST(SnapshotStaging, OnlyEmptyTensorsGetTheEmptyHash) {
  stage_stream(make_tensors({0, 0, 0}, 3), 4096, 2);
}

}  // namespace
