// The RESP reply writer (see resp_writer.h for the contract). Numbers are
// formatted with std::to_chars into a stack buffer, so a reply costs one or
// two appends to the output and no allocation beyond the buffer's growth.
#include "frontends/resp/resp_writer.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace redcar::resp {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Formats `value` as the shortest decimal that parses back to it, in the form
// printf's %g would use for that many digits. Redis 7.2 replies with the
// shortest round-trip text too; %.17g would turn 1.1 into 1.1000000000000001.
std::string_view format_double(double value, char (&buf)[64]) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest scientific form first, only to learn how many significant digits
  // are needed; then %g-style output with exactly that precision.
  char sci[64];
  auto r = std::to_chars(sci, sci + sizeof(sci), value, std::chars_format::scientific);
  int digits = 0;
  for (char* p = sci; p != r.ptr && *p != 'e'; ++p) {
    if (*p >= '0' && *p <= '9') ++digits;
  }
  r = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general, digits);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace

void ReplyWriter::header(char type, int64_t value) {
  char buf[24];
  buf[0] = type;
  auto r = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  out_->append(buf, static_cast<size_t>(r.ptr + 2 - buf));
}

void ReplyWriter::line_without_crlf(char type, std::string_view text) {
  const size_t start = out_->size();
  out_->push_back(type);
  out_->append(text);
  for (size_t i = start + 1; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append(kCrlf);
}

void ReplyWriter::simple(std::string_view status) { line_without_crlf('+', status); }

void ReplyWriter::error(std::string_view message) {
  if (!message.empty() && message.front() == '-') message.remove_prefix(1);
  line_without_crlf('-', message);
}

void ReplyWriter::integer(int64_t value) { header(':', value); }

void ReplyWriter::bulk(std::string_view value) {
  header('$', static_cast<int64_t>(value.size()));
  out_->append(value);
  out_->append(kCrlf);
}

void ReplyWriter::null() { out_->append(protocol_ == 3 ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::null_array() { out_->append(protocol_ == 3 ? "_\r\n" : "*-1\r\n"); }

void ReplyWriter::array(size_t count) { header('*', static_cast<int64_t>(count)); }

void ReplyWriter::map(size_t pairs) {
  if (protocol_ == 3) {
    header('%', static_cast<int64_t>(pairs));
  } else {
    header('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::set(size_t count) {
  header(protocol_ == 3 ? '~' : '*', static_cast<int64_t>(count));
}

void ReplyWriter::push(size_t count) {
  header(protocol_ == 3 ? '>' : '*', static_cast<int64_t>(count));
}

void ReplyWriter::boolean(bool value) {
  if (protocol_ == 3) {
    out_->append(value ? "#t\r\n" : "#f\r\n");
  } else {
    out_->append(value ? ":1\r\n" : ":0\r\n");
  }
}

void ReplyWriter::double_value(double value) {
  char buf[64];
  const std::string_view text = format_double(value, buf);
  if (protocol_ == 3) {
    out_->push_back(',');
    out_->append(text);
    out_->append(kCrlf);
  } else {
    bulk(text);
  }
}

void ReplyWriter::verbatim(std::string_view format, std::string_view text) {
  assert(format.size() == 3);
  if (protocol_ != 3) {
    bulk(text);
    return;
  }
  header('=', static_cast<int64_t>(format.size() + 1 + text.size()));
  out_->append(format);
  out_->push_back(':');
  out_->append(text);
  out_->append(kCrlf);
}

void ReplyWriter::bulk_id(uint64_t ms, uint64_t seq) {
  char id[48];
  auto r = std::to_chars(id, id + 20, ms);
  *r.ptr++ = '-';
  r = std::to_chars(r.ptr, r.ptr + 20, seq);
  bulk(std::string_view(id, static_cast<size_t>(r.ptr - id)));
}

void ReplyWriter::open_array() {
  open_at_ = out_->size();
  open_count_ = 0;
}

void ReplyWriter::close_array() {
  char buf[24];
  buf[0] = '*';
  auto r = std::to_chars(buf + 1, buf + sizeof(buf) - 2, open_count_);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  out_->insert(open_at_, buf, static_cast<size_t>(r.ptr + 2 - buf));
}

void ReplyWriter::drop_open_array() { out_->resize(open_at_); }

void ReplyWriter::bulk_array(std::span<const std::string_view> items) {
  array(items.size());
  for (std::string_view item : items) bulk(item);
}

}  // namespace redcar::resp
