// An event as it lies in the log, lent to a reader for the length of one
// visit: views into a record that passed its checksum, nothing copied. A
// front end writes its reply straight from these on the shard's thread
// (Engine::read_views); Event is the owning form for everything else.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/common/body_codec.h"
#include "engine/common/types.h"

namespace redcar {

struct EventView {
  // The fields, name and value in turn, walked in place: `next` gives them
  // one by one and is false after the last.
  class Fields {
   public:
    Fields() = default;
    Fields(std::string_view bytes, uint64_t count) : bytes_(bytes), count_(count) {}
    uint64_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    bool next(std::string_view* name, std::string_view* value) {
      if (taken_ == count_ || !bytes_.str(name) || !bytes_.str(value)) return false;
      ++taken_;
      return true;
    }

   private:
    BodyReader bytes_{std::string_view()};
    uint64_t count_ = 0;
    uint64_t taken_ = 0;
  };

  std::string_view stream;
  uint64_t number = 0;
  StreamId id;
  int64_t timestamp_us = 0;
  std::string_view type;
  std::string_view data;
  Fields fields;
  std::string_view idempotency_id;
  std::string_view content_type;
};

}  // namespace redcar
