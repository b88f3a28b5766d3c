// The STREAM[:FROM[:TO]] argument of subscribe, inspect and migrate, and `*`
// for every stream. Numbers are taken from the right, so a stream name may
// itself hold colons ("a:b:5" is stream "a:b" from 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redcar::ctl {

struct StreamTarget {
  bool all = false;              // `*`
  std::string stream;            // when not all
  std::optional<uint64_t> from;  // absent: the beginning
  std::optional<uint64_t> to;    // absent: no end
};

// False and a message on an empty name or FROM > TO. `allow_to` false
// rejects a TO (migrate takes STREAM[:FROM]).
bool parse_stream_target(std::string_view text, bool allow_to, StreamTarget* out, std::string* error);

bool parse_u64(std::string_view text, uint64_t* out);

}  // namespace redcar::ctl
