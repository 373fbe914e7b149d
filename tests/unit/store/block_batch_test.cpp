// The batch frame format (store/block_batch.hpp): round trips, any chunking, malformed input.
#include <gtest/gtest.h>

#include "store/block_batch.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

Hash id_of(uint8_t n) {
  Hash h{};
  h.fill(n);
  return h;
}

// Three frames: present, missing, present and empty.
Bytes sample(const Bytes& a) {
  std::span<const uint8_t> sa(a), empty;
  Bytes out = encode_batch_frame(id_of(1), &sa);
  Bytes missing = encode_batch_frame(id_of(2), nullptr);
  Bytes last = encode_batch_frame(id_of(3), &empty);
  out.insert(out.end(), missing.begin(), missing.end());
  out.insert(out.end(), last.begin(), last.end());
  return out;
}

Result<std::vector<BatchFrame>> decode(std::span<const uint8_t> body, size_t piece, BatchDecoder& d) {
  std::vector<BatchFrame> frames;
  for (size_t at = 0; at < body.size(); at += piece) {
    TRY(d.feed(body.subspan(at, std::min(piece, body.size() - at)), [&](BatchFrame&& f) -> Result<void> {
      frames.push_back(std::move(f));
      return {};
    }));
  }
  return frames;
}

}  // namespace

TEST(BlockBatch, HeaderLayoutIsTheContract) {
  auto h = batch_frame_header(id_of(7), BatchStatus::present, 0x01020304);
  EXPECT_EQ(h.size(), 37u);
  EXPECT_EQ(h[0], 7);
  EXPECT_EQ(h[31], 7);
  EXPECT_EQ(h[32], 0);
  EXPECT_EQ(h[33], 1);
  EXPECT_EQ(h[36], 4);
  EXPECT_EQ(batch_frame_header(id_of(7), BatchStatus::missing, 0)[32], 1);
}

TEST(BlockBatch, RoundTripsInAnyChunking) {
  Bytes a = test::random_bytes(70000, 3);
  Bytes body = sample(a);
  for (size_t piece : {size_t(1), size_t(2), size_t(36), size_t(37), size_t(38), size_t(4096), body.size()}) {
    BatchDecoder d;
    auto frames = decode(body, piece, d);
    ASSERT_TRUE(frames) << piece << ": " << frames.error().what();
    ASSERT_EQ(frames->size(), 3u) << piece;
    EXPECT_EQ((*frames)[0].id, id_of(1));
    EXPECT_EQ((*frames)[0].status, BatchStatus::present);
    EXPECT_EQ((*frames)[0].sealed, a);
    EXPECT_EQ((*frames)[1].id, id_of(2));
    EXPECT_EQ((*frames)[1].status, BatchStatus::missing);
    EXPECT_TRUE((*frames)[1].sealed.empty());
    EXPECT_EQ((*frames)[2].status, BatchStatus::present);
    EXPECT_TRUE((*frames)[2].sealed.empty());
    EXPECT_TRUE(d.at_boundary());
    EXPECT_EQ(d.frames(), 3u);
  }
}

TEST(BlockBatch, TruncatedBodyIsNotAtABoundary) {
  Bytes body = sample(test::random_bytes(1000, 4));
  for (size_t cut : {size_t(1), size_t(36), size_t(37), size_t(500), body.size() - 1}) {
    BatchDecoder d;
    auto frames = decode(std::span(body).first(cut), 1, d);
    ASSERT_TRUE(frames);
    EXPECT_FALSE(d.at_boundary()) << cut;
  }
}

TEST(BlockBatch, MalformedFramesAreRejected) {
  auto rejects = [](Bytes body, size_t max = kBatchMaxFrame) {
    BatchDecoder d(max);
    auto r = decode(body, 1, d);
    if (r) return false;
    EXPECT_EQ(r.error().kind, Errc::corrupt);
    EXPECT_FALSE(d.at_boundary());
    // Failed stays failed.
    EXPECT_FALSE(d.feed(Bytes(1), [](BatchFrame&&) -> Result<void> { return {}; }));
    return true;
  };
  auto h = batch_frame_header(id_of(1), BatchStatus::present, 0);
  Bytes bad_status(h.begin(), h.end());
  bad_status[32] = 2;
  EXPECT_TRUE(rejects(bad_status));
  auto m = batch_frame_header(id_of(1), BatchStatus::missing, 5);
  Bytes missing_with_bytes(m.begin(), m.end());
  missing_with_bytes.resize(m.size() + 5);
  EXPECT_TRUE(rejects(missing_with_bytes));
  // Oversize: refused from the header alone, before any of the body is buffered.
  auto big = batch_frame_header(id_of(1), BatchStatus::present, kBatchMaxFrame + 1);
  EXPECT_TRUE(rejects(Bytes(big.begin(), big.end())));
  auto huge = batch_frame_header(id_of(1), BatchStatus::present, 0xffffffff);
  EXPECT_TRUE(rejects(Bytes(huge.begin(), huge.end())));
  auto small = batch_frame_header(id_of(1), BatchStatus::present, 101);
  EXPECT_TRUE(rejects(Bytes(small.begin(), small.end()), 100));
}

TEST(BlockBatch, AnErrorFromTheReceiverStopsDecoding) {
  Bytes body = sample(test::random_bytes(10, 5));
  BatchDecoder d;
  size_t seen = 0;
  auto r = d.feed(body, [&](BatchFrame&&) -> Result<void> {
    if (++seen == 2) return fail(Errc::corrupt, "not the block asked for");
    return {};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(seen, 2u);
}
