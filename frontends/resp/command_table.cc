#include "frontends/resp/command_table.h"
#include "frontends/resp/databases.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <unordered_map>


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
  // Redis has one text per cause; the engine says which cause it was.
  switch (s.reason()) {
    case Reason::kIdZero: return w.error("ERR The ID specified in XADD must be greater than 0-0");
    case Reason::kIdNotAfterLast:
      return w.error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
    case Reason::kLastIdBelowTop:
      return w.error("ERR The ID specified in XSETID is smaller than the target stream top item");
    case Reason::kEntriesAddedBelowLength:
      return w.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
    case Reason::kNoStream: return w.error("ERR no such key");
    case Reason::kGroupExists: return w.error("BUSYGROUP Consumer Group name already exists");
    default: break;
  }
  const std::string& m = s.message();
  switch (s.code()) {
    case Code::kWrongType: return w.error("WRONGTYPE Operation against a key holding the wrong kind of value");
    case Code::kNoSpace: return w.error("MISCONF " + m);
    case Code::kIoError:
    case Code::kUnavailable: return w.error("IOERR " + m);
    default: return w.error("ERR " + m);
  }
}

void reply_status_error(Reply& r, const Status& s) {
  write_status_error(r.w(), s);
  r.done();
}

void write_group_error(ReplyWriter& w, const Status& s, std::string_view key, std::string_view group,
                       NoGroupText text) {
  bool missing = s.code() == Code::kNotFound && (s.reason() == Reason::kNoGroup || s.reason() == Reason::kNoStream);
  // XGROUP SETID tells a missing key apart; the others name key and group.
  if (!missing || (text == NoGroupText::kGroupForKey && s.reason() == Reason::kNoStream)) {
    return write_status_error(w, s);
  }
  std::string k(key), g(group);
  switch (text) {
    case NoGroupText::kKeyOrGroup: return w.error("NOGROUP No such key '" + k + "' or consumer group '" + g + "'");
    case NoGroupText::kKeyOrGroupInReadGroup:
      return w.error("NOGROUP No such key '" + k + "' or consumer group '" + g + "' in XREADGROUP with GROUP option");
    case NoGroupText::kGroupForKey:
      return w.error("NOGROUP No such consumer group '" + g + "' for key name '" + k + "'");
  }
}

void reply_error(Reply& r, std::string_view message) {
  r.w().error(message);
  r.done();
}

void reply_syntax_error(Reply& r) { reply_error(r, "ERR syntax error"); }

void reply_text(Reply& r, std::string_view text) {
  if (r.protocol() == 3) r.w().verbatim("txt", text);
  else r.w().bulk(text);
  r.done();
}

void reply_help(Reply& r, std::span<const char* const> lines) {
  r.w().array(lines.size());
  for (const char* line : lines) r.w().simple(line);
  r.done();
}

void reply_unknown_subcommand(Context& ctx, Reply& r, Args a) {
  std::string slot = lower(a[0]) + "|" + lower(a[1].substr(0, 128));
  for (size_t i = 0; i < ctx.commands.slot_count(); ++i) {
    if (ctx.commands.slot_name(i) == slot) {
      r.mark_rejected();
      return reply_error(r, "ERR wrong number of arguments for '" + slot + "' command");
    }
  }
  std::string upper(a[0]);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  reply_error(r, "ERR unknown subcommand '" + std::string(a[1].substr(0, 128)) + "'. Try " + upper + " HELP.");
}

void reply_wrong_arity(Reply& r, std::string_view cmd) {
  reply_error(r, "ERR wrong number of arguments for '" + std::string(cmd) + "' command");
}

