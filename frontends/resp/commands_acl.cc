// ACL: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG,
// DRYRUN, and SAVE/LOAD answered as Redis answers them without an ACL file.
// The users and the checks are acl.h's; replies are Redis 7.0's.
#include <openssl/rand.h>

#include <chrono>

#include "frontends/resp/acl.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {
namespace {

const char* kAclHelp[] = {
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file (redcar keeps users in memory: there is none).",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file (redcar keeps users in memory: there is none).",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
};

const char* kNoAclFile =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER "
    "command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store "
    "users in the Redis configuration.";

void acl_getuser(Context& ctx, const ReplyPtr& r, std::string_view name) {
  Acl::UserPtr u = ctx.state.acl.find(name);
  if (!u) {
    r->w().null_array();
    return r->done();
  }
  auto& w = r->w();
  w.map(6);
  w.bulk("flags");
  std::vector<std::string_view> flags = {u->enabled ? "on" : "off"};
  if (u->nopass) flags.push_back("nopass");
  w.bulk_array(flags);
  w.bulk("passwords");
  w.array(u->passwords.size());
  for (auto& p : u->passwords) w.bulk(p);
  w.bulk("commands");
  std::string rules;
  for (auto& c : u->command_rules) rules += (rules.empty() ? "" : " ") + c;
  w.bulk(rules);
  w.bulk("keys");
  std::string keys;
  for (auto& k : u->keys) {
    keys += keys.empty() ? "" : " ";
    keys += k.read && k.write ? "~" : k.read ? "%R~" : "%W~";
    keys += k.glob;
  }
  w.bulk(keys);
  w.bulk("channels");
  std::string channels;
  for (auto& c : u->channels) channels += (channels.empty() ? "&" : " &") + c;
  w.bulk(channels);
  w.bulk("selectors");
  w.array(0);
  r->done();
}

// DELUSER: the users go, and so do the connections logged in as them.
void acl_deluser(Context& ctx, const ReplyPtr& r, Args names) {
  const size_t n = ctx.state.acl.delete_users(names);
  std::vector<std::string> gone(names.begin(), names.end());
  uint64_t me = r->client().id;
  auto self = std::make_shared<std::atomic<bool>>(false);
  ctx.state.clients.visit_all(
      [gone, me, self](Client& c) {
        if (c.user == "default" || std::find(gone.begin(), gone.end(), c.user) == gone.end()) return;
        if (c.id == me) *self = true;
        else c.kill();
      },
      r->client().loop(),
      [r, n, self] {
        r->w().integer(static_cast<int64_t>(n));
        r->done();
        if (*self) r->client().kill_after_reply();
      });
}

void acl_cat(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() == 2) {
    const auto& names = Acl::categories();
    r->w().bulk_array(names);
    return r->done();
  }
  std::vector<size_t> slots;
  if (!ctx.state.acl.slots_in(lower(a[2]), &slots) || iequals(a[2], "all")) {
    return reply_error(*r, "ERR Unknown category '" + std::string(a[2]) + "'");
  }
  r->w().array(slots.size());
  for (size_t s : slots) r->w().bulk(ctx.commands.slot_name(s));
  r->done();
}

void acl_genpass(const ReplyPtr& r, Args a) {
  int64_t bits = 256;
  if (a.size() == 3 && (!parse_int(a[2], &bits) || bits <= 0 || bits > 4096)) {
    return reply_error(*r, "ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
                           "number up to 4096");
  }
  const size_t chars = static_cast<size_t>((bits + 3) / 4);
  std::vector<unsigned char> raw((chars + 1) / 2);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  out.resize(chars);
  r->w().bulk(out);
  r->done();
}

