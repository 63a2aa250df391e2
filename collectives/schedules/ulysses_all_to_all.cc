#include "collectives/schedules/ulysses_all_to_all.h"

#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "collectives/schedules/schedule_entry.h"
#include "lib/core/dtype.h"

namespace tidal {
namespace {

// Copies rows between [seq][heads][dim] (all heads) and [group][seq]
// [heads/P][dim] (heads grouped by destination rank), in either direction.
void regroup(const UlyssesShape& sh, size_t group_count, size_t es, const char* from,
             char* to, bool to_grouped) {
  const size_t hp = sh.heads / group_count, row = hp * sh.head_dim * es;
  for (size_t g = 0; g < group_count; ++g) {
    for (size_t s = 0; s < sh.seq_local; ++s) {
      const size_t all_heads = (s * sh.heads + g * hp) * sh.head_dim * es;
      const size_t grouped = (g * sh.seq_local + s) * row;
      if (to_grouped) std::memcpy(to + grouped, from + all_heads, row);
      else std::memcpy(to + all_heads, from + grouped, row);
    }
  }
}

Status check_shape(const UlyssesShape& sh, int group, tidal_dtype_t dtype, size_t* block) {
  const size_t p = static_cast<size_t>(group);
  if (!dtype_valid(dtype)) return Status(TIDAL_ERR_INVALID_ARGUMENT, "ulysses: unknown dtype");
  if (sh.heads % p != 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("ulysses: {} heads do not split over {} ranks", sh.heads, group));
  }
  const double elements = static_cast<double>(sh.seq_local) * static_cast<double>(sh.heads) *
                          static_cast<double>(sh.head_dim) * static_cast<double>(dtype_size(dtype));
  if (elements > static_cast<double>(size_t(1) << 48)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "ulysses: shape overflows");
  }
  *block = sh.seq_local * (sh.heads / p) * sh.head_dim;  // elements per rank pair
  return Status();
}

}  // namespace

Status queue_ulysses_all_to_all(Communicator& comm, const void* in, void* out,
                                const UlyssesShape& sh, tidal_dtype_t dtype, bool seq_to_heads,
                                RequestPtr* request) {
  size_t block = 0;
  TIDAL_RETURN_IF_ERROR(check_shape(sh, comm.size(), dtype, &block));
  // Checks the user's buffers as an all-to-all of the same size would.
  CollectiveCall user{CollKind::kAllToAll, in, out, block, dtype, TIDAL_SUM, 0};
  TIDAL_RETURN_IF_ERROR(validate_collective(user, comm.rank(), comm.size(),
                                            comm.transport().memory_kind())
                            .with_context("ulysses"));
  const size_t es = dtype_size(dtype), groups = static_cast<size_t>(comm.size());
  auto scratch = std::make_shared<std::vector<char>>(block * groups * es);
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);
  if (seq_to_heads) {
    comm.submit("ulysses pack", [=](const ExecContext&) {
      regroup(sh, groups, es, src, scratch->data(), true);
      return Status();
    });
  }
  CollectiveCall a2a{CollKind::kAllToAll, seq_to_heads ? scratch->data() : in,
                     seq_to_heads ? out : scratch->data(), block, dtype, TIDAL_SUM, 0};
  RequestPtr exchanged;
  TIDAL_RETURN_IF_ERROR(queue_collective(comm, a2a, TIDAL_SCHEDULE_UNSET, &exchanged));
  // The last item keeps the scratch alive until the exchange is done.
  *request = comm.submit("ulysses unpack", [=](const ExecContext&) {
    if (!seq_to_heads) regroup(sh, groups, es, scratch->data(), dst, false);
    return Status();
  });
  return Status();
}

}  // namespace tidal
