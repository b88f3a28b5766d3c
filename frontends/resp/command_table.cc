#include "frontends/resp/command_table.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "frontends/resp/server.h"

namespace redcar::resp {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool parse_int(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_uint(std::string_view s, uint64_t* out) {
  if (s.empty() || s[0] == '-') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void write_status_error(ReplyWriter& w, const Status& s) {
  const std::string& m = s.message();
  // Messages that already carry a Redis error code pass through.
  auto has_code = [&](std::string_view code) { return m.rfind(code, 0) == 0; };
  if (has_code("NOGROUP") || has_code("BUSYGROUP") || has_code("WRONGTYPE") || has_code("ERR ") || has_code("NOAUTH")) {
    return w.error(m);
  }
  switch (s.code()) {
    case Code::kWrongType: return w.error("WRONGTYPE Operation against a key holding the wrong kind of value");
    case Code::kNoSpace: return w.error("MISCONF " + m);
    case Code::kIoError:
    case Code::kUnavailable: return w.error("IOERR " + m);
    default: return w.error("ERR " + m);
  }
}

void reply_error(Reply& r, std::string_view message) {
  r.w().error(message);
  r.done();
}

void reply_syntax_error(Reply& r) { reply_error(r, "ERR syntax error"); }

void reply_wrong_arity(Reply& r, std::string_view cmd) {
  reply_error(r, "ERR wrong number of arguments for '" + std::string(cmd) + "' command");
}

CommandTable::CommandTable() {
  add_server_commands(commands_);
  add_key_commands(commands_);
  add_stream_commands(commands_);
  add_group_commands(commands_);
  add_pubsub_commands(commands_);
  for (size_t i = 0; i < commands_.size(); ++i) by_name_[lower(commands_[i].name)] = i;
}

const Command* CommandTable::find(std::string_view name) const {
  if (name.size() > 32) return nullptr;
  char buf[32] = {};  // initialised: g++ 12 cannot see that the loop fills what is hashed
  for (size_t i = 0; i < name.size(); ++i) buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  auto it = by_name_.find(std::string_view(buf, name.size()));
  return it == by_name_.end() ? nullptr : &commands_[it->second];
}

}  // namespace redcar::resp