void acl_log(Context& ctx, const ReplyPtr& r, Args a) {
  size_t count = 10;
  if (a.size() == 3) {
    if (iequals(a[2], "reset")) {
      ctx.state.acl.reset_log();
      r->w().simple("OK");
      return r->done();
    }
    int64_t n;
    if (!parse_int(a[2], &n) || n < 0) return reply_error(*r, "ERR value is out of range, must be positive");
    count = static_cast<size_t>(n);
  }
  const auto entries = ctx.state.acl.log_entries(count);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto& w = r->w();
  w.array(entries.size());
  for (const auto& e : entries) {
    w.map(10);
    w.bulk("count");
    w.integer(static_cast<int64_t>(e.count));
    w.bulk("reason");
    w.bulk(e.reason);
    w.bulk("context");
    w.bulk(e.context);
    w.bulk("object");
    w.bulk(e.object);
    w.bulk("username");
    w.bulk(e.username);
    w.bulk("age-seconds");
    w.double_value(static_cast<double>(now - e.created_ms) / 1000.0);
    w.bulk("client-info");
    w.bulk(e.client_info);
    w.bulk("entry-id");
    w.integer(static_cast<int64_t>(e.entry_id));
    w.bulk("timestamp-created");
    w.integer(e.created_ms);
    w.bulk("timestamp-last-updated");
    w.integer(e.updated_ms);
  }
  r->done();
}

void acl_dryrun(Context& ctx, const ReplyPtr& r, Args a) {
  Acl::UserPtr u = ctx.state.acl.find(a[2]);
  if (!u) return reply_error(*r, "ERR User '" + std::string(a[2]) + "' not found");
  Args call = a.subspan(3);
  const Command* cmd = ctx.commands.find(call[0]);
  if (!cmd) return reply_error(*r, "ERR Command '" + std::string(call[0]) + "' not found");
  if ((cmd->arity > 0 && static_cast<int>(call.size()) != cmd->arity) ||
      (cmd->arity < 0 && static_cast<int>(call.size()) < -cmd->arity)) {
    return reply_error(*r, "ERR wrong number of arguments for '" + lower(call[0]) + "' command");
  }
  std::string object;
  switch (ctx.state.acl.check(*u, *cmd, ctx.commands.slot_of(*cmd, call), call, &object)) {
    case Acl::Denied::kNone: r->w().simple("OK"); break;
    case Acl::Denied::kCommand:
      r->w().bulk("This user has no permissions to run the '" + object + "' command");
      break;
    case Acl::Denied::kKey:
      r->w().bulk("This user has no permissions to access the '" + object + "' key");
      break;
    case Acl::Denied::kChannel:
      r->w().bulk("This user has no permissions to access the '" + object + "' channel");
      break;
  }
  r->done();
}

void cmd_acl(Context& ctx, const ReplyPtr& r, Args a) {
  const std::string sub = lower(a[1]);
  const size_t n = a.size();
  if (sub == "setuser" && n >= 3) {
    if (std::string err = ctx.state.acl.set_user(a[2], a.subspan(3)); !err.empty()) return reply_error(*r, err);
    r->w().simple("OK");
    return r->done();
  }
  if (sub == "getuser" && n == 3) return acl_getuser(ctx, r, a[2]);
  if (sub == "deluser" && n >= 3) return acl_deluser(ctx, r, a.subspan(2));
  if ((sub == "list" || sub == "users") && n == 2) {
    auto users = ctx.state.acl.users();
    r->w().array(users.size());
    for (auto& u : users) r->w().bulk(sub == "list" ? Acl::describe(*u) : u->name);
    return r->done();
  }
  if (sub == "whoami" && n == 2) {
    r->w().bulk(r->client().user);
    return r->done();
  }
  if (sub == "cat" && n <= 3) return acl_cat(ctx, r, a);
  if (sub == "genpass" && n <= 3) return acl_genpass(r, a);
  if (sub == "log" && n <= 3) return acl_log(ctx, r, a);
  if (sub == "dryrun" && n >= 4) return acl_dryrun(ctx, r, a);
  if ((sub == "save" || sub == "load") && n == 2) return reply_error(*r, kNoAclFile);
  if (sub == "help" && n == 2) return reply_help(*r, kAclHelp);
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_acl_commands(std::vector<Command>& out) {
  out.push_back({"ACL", -2, 0, cmd_acl, 0, 0, 0,
                 "cat deluser dryrun genpass getuser list load log save setuser users whoami help"});
}

}  // namespace redcar::resp