namespace {
// The commands of lists, sets and sorted sets, which redcar does not keep:
// a client hears why instead of "unknown command", and COMMAND does not
// claim them.
bool names_unkept_type(std::string_view name, const char** kind) {
  static const std::unordered_map<std::string, std::string_view> kCommands = [] {
    std::unordered_map<std::string, std::string_view> m;
    for (std::string_view n : std::initializer_list<std::string_view>{
         "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LLEN", "LRANGE", "LINDEX", "LSET", "LREM",
         "LTRIM", "LINSERT", "LPOS", "LMOVE", "BLMOVE", "RPOPLPUSH", "BRPOPLPUSH", "BLPOP", "BRPOP", "LMPOP",
         "BLMPOP", "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SPOP", "SRANDMEMBER",
         "SMOVE", "SINTER", "SINTERCARD", "SINTERSTORE", "SUNION", "SUNIONSTORE", "SDIFF", "SDIFFSTORE",
         "SSCAN", "ZADD", "ZREM", "ZRANGE", "ZRANGESTORE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
         "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZCARD", "ZSCORE", "ZMSCORE", "ZINCRBY", "ZRANK", "ZREVRANK",
         "ZCOUNT", "ZLEXCOUNT", "ZPOPMIN", "ZPOPMAX", "BZPOPMIN", "BZPOPMAX", "ZMPOP", "BZMPOP",
         "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZUNION", "ZUNIONSTORE", "ZINTER",
         "ZINTERSTORE", "ZINTERCARD", "ZDIFF", "ZDIFFSTORE", "ZRANDMEMBER", "ZSCAN"}) {
      std::string_view first = n.substr(n[0] == 'B' ? 1 : 0, 1);  // BLPOP, BZPOPMIN: the blocking forms
      m.emplace(lower(n), first == "Z" ? "sorted sets" : first == "S" ? "sets" : "lists");
    }
    return m;
  }();
  if (name.size() > 32) return false;
  auto it = kCommands.find(lower(name));
  if (it == kCommands.end()) return false;
  *kind = it->second.data();
  return true;
}
}  // namespace

// Whether the client's ACL user may run this call; if not, the refusal is
// answered and logged.
bool permitted(Context& ctx, const ReplyPtr& reply, Args args, const Command& cmd) {
  // AUTH and HELLO are anyone's, as in Redis: a user logs in as another.
  if (cmd.flags & kNoAuth) return true;
  Client& s = reply->client();
  Acl& acl = ctx.state.acl;
  if (s.acl_version != acl.version()) {
    s.acl_version = acl.version();
    s.acl_user = acl.find(s.user);
  }
  std::string object;
  Acl::Denied denied = Acl::Denied::kCommand;
  if (s.acl_user) {
    denied = acl.check(*s.acl_user, cmd, ctx.commands.slot_of(cmd, args), args, &object);
    if (denied == Acl::Denied::kNone) return true;
  } else {
    object = lower(cmd.name);  // the user was deleted
  }
  reply->mark_rejected();
  if (s.in_multi) s.multi_refused = true;
  const char* reason = denied == Acl::Denied::kKey ? "key" : denied == Acl::Denied::kChannel ? "channel" : "command";
  acl.log(reason, s.in_multi ? "multi" : "toplevel", object, s.user, client_line(s));
  switch (denied) {
    case Acl::Denied::kKey:
      reply_error(*reply, "NOPERM this user has no permissions to access one of the keys used as arguments");
      break;
    case Acl::Denied::kChannel:
      reply_error(*reply, "NOPERM this user has no permissions to access one of the channels used as arguments");
      break;
    default:
      reply_error(*reply, "NOPERM this user has no permissions to run the '" + object + "' command");
  }
  return false;
}

