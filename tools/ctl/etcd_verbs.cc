// put, get/range, del, watch, status: etcd v3 calls and etcdctl's output.
#include "tools/ctl/etcd_verbs.h"

#include <cinttypes>
#include <thread>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "tools/ctl/backoff.h"
#include "tools/ctl/errors.h"
#include "tools/ctl/output.h"
#include "tools/ctl/verb.h"

namespace redcar::ctl {

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xFF) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace {

struct GetArgs {
  std::string key;
  bool prefix = false;
  int64_t rev = 0;
  int64_t limit = 0;
  bool keys_only = false;
};

nlohmann::json kv_json(const mvccpb::KeyValue& kv, bool with_value) {
  nlohmann::json j;
  put_bytes(j, "key", kv.key());
  if (with_value) put_bytes(j, "value", kv.value());
  j["create_revision"] = kv.create_revision();
  j["mod_revision"] = kv.mod_revision();
  j["version"] = kv.version();
  return j;
}

int do_put(const Globals& g, const std::string& key, const std::string& value) {
  auto conn = connect_or_report(g, "put");
  if (!conn) return kExitUsage;
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  etcdserverpb::PutResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = etcdserverpb::KV::NewStub(conn->channel())->Put(&ctx, req, &resp);
  if (!status.ok()) return report("put", status);
  Output out(g.json);
  if (out.json()) {
    out.object({{"revision", resp.header().revision()}});
  } else {
    out.line("OK");
  }
  out.flush();
  return kExitOk;
}

int do_get(const Globals& g, const GetArgs& a, const char* verb) {
  auto conn = connect_or_report(g, verb);
  if (!conn) return kExitUsage;
  etcdserverpb::RangeRequest req;
  if (a.prefix && a.key.empty()) {
    req.set_key(std::string(1, '\0'));
  } else {
    req.set_key(a.key);
  }
  if (a.prefix) req.set_range_end(prefix_range_end(a.key));
  req.set_revision(a.rev);
  req.set_limit(a.limit);
  req.set_keys_only(a.keys_only);
  etcdserverpb::RangeResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = etcdserverpb::KV::NewStub(conn->channel())->Range(&ctx, req, &resp);
  if (!status.ok()) return report(verb, status);
  Output out(g.json);
  for (const auto& kv : resp.kvs()) {
    if (out.json()) {
      out.object(kv_json(kv, !a.keys_only));
    } else {
      out.line(kv.key());
      out.line(a.keys_only ? std::string_view() : std::string_view(kv.value()));
    }
  }
  out.flush();
  return kExitOk;
}

int do_del(const Globals& g, const std::string& key, bool prefix) {
  auto conn = connect_or_report(g, "del");
  if (!conn) return kExitUsage;
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(prefix && key.empty() ? std::string(1, '\0') : key);
  if (prefix) req.set_range_end(prefix_range_end(key));
  etcdserverpb::DeleteRangeResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = etcdserverpb::KV::NewStub(conn->channel())->DeleteRange(&ctx, req, &resp);
  if (!status.ok()) return report("del", status);
  Output out(g.json);
  if (out.json()) {
    out.object({{"deleted", resp.deleted()}, {"revision", resp.header().revision()}});
  } else {
    out.line(std::to_string(resp.deleted()));
  }
  out.flush();
  return kExitOk;
}

// Watches until interrupted. A broken stream is re-opened with backoff from
// the revision after the last one printed, so nothing is shown twice or lost
// (unless the server compacted past it, which ends the watch).
int do_watch(const Globals& g, const std::string& key, bool prefix, int64_t rev) {
  auto conn = connect_or_report(g, "watch");
  if (!conn) return kExitUsage;
  Output out(g.json);
  Backoff backoff;
  int64_t next_rev = rev;  // 0: from now on, fixed once the first watch is created
  bool reconnecting = false;
  for (;;) {
    grpc::ClientContext ctx;
    auto stream = etcdserverpb::Watch::NewStub(conn->channel())->Watch(&ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix && key.empty() ? std::string(1, '\0') : key);
    if (prefix) create->set_range_end(prefix_range_end(key));
    create->set_start_revision(next_rev);
    stream->Write(req);
    etcdserverpb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.created()) {
        if (next_rev == 0) next_rev = resp.header().revision() + 1;
        if (reconnecting) note("watch", "reconnected; resuming at revision " + std::to_string(next_rev));
        reconnecting = false;
        backoff.reset();
      }
      if (resp.canceled()) {
        std::string why = resp.cancel_reason();
        if (resp.compact_revision() > 0) {
          why = "revision " + std::to_string(next_rev) + " was compacted (oldest kept: " +
                std::to_string(resp.compact_revision()) + ")";
        }
        ctx.TryCancel();
        stream->Finish();
        return report("watch", grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "watch canceled: " + why));
      }
      for (const auto& ev : resp.events()) {
        bool is_put = ev.type() == mvccpb::Event::PUT;
        if (out.json()) {
          auto j = kv_json(ev.kv(), is_put);
          j["type"] = is_put ? "PUT" : "DELETE";
          out.object(j);
        } else {
          out.line(is_put ? "PUT" : "DELETE");
          out.line(ev.kv().key());
          out.line(is_put ? std::string_view(ev.kv().value()) : std::string_view());
        }
        next_rev = std::max(next_rev, ev.kv().mod_revision() + 1);
      }
      out.flush();
    }
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    if (!status.ok() && !is_transient(status.error_code())) return report("watch", status);
    auto wait = backoff.next();
    note("watch", std::string(status.ok() ? "stream ended" : code_name(status.error_code())) +
                      (status.error_message().empty() ? "" : ": " + status.error_message()) + "; reconnecting in " +
                      std::to_string(wait.count()) + " ms");
    reconnecting = true;
    std::this_thread::sleep_for(wait);
    conn->reset();
  }
}

