// ACL users of the RESP front end, as Redis 7.0 has them without selectors
// and without an ACL file: users live in memory (ACL SAVE and LOAD say there
// is no file), `default` is on with every permission, and --requirepass is
// its password. A user's permissions are a command rule per command slot
// (CommandTable's: commands, then "parent|sub" subcommands), key patterns
// for reads and writes, and channel patterns.
//
// A published user is never changed: ACL SETUSER builds a new one and
// replaces it, and bumps version(), which each connection compares with its
// own before a command (one atomic load) to pick the new one up. Passwords
// are kept as SHA-256 hex, as Redis keeps them (ACL GETUSER shows them so).
// The ACL LOG of refusals is kept here too, under the same lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redcar::resp {

class CommandTable;
struct Command;
using Args = std::span<const std::string_view>;

class Acl {
 public:
  struct KeyPattern {
    std::string glob;
    bool read = true, write = true;
  };
  struct User {
    std::string name;
    bool enabled = false;
    bool nopass = false;
    std::vector<std::string> passwords;  // SHA-256, lower-case hex
    std::vector<uint8_t> allowed;        // by command slot
    std::vector<std::string> command_rules;  // as ACL LIST shows them
    std::vector<KeyPattern> keys;
    std::vector<std::string> channels;
    // Set when published: nothing to check for the keys or the channels
    // (so `default`, as it starts, costs no key lookup per command).
    bool all_keys = false, all_channels = false;
  };
  using UserPtr = std::shared_ptr<const User>;

  Acl(const CommandTable& table, const std::string& requirepass);

  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  UserPtr find(std::string_view name) const;
  // The user AUTH logs in as: enabled, and the password one of its own (or
  // it has nopass). Null otherwise.
  UserPtr authenticate(std::string_view name, std::string_view password) const;
  // Whether a new connection is logged in as `default` from the start.
  bool default_is_open() const;
  // CONFIG's requirepass: the default user's one password (empty: nopass),
  // kept as given, as Redis keeps it for CONFIG GET.
  std::string requirepass() const;
  void set_requirepass(std::string_view password);
  // Creates or changes a user by Redis's rules; "" or the error to answer.
  std::string set_user(std::string_view name, Args rules);
  // How many of `names` were deleted (`default` cannot be).
  size_t delete_users(Args names);
  std::vector<UserPtr> users() const;
  // A user as ACL LIST shows it ("user bob on #... ~app:* ... +get").
  static std::string describe(const User& u);

  static const std::vector<std::string_view>& categories();
  // The command slots in `category` (false: no such category).
  bool slots_in(std::string_view category, std::vector<size_t>* slots) const;

  enum class Denied { kNone, kCommand, kKey, kChannel };
  // Whether `u` may run this call; `object` names what was refused.
  Denied check(const User& u, const Command& cmd, size_t slot, Args args, std::string* object) const;

  // ACL LOG: refusals, newest first, grouped as Redis groups them (same
  // reason, context, object and user within 60 s).
  struct LogEntry {
    uint64_t count = 1;
    std::string reason, context, object, username, client_info;
    int64_t created_ms = 0, updated_ms = 0;
    uint64_t entry_id = 0;
  };
  void log(std::string reason, std::string context, std::string object, std::string username,
           std::string client_info);
  std::vector<LogEntry> log_entries(size_t count) const;
  void reset_log();

  static std::string sha256_hex(std::string_view text);

 private:
  static void settle(User& u);
  // Applies one rule to `u`; "" or the reason it is refused.
  std::string apply(User& u, std::string_view rule) const;
  void allow(User& u, const std::vector<size_t>& slots, bool on) const;
  uint64_t category_bits(size_t slot) const { return slot_categories_[slot]; }

  const CommandTable& table_;
  std::vector<uint64_t> slot_categories_;  // a bit per categories() entry
  mutable std::mutex mu_;
  std::map<std::string, UserPtr, std::less<>> users_;
  std::atomic<uint64_t> version_{1};
  std::string requirepass_;
  std::vector<LogEntry> log_;  // newest first
  uint64_t next_log_id_ = 0;
};

}  // namespace redcar::resp
