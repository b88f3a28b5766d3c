#include "frontends/resp/databases.h"

namespace redcar::resp {

namespace {
// Where `cmd` has keys in `a`. Shard channels (SPUBLISH, SSUBSCRIBE) take
// key positions but are channels, of no database.
std::vector<size_t> database_keys(const Command& cmd, Args a) {
  if (cmd.flags & kChannelKeys) return {};
  return key_positions(cmd, a);
}
}  // namespace

std::string stored_key(unsigned db, std::string_view key) {
  if (db == 0) return std::string(key);
  std::string out;
  out.reserve(key.size() + 2);
  out += '\0';
  out += static_cast<char>(db);
  out += key;
  return out;
}

std::string_view user_key(std::string_view stored) {
  return redis_database_of(stored) == 0 ? stored : stored.substr(2);
}

std::pair<std::string, std::string> database_range(unsigned db) {
  std::string first{'\0', static_cast<char>(db)};
  std::string end = db + 1 < kMaxDatabases ? std::string{'\0', static_cast<char>(db + 1)} : std::string(1, '\1');
  return {std::move(first), std::move(end)};
}

std::vector<std::pair<std::string, std::string>> database_ranges(unsigned db) {
  if (db != 0) return {database_range(db)};
  // From "\0" with range end "\0": every key from there on. "\0" and
  // "\0\0..." are database 0's.
  const std::string zero(1, '\0');
  return {{zero, database_range(1).first}, {std::string(1, '\1'), zero}};
}

Args keys_in_database(const Command& cmd, Args a, unsigned db, std::vector<std::string>& keys,
                      std::vector<std::string_view>& views) {
  if (db == 0) return a;
  std::vector<size_t> at = database_keys(cmd, a);
  if (at.empty()) return a;
  keys.resize(at.size());
  views.assign(a.begin(), a.end());
  for (size_t i = 0; i < at.size(); ++i) {
    keys[i] = stored_key(db, a[at[i]]);
    views[at[i]] = keys[i];
  }
  return Args(views.data(), views.size());
}

bool names_another_database(const Command& cmd, Args a) {
  // The usual case costs a look at each argument's first byte.
  bool any = false;
  for (size_t i = 1; i < a.size() && !any; ++i) any = a[i].size() >= 2 && a[i][0] == '\0';
  if (!any) return false;
  for (size_t i : database_keys(cmd, a)) {
    if (redis_database_of(a[i]) != 0) return true;
  }
  return false;
}

}  // namespace redcar::resp