int do_status(const Globals& g) {
  auto conn = connect_or_report(g, "status");
  if (!conn) return kExitUsage;
  etcdserverpb::StatusRequest req;
  etcdserverpb::StatusResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = etcdserverpb::Maintenance::NewStub(conn->channel())->Status(&ctx, req, &resp);
  if (!status.ok()) return report("status", status);
  char member[32];
  std::snprintf(member, sizeof member, "%" PRIx64, resp.header().member_id());
  Output out(g.json);
  if (out.json()) {
    out.object({{"endpoint", conn->endpoint().target},
                {"member_id", member},
                {"revision", resp.header().revision()},
                {"version", resp.version()},
                {"db_size", resp.dbsize()},
                {"raft_term", resp.header().raft_term()}});
  } else {
    out.line("endpoint: " + conn->endpoint().target);
    out.line(std::string("member id: ") + member);
    out.line("revision: " + std::to_string(resp.header().revision()));
    out.line("version: " + resp.version());
    out.line("db size: " + std::to_string(resp.dbsize()) + " bytes");
  }
  out.flush();
  return kExitOk;
}

// "KEY VALUE" of the historical form: split at the first space.
bool split_legacy(const std::string& arg, std::string* key, std::string* value) {
  size_t space = arg.find(' ');
  if (space == std::string::npos) return false;
  *key = arg.substr(0, space);
  *value = arg.substr(space + 1);
  return true;
}

}  // namespace

void add_etcd_verbs(CLI::App& app, Globals& g) {
  {
    auto* cmd = app.add_subcommand("put", "set KEY to VALUE (etcd Put); prints OK");
    cmd->footer("Historical form, still accepted: redcar-ctl \"KEY VALUE\" put (split at the first space).");
    auto key = std::make_shared<std::string>();
    auto value = std::make_shared<std::string>();
    auto* key_opt = cmd->add_option("KEY", *key, "key");
    auto* value_opt = cmd->add_option("VALUE", *value, "value");
    cmd->callback([&g, key, value, key_opt, value_opt] {
      g.action = [&g, key, value, key_opt, value_opt] {
        if (g.has_leading()) {
          if (key_opt->count() > 0) return report_usage("put", "give KEY VALUE either before put or after it");
          std::string k, v;
          if (!split_legacy(g.leading, &k, &v)) {
            return report_usage("put", "'" + g.leading + "' before put must be \"KEY VALUE\"");
          }
          return do_put(g, k, v);
        }
        if (key_opt->count() == 0 || value_opt->count() == 0) return report_usage("put", "want put KEY VALUE");
        return do_put(g, *key, *value);
      };
    });
  }
  auto add_get = [&](const char* name, const char* help) {
    auto* cmd = app.add_subcommand(name, help);
    auto a = std::make_shared<GetArgs>();
    auto* key_opt = cmd->add_option("KEY", a->key, "key, or prefix with --prefix");
    cmd->add_flag("--prefix", a->prefix, "every key that starts with KEY");
    cmd->add_option("--rev", a->rev, "as of this revision (0: the newest)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--limit", a->limit, "at most this many keys (0: all)")->check(CLI::NonNegativeNumber);
    cmd->add_flag("--keys-only", a->keys_only, "keys without their values");
    std::string verb = name;
    cmd->callback([&g, a, key_opt, verb] {
      g.action = [&g, a, key_opt, verb] {
        GetArgs args = *a;
        if (g.has_leading()) {
          if (key_opt->count() > 0) return report_usage(verb, "give KEY either before " + verb + " or after it");
          args.key = g.leading;
        } else if (key_opt->count() == 0) {
          return report_usage(verb, "want " + verb + " KEY");
        }
        return do_get(g, args, verb.c_str());
      };
    });
    return cmd;
  };
  add_get("get", "print KEY and its value, or every key under a prefix (etcd Range)");
  add_get("range", "historical name of get (`redcar-ctl KEY range`)")->group("");
  {
    auto* cmd = app.add_subcommand("del", "delete KEY or every key under a prefix; prints how many were deleted");
    auto key = std::make_shared<std::string>();
    auto prefix = std::make_shared<bool>(false);
    cmd->add_option("KEY", *key, "key, or prefix with --prefix")->required();
    cmd->add_flag("--prefix", *prefix, "every key that starts with KEY");
    cmd->callback([&g, key, prefix] { g.action = [&g, key, prefix] { return do_del(g, *key, *prefix); }; });
  }
  {
    auto* cmd = app.add_subcommand("watch", "print each change to KEY or a prefix, until interrupted");
    cmd->footer(
        "Each change prints as three lines, as etcdctl does: PUT or DELETE, the key, the value.\n"
        "If the server goes away, watch reconnects and resumes after the last revision printed.");
    auto key = std::make_shared<std::string>();
    auto prefix = std::make_shared<bool>(false);
    auto rev = std::make_shared<int64_t>(0);
    cmd->add_option("KEY", *key, "key, or prefix with --prefix")->required();
    cmd->add_flag("--prefix", *prefix, "every key that starts with KEY");
    cmd->add_option("--rev", *rev, "start at this revision, history included (0: changes from now on)")
        ->check(CLI::NonNegativeNumber);
    cmd->callback(
        [&g, key, prefix, rev] { g.action = [&g, key, prefix, rev] { return do_watch(g, *key, *prefix, *rev); }; });
  }
  {
    auto* cmd = app.add_subcommand("status", "the server's revision, version, database size and member id");
    cmd->callback([&g] { g.action = [&g] { return do_status(g); }; });
  }
}

}  // namespace redcar::ctl
