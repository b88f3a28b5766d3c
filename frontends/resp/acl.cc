#include "frontends/resp/acl.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "frontends/resp/command_table.h"
#include "frontends/resp/pubsub.h"

namespace redcar::resp {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Which categories a command slot is in. Redis's own categories; those of
// the types redcar does not keep (lists, sets, ...) are there and empty.
enum Category : uint8_t {
  kKeyspace, kRead, kWriteCat, kSet, kSortedSet, kList, kHash, kString, kBitmap, kHyperLogLog, kGeo, kStream,
  kPubSub, kAdmin, kFast, kSlow, kBlockingCat, kDangerous, kConnection, kTransaction, kScripting, kCategoryCount
};

using Names = std::unordered_set<std::string_view>;

const Names kKeyspaceNames = {"del", "unlink", "exists", "type", "keys", "scan", "rename", "renamenx", "copy",
                              "touch", "randomkey", "dbsize", "expire", "pexpire", "expireat", "pexpireat", "ttl",
                              "pttl", "expiretime", "pexpiretime", "persist", "object", "flushdb", "flushall",
                              "move", "swapdb"};
const Names kStringNames = {"get", "set", "mget", "mset", "msetnx", "setnx", "setex", "psetex", "getex",
                            "getdel", "getset", "incr", "decr", "incrby", "decrby", "incrbyfloat", "append",
                            "strlen", "getrange", "setrange", "substr"};
const Names kHashNames = {"hset", "hsetnx", "hmset", "hget", "hmget", "hgetall", "hdel", "hexists", "hlen",
                          "hkeys", "hvals", "hincrby", "hincrbyfloat", "hstrlen", "hrandfield", "hscan"};
const Names kPubSubNames = {"publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "pubsub",
                            "spublish", "ssubscribe", "sunsubscribe"};
// ACL's subcommands one by one (admin and dangerous): WHOAMI, CAT and
// GENPASS are for anyone.
const Names kAclAdminNames = {"acl|setuser", "acl|getuser", "acl|deluser", "acl|list", "acl|users",
                              "acl|log",     "acl|dryrun",  "acl|save",    "acl|load"};
const Names kAdminNames = {"config", "shutdown", "debug", "slowlog", "latency", "save", "bgsave",
                           "bgrewriteaof", "client|kill", "client|pause", "client|unpause",
                           "client|list", "client|no-evict", "client|no-touch", "monitor", "lastsave"};
const Names kDangerousNames = {"flushall", "flushdb", "keys", "config", "shutdown", "debug", "save",
                               "bgsave", "bgrewriteaof", "client|kill", "client|list", "client|pause", "info",
                               "slowlog", "latency", "swapdb", "role"};
const Names kConnectionNames = {"auth", "hello", "ping", "echo", "select", "quit", "reset", "client", "command"};
const Names kTransactionNames = {"multi", "exec", "discard", "watch", "unwatch"};
const Names kFastNames = {"get", "set", "setnx", "setex", "psetex", "getdel", "getex", "getset", "incr", "decr",
                          "incrby", "decrby", "incrbyfloat", "append", "strlen", "mget", "exists", "type", "ttl",
                          "pttl", "expire", "pexpire", "expireat", "pexpireat", "expiretime", "pexpiretime",
                          "persist", "touch", "unlink", "ping", "echo", "auth", "hello", "select", "time",
                          "lastsave", "dbsize", "multi", "discard", "watch", "unwatch", "xadd", "xlen", "xack",
                          "xdel", "xsetid", "publish", "spublish", "asking", "readonly", "readwrite", "hset",
                          "hsetnx", "hmset", "hget", "hmget", "hdel", "hexists", "hlen", "hincrby",
                          "hincrbyfloat", "hstrlen"};

// A slot's parent name alone ("client" of "client|kill").
std::string_view parent_name(std::string_view slot) { return slot.substr(0, slot.find('|')); }

bool named(const Names& names, std::string_view slot) {
  return names.count(slot) || names.count(parent_name(slot));
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The channels a call names, and whether they are patterns (PSUBSCRIBE).
bool channels_of(std::string_view name, Args args, std::vector<std::string_view>* out, bool* patterns) {
  *patterns = name == "psubscribe";
  if (name == "publish" || name == "spublish") {
    if (args.size() > 1) out->push_back(args[1]);
    return true;
  }
  if (name == "subscribe" || name == "ssubscribe" || name == "psubscribe") {
    for (size_t i = 1; i < args.size(); ++i) out->push_back(args[i]);
    return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string_view>& Acl::categories() {
  static const std::vector<std::string_view> kNames = {
      "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
      "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction",
      "scripting"};
  return kNames;
}

Acl::Acl(const CommandTable& table, const std::string& requirepass) : table_(table), requirepass_(requirepass) {
  slot_categories_.resize(table.slot_count());
  for (size_t slot = 0; slot < table.slot_count(); ++slot) {
    const std::string& name = table.slot_name(slot);
    const Command& cmd = table.parent_of(slot);
    uint64_t bits = 0;
    auto add = [&bits](Category c) { bits |= uint64_t{1} << c; };
    if (cmd.flags & kReadOnly) add(kRead);
    if (cmd.flags & kWrite) add(kWriteCat);
    if (cmd.flags & (kBlocking | kAlwaysBlocks)) add(kBlockingCat);
    if (named(kKeyspaceNames, name)) add(kKeyspace);
    if (named(kStringNames, name)) add(kString);
    if (named(kHashNames, name)) add(kHash);
    if (parent_name(name).front() == 'x') add(kStream);
    if (named(kPubSubNames, name)) add(kPubSub);
    if (named(kAdminNames, name) || kAclAdminNames.count(name)) add(kAdmin);
    if (named(kDangerousNames, name) || kAclAdminNames.count(name)) add(kDangerous);
    if (named(kConnectionNames, name)) add(kConnection);
    if (named(kTransactionNames, name)) add(kTransaction);
    add(named(kFastNames, name) ? kFast : kSlow);
    slot_categories_[slot] = bits;
  }
  auto d = std::make_shared<User>();
  d->name = "default";
  d->enabled = true;
  d->nopass = requirepass.empty();
  if (!requirepass.empty()) d->passwords.push_back(sha256_hex(requirepass));
  d->allowed.assign(table.slot_count(), 1);
  d->command_rules = {"+@all"};
  d->keys.push_back({"*", true, true});
  d->channels.push_back("*");
  settle(*d);
  users_.emplace("default", std::move(d));
}

std::string Acl::sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

Acl::UserPtr Acl::find(std::string_view name) const {
  std::lock_guard lk(mu_);
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

Acl::UserPtr Acl::authenticate(std::string_view name, std::string_view password) const {
  UserPtr u = find(name);
  if (!u || !u->enabled) return nullptr;
  if (u->nopass) return u;
  const std::string h = sha256_hex(password);
  return std::find(u->passwords.begin(), u->passwords.end(), h) != u->passwords.end() ? u : nullptr;
}

bool Acl::default_is_open() const {
  UserPtr d = find("default");
  return d && d->enabled && d->nopass;
}

std::string Acl::requirepass() const {
  std::lock_guard lk(mu_);
  return requirepass_;
}

void Acl::set_requirepass(std::string_view password) {
  std::lock_guard lk(mu_);
  requirepass_ = std::string(password);
  auto d = std::make_shared<User>(*users_.at("default"));
  d->passwords.clear();
  d->nopass = password.empty();
  if (!password.empty()) d->passwords.push_back(sha256_hex(password));
  users_["default"] = std::move(d);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

void Acl::allow(User& u, const std::vector<size_t>& slots, bool on) const {
  for (size_t s : slots) u.allowed[s] = on ? 1 : 0;
}

bool Acl::slots_in(std::string_view category, std::vector<size_t>* slots) const {
  if (category == "all") {
    for (size_t s = 0; s < table_.slot_count(); ++s) slots->push_back(s);
    return true;
  }
  const auto& names = categories();
  auto it = std::find(names.begin(), names.end(), category);
  if (it == names.end()) return false;
  const uint64_t bit = uint64_t{1} << (it - names.begin());
  for (size_t s = 0; s < table_.slot_count(); ++s) {
    if (slot_categories_[s] & bit) slots->push_back(s);
  }
  return true;
}

std::string Acl::apply(User& u, std::string_view rule) const {
  const std::string low = lower(rule);
  if (low == "on" || low == "off") {
    u.enabled = low == "on";
  } else if (low == "nopass") {
    u.nopass = true;
    u.passwords.clear();
  } else if (low == "resetpass") {
    u.nopass = false;
    u.passwords.clear();
  } else if (rule.front() == '>' || rule.front() == '#') {
    std::string h = rule.front() == '>' ? sha256_hex(rule.substr(1)) : std::string(rule.substr(1));
    if (!is_hex64(h)) return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    if (std::find(u.passwords.begin(), u.passwords.end(), h) == u.passwords.end()) u.passwords.push_back(h);
    u.nopass = false;
  } else if (rule.front() == '<' || rule.front() == '!') {
    std::string h = rule.front() == '<' ? sha256_hex(rule.substr(1)) : std::string(rule.substr(1));
    auto it = std::find(u.passwords.begin(), u.passwords.end(), h);
    if (it == u.passwords.end()) return "The password you are trying to remove from the user does not exist";
    u.passwords.erase(it);
  } else if (low == "allkeys" || rule.front() == '~' || rule.front() == '%') {
    KeyPattern p;
    if (low == "allkeys") {
      p.glob = "*";
    } else if (rule.front() == '~') {
      p.glob = std::string(rule.substr(1));
    } else {
      size_t tilde = rule.find('~');
      if (tilde == std::string_view::npos || tilde == 1) return "Syntax error";
      std::string_view perms = rule.substr(1, tilde - 1);
      p.read = p.write = false;
      for (char c : perms) {
        if (c == 'R' || c == 'r') p.read = true;
        else if (c == 'W' || c == 'w') p.write = true;
        else return "Syntax error";
      }
      p.glob = std::string(rule.substr(tilde + 1));
    }
    u.keys.push_back(std::move(p));
  } else if (low == "resetkeys") {
    u.keys.clear();
  } else if (low == "allchannels" || rule.front() == '&') {
    u.channels.push_back(low == "allchannels" ? "*" : std::string(rule.substr(1)));
  } else if (low == "resetchannels") {
    u.channels.clear();
  } else if (low == "allcommands" || low == "nocommands") {
    return apply(u, low == "allcommands" ? "+@all" : "-@all");
  } else if (rule.front() == '+' || rule.front() == '-') {
    const bool on = rule.front() == '+';
    std::string_view what = std::string_view(low).substr(1);
    std::vector<size_t> slots;
    if (!what.empty() && what.front() == '@') {
      if (!slots_in(what.substr(1), &slots)) return "Unknown command or category name in ACL";
    } else {
      const Command* cmd = table_.find(parent_name(what));
      if (!cmd) return "Unknown command or category name in ACL";
      size_t bar = what.find('|');
      for (size_t s = 0; s < table_.slot_count(); ++s) {
        const std::string& n = table_.slot_name(s);
        // A command takes its subcommands along; a subcommand is itself.
        if (bar == std::string_view::npos ? parent_name(n) == what : n == what) slots.push_back(s);
      }
      if (slots.empty()) return "Unknown command or category name in ACL";
    }
    allow(u, slots, on);
    if (what == "@all") u.command_rules.clear();
    u.command_rules.push_back(std::string(1, rule.front()) + std::string(what));
  } else if (low == "reset") {
    for (std::string_view r : {"resetpass", "resetkeys", "resetchannels", "off", "-@all"}) apply(u, r);
  } else if (low == "sanitize-payload" || low == "skip-sanitize-payload") {
    // Accepted: redcar keeps no payloads that would need sanitizing.
  } else {
    return "Syntax error";
  }
  return "";
}

void Acl::settle(User& u) {
  u.all_keys = std::any_of(u.keys.begin(), u.keys.end(), [](const KeyPattern& p) {
    return p.glob == "*" && p.read && p.write;
  });
  u.all_channels = std::find(u.channels.begin(), u.channels.end(), "*") != u.channels.end();
}

std::string Acl::set_user(std::string_view name, Args rules) {
  std::lock_guard lk(mu_);
  auto it = users_.find(name);
  User u;
  if (it != users_.end()) {
    u = *it->second;
  } else {
    u.name = std::string(name);
    u.allowed.assign(table_.slot_count(), 0);
    u.command_rules = {"-@all"};
  }
  for (std::string_view r : rules) {
    if (r.empty()) return "ERR Error in ACL SETUSER modifier '': Syntax error";
    if (std::string why = apply(u, r); !why.empty()) {
      return "ERR Error in ACL SETUSER modifier '" + std::string(r) + "': " + why;
    }
  }
  settle(u);
  users_[std::string(name)] = std::make_shared<const User>(std::move(u));
  version_.fetch_add(1, std::memory_order_acq_rel);
  return "";
}

size_t Acl::delete_users(Args names) {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (std::string_view name : names) {
    if (name == "default") continue;
    n += users_.erase(std::string(name));
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
  return n;
}

std::vector<Acl::UserPtr> Acl::users() const {
  std::lock_guard lk(mu_);
  std::vector<UserPtr> out;
  for (auto& [n, u] : users_) out.push_back(u);
  return out;
}

std::string Acl::describe(const User& u) {
  std::string s = "user " + u.name + (u.enabled ? " on" : " off");
  if (u.nopass) s += " nopass";
  for (auto& p : u.passwords) s += " #" + p;
  for (auto& k : u.keys) {
    s += k.read && k.write ? " ~" : k.read ? " %R~" : " %W~";
    s += k.glob;
  }
  const bool all_channels = std::find(u.channels.begin(), u.channels.end(), "*") != u.channels.end();
  if (all_channels) {
    s += " &*";
  } else {
    s += " resetchannels";
    for (auto& c : u.channels) s += " &" + c;
  }
  for (auto& r : u.command_rules) s += " " + r;
  return s;
}

Acl::Denied Acl::check(const User& u, const Command& cmd, size_t slot, Args args, std::string* object) const {
  if (!u.allowed[slot]) {
    *object = table_.slot_name(slot);
    return Denied::kCommand;
  }
  const bool write = cmd.flags & kWrite;
  const bool read = !write || (cmd.flags & kReadOnly);
  if (!u.all_keys && !(cmd.flags & kChannelKeys)) {
    for (size_t pos : key_positions(cmd, args)) {
      std::string_view key = args[pos];
      bool ok = std::any_of(u.keys.begin(), u.keys.end(), [&](const KeyPattern& p) {
        return (!read || p.read) && (!write || p.write) && glob_match(p.glob, key);
      });
      if (!ok) {
        *object = std::string(key);
        return Denied::kKey;
      }
    }
  }
  if (u.all_channels) return Denied::kNone;
  std::vector<std::string_view> channels;
  bool patterns = false;
  if (channels_of(parent_name(table_.slot_name(slot)), args, &channels, &patterns)) {
    for (std::string_view ch : channels) {
      bool ok = std::any_of(u.channels.begin(), u.channels.end(), [&](const std::string& p) {
        // A pattern subscription must be one of the user's patterns as
        // written (or all channels), as in Redis.
        return p == "*" || (patterns ? p == ch : glob_match(p, ch));
      });
      if (!ok) {
        *object = std::string(ch);
        return Denied::kChannel;
      }
    }
  }
  return Denied::kNone;
}

void Acl::log(std::string reason, std::string context, std::string object, std::string username,
              std::string client_info) {
  constexpr size_t kMaxEntries = 128;
  constexpr int64_t kGroupMs = 60'000;
  const int64_t now = wall_ms();
  std::lock_guard lk(mu_);
  for (auto it = log_.begin(); it != log_.end(); ++it) {
    if (it->reason == reason && it->context == context && it->object == object && it->username == username &&
        now - it->updated_ms < kGroupMs) {
      LogEntry e = std::move(*it);
      log_.erase(it);
      e.count++;
      e.updated_ms = now;
      e.client_info = std::move(client_info);
      log_.insert(log_.begin(), std::move(e));
      return;
    }
  }
  LogEntry e;
  e.reason = std::move(reason);
  e.context = std::move(context);
  e.object = std::move(object);
  e.username = std::move(username);
  e.client_info = std::move(client_info);
  e.created_ms = e.updated_ms = now;
  e.entry_id = next_log_id_++;
  log_.insert(log_.begin(), std::move(e));
  if (log_.size() > kMaxEntries) log_.pop_back();
}

std::vector<Acl::LogEntry> Acl::log_entries(size_t count) const {
  std::lock_guard lk(mu_);
  return std::vector<LogEntry>(log_.begin(), log_.begin() + static_cast<ptrdiff_t>(std::min(count, log_.size())));
}

void Acl::reset_log() {
  std::lock_guard lk(mu_);
  log_.clear();
}

}  // namespace redcar::resp