void dispatch(Context& ctx, const ReplyPtr& reply, Args args, const Command* cmd) {
  Client& s = reply->client();
  reply->start(ctx, cmd ? ctx.commands.slot_of(*cmd, args) : Reply::kNoCommand, args);
  const char* kind = nullptr;
  if (!cmd && names_unkept_type(args[0], &kind)) {
    std::string upper(args[0]);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.in_multi) s.multi_refused = true;
    return reply_error(*reply, "ERR " + upper + " is not supported by redcar: it keeps strings, hashes and streams, not " + kind);
  }
  if (!cmd) {
    // Redis's wording: arguments are listed until the list passes 128 bytes.
    std::string msg = "ERR unknown command '" + std::string(args[0].substr(0, 128)) + "', with args beginning with: ";
    std::string listed;
    for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
      listed += "'" + std::string(args[i].substr(0, 128 - listed.size())) + "' ";
    }
    msg += listed;
    if (s.in_multi) s.multi_refused = true;
    return reply_error(*reply, msg);
  }
  if ((cmd->arity > 0 && static_cast<int>(args.size()) != cmd->arity) ||
      (cmd->arity < 0 && static_cast<int>(args.size()) < -cmd->arity)) {
    reply->mark_rejected();
    if (s.in_multi) s.multi_refused = true;
    return reply_wrong_arity(*reply, lower(args[0]));
  }
  if (!s.authenticated && !(cmd->flags & kNoAuth)) {
    reply->mark_rejected();
    if (s.in_multi) s.multi_refused = true;
    return reply_error(*reply, "NOAUTH Authentication required.");
  }
  if (s.authenticated && !permitted(ctx, reply, args, *cmd)) return;
  if (s.subscribed() && s.protocol == 2 && !(cmd->flags & kPubSubOk)) {
    reply->mark_rejected();
    return reply_error(*reply, "ERR Can't execute '" + lower(args[0]) +
                                   "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  }
  if (s.db == 0 && names_another_database(*cmd, args)) {
    if (s.in_multi) s.multi_refused = true;
    return reply_error(*reply, "ERR redcar keeps the keys of databases 1 and up under names that begin with a NUL "
                               "byte and then another; database 0 cannot use such keys");
  }
  if (s.in_multi && !(cmd->flags & kTxnControl)) return queue_command(ctx, reply, args, cmd);
  // Its keys into the client's database: the command sees stored names.
  cmd->handler(ctx, reply, keys_in_database(*cmd, args, s.db, reply->database_keys(), reply->database_args()));
}

CommandTable::CommandTable() {
  add_server_commands(commands_);
  add_key_commands(commands_);
  add_string_commands(commands_);
  add_hash_commands(commands_);
  add_key_info_commands(commands_);
  add_key_move_commands(commands_);
  add_database_commands(commands_);
  add_stream_commands(commands_);
  add_group_commands(commands_);
  add_pubsub_commands(commands_);
  add_client_commands(commands_);
  add_info_commands(commands_);
  add_transaction_commands(commands_);
  add_flush_commands(commands_);
  add_expiry_commands(commands_);
  add_acl_commands(commands_);
  for (size_t i = 0; i < commands_.size(); ++i) {
    by_name_[lower(commands_[i].name)] = i;
    slot_names_.push_back(lower(commands_[i].name));
    slot_parent_.push_back(i);
  }
  for (size_t i = 0; i < commands_.size(); ++i) {
    std::string_view subs = commands_[i].subcommands;
    while (!subs.empty()) {
      size_t sp = subs.find(' ');
      std::string_view sub = subs.substr(0, sp);
      subs = sp == std::string_view::npos ? std::string_view() : subs.substr(sp + 1);
      std::string name = slot_names_[i] + "|" + std::string(sub);
      sub_slots_[name] = slot_names_.size();
      slot_names_.push_back(std::move(name));
      slot_parent_.push_back(i);
    }
  }
}

uint32_t CommandTable::slot_of(const Command& cmd, Args args) const {
  auto index = static_cast<uint32_t>(&cmd - commands_.data());
  if (cmd.subcommands.empty() || args.size() < 2 || args[1].size() > 32 || slot_names_[index].size() > 32) {
    return index;
  }
  char buf[72];
  std::string_view parent = slot_names_[index];
  size_t n = parent.copy(buf, sizeof(buf));
  buf[n++] = '|';
  for (char c : args[1]) buf[n++] = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = sub_slots_.find(std::string_view(buf, n));
  return it == sub_slots_.end() ? index : static_cast<uint32_t>(it->second);
}

std::vector<size_t> CommandTable::subcommand_slots(const Command& cmd) const {
  std::vector<size_t> out;
  size_t index = static_cast<size_t>(&cmd - commands_.data());
  for (size_t s = commands_.size(); s < slot_names_.size(); ++s) {
    if (slot_parent_[s] == index) out.push_back(s);
  }
  return out;
}

const Command* CommandTable::find(std::string_view name) const {
  if (name.size() > 32) return nullptr;
  char buf[32] = {};  // initialised: g++ 12 cannot see that the loop fills what is hashed
  for (size_t i = 0; i < name.size(); ++i) buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  auto it = by_name_.find(std::string_view(buf, name.size()));
  return it == by_name_.end() ? nullptr : &commands_[it->second];
}

}  // namespace redcar::resp
