// ndring_rotation.h — the ND-ring rotation of ring attention over a
// communicator (the order is rotation_order.h).
//
// Blocks (forward): each rank starts with its own block (e.g. its K and V);
// at step s it holds block_at(rank, s). Each dim's transfers run on that
// dim's own sub-communicator (split at creation), so their queues progress
// independently: the dim-0 transfer for step s+1 and any outer-dim transfer
// started earlier are in flight while the caller computes on step s.
// Buffers: a pool that grows to at most 2 * ndims + 1 blocks; a buffer is
// reused once nothing sends from or receives into it.
//
// Gradients (backward): at each step the caller adds its partial gradient
// for the current block; the accumulator then travels on to the block's
// next holder while the caller computes the next partial, and after the
// last step every accumulator is home. Fold order: the accumulator of block
// b is ((p_0 + p_1) + ...) in holder order, fixed, so results are bitwise
// reproducible. Its transfers run on a private duplicate of the
// communicator.
#pragma once

#include <memory>
#include <vector>

#include "collectives/schedules/rotation_order.h"
#include "lib/comm/communicator.h"

namespace tidal {

class NdRingRotation {
 public:
  enum class Mode { kBlocks, kGradients };

  // Collective over `comm` (splits it). count elements of dtype per block.
  static Status create(Communicator& comm, const RankLayout& layout, size_t count,
                       tidal_dtype_t dtype, Mode mode, std::unique_ptr<NdRingRotation>* out);
  ~NdRingRotation();

  int steps() const { return order_.steps(); }
  bool gradients() const { return mode_ == Mode::kGradients; }
  int step() const { return step_; }
  int current_block() const { return order_.block_at(rank_, step_); }
  // Blocks mode: the data of the current block (valid until the next wait).
  const void* current_data() const;

  // Blocks mode: begins a cycle with this rank's block: copied, or with
  // `borrow`, sent straight from own_block, which must then stay valid and
  // unchanged until the cycle completes or the rotation is destroyed.
  Status start_blocks(const void* own_block, bool borrow = false);
  // Blocks mode: advances to the next step (waits for its block).
  Status wait_next();

  // Gradients mode: begins a cycle.
  Status start_gradients();
  // Gradients mode: adds `partial` to the accumulator of the current block
  // and sends it on; advances to the next step.
  Status accumulate(const void* partial);
  // Gradients mode, after steps() accumulates: this rank's total.
  Status finish(void* result);

 private:
  struct Transfer {
    int dim, src, dst, consumed_at;
    RequestPtr request;
  };
  NdRingRotation(Communicator& comm, const RankLayout& layout, size_t count,
                 tidal_dtype_t dtype, Mode mode);
  static constexpr int kNoBuffer = -1, kBorrowed = -2;  // buffer ids besides the pool's
  const char* data_of(int id) const;
  int free_buffer();
  Status launch_forwards();
  Status send_accumulator();
  Status settle(const RequestPtr& request, Communicator& comm);
  void drain();

  Communicator& comm_;
  RotationOrder order_;
  const int rank_;
  const size_t count_;
  const tidal_dtype_t dtype_;
  const size_t bytes_;
  const Mode mode_;
  std::vector<std::unique_ptr<Communicator>> dim_comms_;  // blocks mode
  std::unique_ptr<Communicator> private_comm_;            // gradients mode
  int abort_hook_ = -1;  // on comm_: aborts the communicators above
  std::vector<std::vector<char>> buffers_;
  std::vector<Transfer> pending_;
  RequestPtr grad_request_;
  int current_ = kNoBuffer;       // the buffer id of the current block
  const char* borrowed_ = nullptr;  // the caller's block (id kBorrowed), borrowed starts
  int step_ = 0;
  bool running_ = false;
  int accumulated_ = 0;
  Status broken_;
};

}  // namespace tidal
