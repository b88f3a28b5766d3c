// A client's recycled replies (Client::make_reply, reply.cc): the memory
// they keep stays within the client's budget however deep a pipeline went,
// and once the budget is reached the replies in steady use keep their
// buffers (the memory goes from those longest unused).
#include <gtest/gtest.h>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

// A reply answered with `bytes` bytes, held until the caller lets it go
// (on the client's thread: it is recycled). Returns the memory the reply
// came with.
size_t answer(LocalClient& c, std::vector<resp::ReplyPtr>* held, size_t bytes) {
  resp::ReplyPtr r = c.make_reply(c.next_slot++);
  size_t came_with = r->kept_bytes();
  r->w().bulk(std::string(bytes, 'x'));
  r->done();
  held->push_back(std::move(r));
  return came_with;
}

TEST(ReplyFreeList, ADeepPipelineKeepsNoMoreThanTheBudgetAndTheSteadyRepliesKeepTheirBuffers) {
  auto c = std::make_shared<LocalClient>();
  // 600 replies of 2 KB at once (1.2 MB), all let go: the budget holds.
  std::vector<resp::ReplyPtr> held;
  for (int i = 0; i < 600; ++i) answer(*c, &held, 2000);
  held.clear();
  EXPECT_LE(c->free_bytes(), resp::kMaxKeptBytesPerClient);
  EXPECT_GT(c->free_bytes(), resp::kMaxKeptBytesPerClient / 2) << "the budget is used, not dropped";
  // Then a pipeline of 8 at a time: its replies come back with their
  // buffers every round, though the deep one filled the budget.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 8; ++i) {
      size_t came_with = answer(*c, &held, 2000);
      if (round > 0) {
        EXPECT_GE(came_with, 2000u) << "round " << round << ", reply " << i;
      }
    }
    held.clear();
    EXPECT_LE(c->free_bytes(), resp::kMaxKeptBytesPerClient);
  }
  // A reply past the size kept alone comes back without its memory.
  answer(*c, &held, 2 * resp::kMaxKeptBufferBytes);
  held.clear();
  resp::ReplyPtr big = c->make_reply(c->next_slot++);
  EXPECT_LT(big->kept_bytes(), resp::kMaxKeptBufferBytes);
}

}  // namespace
}  // namespace redcar::test
