// stream_store: the same bytes as memcpy for every length and alignment
// around its 16-byte grid, and nothing written outside the destination.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "lib/core/stream_store.h"

namespace {

TEST(StreamStore, CopiesExactlyTheBytesAtEveryAlignmentAndLength) {
  std::vector<unsigned char> src(512);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 7 + 1);
  for (size_t dst_off = 0; dst_off < 16; ++dst_off) {
    for (size_t src_off = 0; src_off < 3; ++src_off) {
      for (size_t len : {0, 1, 5, 15, 16, 17, 31, 32, 33, 64, 100, 255, 400}) {
        alignas(64) unsigned char dst[512 + 64];
        std::memset(dst, 0xEE, sizeof dst);
        tidal::stream_store(dst + dst_off, src.data() + src_off, len);
        tidal::stream_fence();
        ASSERT_EQ(std::memcmp(dst + dst_off, src.data() + src_off, len), 0)
            << "dst+" << dst_off << " src+" << src_off << " len " << len;
        for (size_t i = 0; i < dst_off; ++i) ASSERT_EQ(dst[i], 0xEE) << "before, len " << len;
        for (size_t i = dst_off + len; i < sizeof dst; ++i) {
          ASSERT_EQ(dst[i], 0xEE) << "after, len " << len;
        }
      }
    }
  }
}

}  // namespace
