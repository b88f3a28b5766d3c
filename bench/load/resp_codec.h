// RESP on the client side, as a pure unit (no I/O): commands are written as
// arrays of bulk strings, replies are read back one at a time from the front
// of a buffer. The reader understands RESP2 and RESP3 replies of any nesting
// (up to kMaxDepth) but keeps only what a load generator checks: the type,
// an error's message, the top-level text or element count, and how many
// bulk-string bytes the reply carried in all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace redcar::load::resp {

inline constexpr int kMaxDepth = 16;

// Appends `*N\r\n$len\r\narg\r\n...` to `out`.
void append_command(std::string& out, std::initializer_list<std::string_view> args);

struct Reply {
  char type = 0;          // the first byte: '+', '-', ':', '$', '*', or a RESP3 type
  bool null = false;      // a null bulk string or array, or RESP3 '_'
  bool is_error = false;  // '-' or '!'
  std::string_view text;  // simple string, error, bulk string or number (top level; a view into the input)
  int64_t elements = 0;   // top-level aggregate: its element count (a map's pairs count twice)
  uint64_t bulk_bytes = 0;  // bytes of every bulk string inside, at any depth
};

enum class Parse { kComplete, kIncomplete, kMalformed };

// Reads the reply at the front of `in`. kComplete: *reply is filled and
// *consumed is its size in bytes. kIncomplete: more bytes are needed.
Parse parse_reply(std::string_view in, Reply* reply, size_t* consumed);

// parse_reply, and for an array or a RESP3 push also its first `max`
// elements, each read as a reply of its own (their `text` is what a flat
// aggregate such as a pub/sub message carries; nested aggregates keep only
// their count). Elements past reply->elements are left empty.
Parse parse_elements(std::string_view in, Reply* reply, Reply* elements, size_t max, size_t* consumed);

}  // namespace redcar::load::resp
