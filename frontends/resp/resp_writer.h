// The RESP reply writer: appends encoded replies to an output buffer the
// caller owns, in RESP2 or RESP3. Commands describe their reply once (a map,
// a boolean, a double) and the writer picks the wire form the connection
// negotiated with HELLO, so no command handler branches on the protocol.
//
// Invariants: every call appends one complete frame or frame header and
// nothing else; simple strings and errors never carry CR or LF, which would
// end the frame early and desynchronise the client. Aggregate headers
// (array, map, set, push) announce elements the caller must write next.
//
// Thread-safety: none; a writer belongs to one connection.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace redcar::resp {

class ReplyWriter {
 public:
  // `out` must outlive the writer. protocol_version is 2 or 3.
  explicit ReplyWriter(std::string& out, int protocol_version = 2)
      : out_(&out), protocol_(protocol_version >= 3 ? 3 : 2) {}

  // 2 or 3; anything above 3 is treated as 3, below as 2.
  void set_protocol(int version) { protocol_ = version >= 3 ? 3 : 2; }
  int protocol() const { return protocol_; }
  std::string& buffer() { return *out_; }

  // "+status\r\n"; CR and LF inside become spaces.
  void simple(std::string_view status);
  // "-ERR message\r\n". `message` starts with the error code ("ERR ...",
  // "WRONGTYPE ..."); a leading '-' is tolerated and not doubled. CR and LF
  // inside become spaces, as in Redis.
  void error(std::string_view message);
  void integer(int64_t value);
  void bulk(std::string_view value);
  // The null bulk string: "$-1" (RESP2), "_" (RESP3).
  void null();
  // The null array: "*-1" (RESP2), "_" (RESP3).
  void null_array();

  // Aggregate headers; the caller then writes the announced elements.
  void array(size_t count);
  // `pairs` key/value pairs follow, 2 * pairs elements. RESP2: "*<2n>".
  void map(size_t pairs);
  // RESP2: a plain array.
  void set(size_t count);
  // Out-of-band push (pub/sub messages). RESP2: a plain array.
  void push(size_t count);

  // RESP3 "#t"/"#f"; RESP2 the integer 1 or 0.
  void boolean(bool value);
  // RESP3 ",<v>"; RESP2 a bulk string. The shortest text that reads back as
  // the same double, in printf %g form ("1.5", "1e+20", "inf", "-inf", "nan").
  void double_value(double value);
  // RESP3 "=<len>\r\n<fmt>:<text>"; RESP2 a bulk string of `text` alone.
  // `format` is exactly three bytes ("txt", "mkd").
  void verbatim(std::string_view format, std::string_view text);

  // Bytes already in RESP (the answers EXEC gathered).
  void raw(std::string_view bytes) { out_->append(bytes); }

  // An array of bulk strings.
  void bulk_array(std::span<const std::string_view> items);
  // A stream ID, "<ms>-<seq>", as a bulk string.
  void bulk_id(uint64_t ms, uint64_t seq);

  // An array whose length is known only after its elements, as when a read
  // lends its entries one by one: open_array() marks where it starts, each
  // element is counted, and close_array() puts the header in front of them
  // (one move of what was written; Redis defers a length the same way). One
  // open at a time. drop_open_array() takes back what was written since the
  // open (a read that failed midway).
  void open_array();
  void count_element() { ++open_count_; }
  size_t open_count() const { return open_count_; }
  void close_array();
  void drop_open_array();

  // Where the reply's bytes end now, and taking back what was written since
  // (an answer started before it is known, as XREADGROUP's lent read).
  size_t written() const { return out_->size(); }
  void take_back(size_t mark) { out_->resize(mark); }

 private:
  void header(char type, int64_t value);
  void line_without_crlf(char type, std::string_view text);

  std::string* out_;
  int protocol_;
  size_t open_at_ = 0;
  size_t open_count_ = 0;
};

}  // namespace redcar::resp
