// snapshot_staging.h — copying a save's tensors into staging slots and
// checksumming them on the way, spread over the process's copy pool
// (lib/core/parallel.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct XXH3_state_s;

namespace tidal {
namespace ckpt {

// One tensor's bytes inside one staging slot.
struct StagedPiece {
  size_t tensor;       // input index
  char* staged;        // where the piece lands in the slot
  const char* source;  // host source still to copy, or nullptr (already staged by a D2H copy)
  uint64_t bytes;
  bool first;  // starts the tensor
  bool last;   // ends the tensor
};

// Where the snapshot stands inside one file's byte stream, and the
// tensors' checksums: each is the xxHash3 (64-bit) of all of the tensor's
// bytes, whichever slots they crossed.
class StreamCursor {
 public:
  explicit StreamCursor(size_t tensors);
  ~StreamCursor();
  StreamCursor(const StreamCursor&) = delete;
  StreamCursor& operator=(const StreamCursor&) = delete;
  bool ok() const { return carry_ && spare_; }  // false: out of memory

  size_t order_pos = 0;    // index into the plan's order of the tensor being staged
  uint64_t in_tensor = 0;  // bytes of that tensor already planned
  std::vector<uint64_t> checksums;  // by input index; final once the last piece is staged

  // Copies the host pieces into their slots and hashes every piece.
  // `pieces` is a batch in stream order (one or more slots). Pieces of
  // different tensors go to different threads; a tensor's own pieces are
  // hashed in order by one thread, in cache-sized chunks right after they
  // are copied (so the hash reads cache, not memory). Only the batch's
  // first tensor may continue from the previous batch and only its last
  // may continue into the next.
  void stage_and_hash(const std::vector<StagedPiece>& pieces);

 private:
  XXH3_state_s* carry_;  // the state of a tensor that crosses into the next batch
  XXH3_state_s* spare_;
};

}  // namespace ckpt
}  // namespace tidal
