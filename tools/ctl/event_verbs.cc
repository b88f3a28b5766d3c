// publish, read, subscribe, streams, info, trim, delete.
#include "tools/ctl/event_verbs.h"

#include <unistd.h>

#include <iostream>
#include <iterator>

#include "redcar/v1/events.grpc.pb.h"
#include "tools/ctl/errors.h"
#include "tools/ctl/output.h"
#include "tools/ctl/stream_target.h"
#include "tools/ctl/subscription.h"
#include "tools/ctl/verb.h"

namespace redcar::ctl {

bool parse_expected(const std::string& text, v1::ExpectedVersion* out) {
  out->Clear();
  if (text == "any") {
    out->set_kind(v1::ExpectedVersion::ANY);
  } else if (text == "no-stream") {
    out->set_kind(v1::ExpectedVersion::NO_STREAM);
  } else if (text == "exists") {
    out->set_kind(v1::ExpectedVersion::STREAM_EXISTS);
  } else {
    uint64_t n = 0;
    if (!parse_u64(text, &n)) return false;
    out->set_kind(v1::ExpectedVersion::EXACT);
    out->set_last_number(n);
  }
  return true;
}

io::cloudevents::v1::CloudEvent make_event(const std::string& type, std::string data, const std::string& id,
                                           const std::string& source, const std::string& content_type) {
  io::cloudevents::v1::CloudEvent ce;
  ce.set_spec_version("1.0");
  ce.set_type(type);
  ce.set_id(id);
  ce.set_source(source);
  if (!content_type.empty()) (*ce.mutable_attributes())["datacontenttype"].set_ce_string(content_type);
  if (is_utf8(data)) {
    ce.set_text_data(std::move(data));
  } else {
    ce.set_binary_data(std::move(data));
  }
  return ce;
}

std::optional<std::string> actual_version(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find("redcar-actual-version");
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

namespace {

struct PublishArgs {
  std::string stream, type, data;
  bool has_data = false;
  std::string id, source = "redcar-ctl", content_type, expect = "any";
  bool lines = false;
  uint32_t batch = 500;
};

// --lines: every line of stdin is one event's data, appended in batches
// (each batch all or nothing); prints each event's number.
int publish_lines(const Globals& g, const PublishArgs& a, Connection& conn) {
  if (!a.id.empty()) return report_usage("publish", "--id names one event; it does not go with --lines");
  if (a.batch == 0) return report_usage("publish", "--batch must be at least 1");
  v1::ExpectedVersion expected;
  if (!parse_expected(a.expect, &expected)) {
    return report_usage("publish", "--expect '" + a.expect + "': want a number, no-stream, exists or any");
  }
  auto stub = v1::Events::NewStub(conn.channel());
  Output out(g.json);
  std::string line;
  bool eof = false;
  while (!eof) {
    v1::AppendRequest req;
    req.set_stream(a.stream);
    while (req.events_size() < static_cast<int>(a.batch)) {
      if (!std::getline(std::cin, line)) {
        eof = true;
        break;
      }
      *req.add_events() = make_event(a.type, line, "", a.source, a.content_type);
    }
    if (req.events_size() == 0) break;
    // The check applies to the first batch; later ones follow on from it.
    *req.mutable_expected() = expected;
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    conn.set_deadline(ctx);
    auto status = stub->Append(&ctx, req, &resp);
    if (!status.ok()) return report("publish", status);
    expected.set_kind(v1::ExpectedVersion::EXACT);
    expected.set_last_number(resp.last_number());
    for (uint64_t n = resp.first_number(); n <= resp.last_number(); ++n) {
      if (out.json()) {
        nlohmann::json j;
        put_bytes(j, "stream", a.stream);
        j["number"] = n;
        out.object(j);
      } else {
        out.line(std::to_string(n));
      }
    }
    out.flush();
  }
  return kExitOk;
}

int do_publish(const Globals& g, const PublishArgs& a) {
  if (a.lines) {
    if (a.has_data) return report_usage("publish", "--lines reads the data from stdin: give no DATA");
    auto conn = connect_or_report(g, "publish");
    if (!conn) return kExitUsage;
    return publish_lines(g, a, *conn);
  }
  v1::AppendRequest req;
  req.set_stream(a.stream);
  if (!parse_expected(a.expect, req.mutable_expected())) {
    return report_usage("publish", "--expect '" + a.expect + "': want a number, no-stream, exists or any");
  }
  std::string data = a.data;
  if (!a.has_data || a.data == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  *req.add_events() = make_event(a.type, std::move(data), a.id, a.source, a.content_type);
  auto conn = connect_or_report(g, "publish");
  if (!conn) return kExitUsage;
  v1::AppendResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->Append(&ctx, req, &resp);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      // The trailer says what the server's message may not.
      auto actual = actual_version(ctx);
      if (actual && status.error_message().find("actual") == std::string::npos) {
        std::string msg = status.error_message() + " (the stream's last event number: " +
                          (*actual == "-1" ? std::string("none, no events") : *actual) + ")";
        status = grpc::Status(status.error_code(), msg);
      }
    }
    return report("publish", status);
  }
  Output out(g.json);
  if (out.json()) {
    nlohmann::json j;
    put_bytes(j, "stream", resp.stream().empty() ? a.stream : resp.stream());
    j["number"] = resp.last_number();
    j["duplicate"] = resp.duplicate();
    out.object(j);
  } else {
    out.line(std::to_string(resp.last_number()));
    if (resp.duplicate()) note("publish", "id '" + a.id + "' was appended before: nothing written");
  }
  out.flush();
  return kExitOk;
}

struct ReadArgs {
  std::string stream;
  uint64_t from = 0;
  std::optional<uint64_t> to;
  uint64_t max = 0;
  bool backwards = false;
};

int do_read(const Globals& g, const ReadArgs& a) {
  auto conn = connect_or_report(g, "read");
  if (!conn) return kExitUsage;
  v1::ReadRequest req;
  req.set_stream(a.stream);
  req.set_from(a.from);
  if (a.to) req.set_to(*a.to);
  req.set_max_count(a.max);
  req.set_backwards(a.backwards);
  grpc::ClientContext ctx;
  auto reader = v1::Events::NewStub(conn->channel())->Read(&ctx, req);
  Output out(g.json);
  v1::ReadResponse page;
  while (reader->Read(&page)) {
    for (const auto& e : page.events()) out.event(e);
    out.flush();
  }
  auto status = reader->Finish();
  if (!status.ok()) return report("read", status);
  return kExitOk;
}

struct SubscribeArgs {
  std::string target;
  std::string prefix;
  bool from_end = false;
  uint64_t max = 0;
};

int do_subscribe(const Globals& g, const SubscribeArgs& a, const CLI::Option* prefix_opt) {
  SubscribeSpec spec;
  if (prefix_opt->count() > 0) {
    if (!a.target.empty() && a.target != "*") return report_usage("subscribe", "--prefix goes with '*' or no STREAM");
    spec.kind = SubscribeSpec::Kind::kPrefix;
    spec.name = a.prefix;
  } else {
    if (a.target.empty()) return report_usage("subscribe", "want STREAM[:FROM[:TO]], '*' or --prefix P");
    StreamTarget t;
    std::string error;
    if (!parse_stream_target(a.target, true, &t, &error)) return report_usage("subscribe", error);
    if (t.all) {
      spec.kind = SubscribeSpec::Kind::kAll;
    } else {
      spec.name = t.stream;
      spec.from = t.from;
      spec.to = t.to;
      if (a.from_end && t.from) return report_usage("subscribe", "--from-end and a FROM number exclude each other");
    }
  }
  spec.from_end = a.from_end;
  auto conn = connect_or_report(g, "subscribe");
  if (!conn) return kExitUsage;
  Output out(g.json);
  uint64_t seen = 0;
  Subscription sub(*conn, spec, "subscribe");
  auto status = sub.run([&](const v1::RecordedEvent& e) {
    out.event(e);
    out.flush();
    return a.max == 0 || ++seen < a.max;
  });
  if (!status.ok()) return report("subscribe", status);
  return kExitOk;
}

int do_streams(const Globals& g, const std::string& prefix, uint32_t limit) {
  auto conn = connect_or_report(g, "streams");
  if (!conn) return kExitUsage;
  v1::ListStreamsRequest req;
  req.set_prefix(prefix);
  req.set_limit(limit);
  v1::ListStreamsResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->ListStreams(&ctx, req, &resp);
  if (!status.ok()) return report("streams", status);
  Output out(g.json);
  for (const auto& s : resp.streams()) {
    if (out.json()) {
      nlohmann::json j;
      put_bytes(j, "stream", s);
      out.object(j);
    } else {
      out.line(s);
    }
  }
  out.flush();
  return kExitOk;
}

int do_info(const Globals& g, const std::string& stream) {
  auto conn = connect_or_report(g, "info");
  if (!conn) return kExitUsage;
  v1::DescribeStreamRequest req;
  req.set_stream(stream);
  v1::DescribeStreamResponse r;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->DescribeStream(&ctx, req, &r);
  if (!status.ok()) return report("info", status);
  Output out(g.json);
  if (out.json()) {
    nlohmann::json j;
    put_bytes(j, "stream", r.stream().empty() ? stream : r.stream());
    j["length"] = r.length();
    j["first_number"] = r.first_number();
    j["next_number"] = r.next_number();
    j["bytes"] = r.bytes();
    if (r.has_created()) j["created"] = format_time(r.created());
    j["last_redis_id"] = r.last_redis_id();
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& gr : r.groups()) {
      nlohmann::json gj;
      put_bytes(gj, "name", gr.name());
      gj["pending"] = gr.pending();
      gj["consumers"] = gr.consumers();
      if (gr.has_lag()) gj["lag"] = gr.lag();
      gj["last_delivered_redis_id"] = gr.last_delivered_redis_id();
      groups.push_back(std::move(gj));
    }
    j["groups"] = std::move(groups);
    out.object(j);
  } else {
    out.line("stream: " + (r.stream().empty() ? stream : r.stream()));
    out.line("length: " + std::to_string(r.length()));
    out.line("first number: " + std::to_string(r.first_number()));
    out.line("next number: " + std::to_string(r.next_number()));
    out.line("bytes: " + std::to_string(r.bytes()));
    if (r.has_created()) out.line("created: " + format_time(r.created()));
    if (!r.last_redis_id().empty()) out.line("last redis id: " + r.last_redis_id());
    for (const auto& gr : r.groups()) {
      std::string line = "group " + gr.name() + ": pending " + std::to_string(gr.pending()) + ", consumers " +
                         std::to_string(gr.consumers());
      if (gr.has_lag()) line += ", lag " + std::to_string(gr.lag());
      if (!gr.last_delivered_redis_id().empty()) line += ", last delivered " + gr.last_delivered_redis_id();
      out.line(line);
    }
  }
  out.flush();
  return kExitOk;
}

struct TrimArgs {
  std::string stream;
  std::optional<uint64_t> max_count, before, max_bytes;
  std::string max_age;
};

int do_trim(const Globals& g, const TrimArgs& a) {
  v1::TrimRequest req;
  req.set_stream(a.stream);
  int rules = 0;
  if (a.max_count) req.set_max_count(*a.max_count), ++rules;
  if (a.before) req.set_before_number(*a.before), ++rules;
  if (a.max_bytes) req.set_max_bytes(*a.max_bytes), ++rules;
  if (!a.max_age.empty()) {
    int64_t ms = 0;
    if (!parse_duration_ms(a.max_age, &ms)) return report_usage("trim", "--max-age '" + a.max_age + "': want 90s, 10m, ...");
    req.set_max_age_ms(static_cast<uint64_t>(ms));
    ++rules;
  }
  if (rules != 1) return report_usage("trim", "give exactly one of --max-count, --before, --max-bytes, --max-age");
  auto conn = connect_or_report(g, "trim");
  if (!conn) return kExitUsage;
  v1::TrimResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->Trim(&ctx, req, &resp);
  if (!status.ok()) return report("trim", status);
  Output out(g.json);
  if (out.json()) {
    out.object({{"removed", resp.removed()}});
  } else {
    out.line(std::to_string(resp.removed()));
  }
  out.flush();
  return kExitOk;
}

int do_delete(const Globals& g, const std::string& stream) {
  auto conn = connect_or_report(g, "delete");
  if (!conn) return kExitUsage;
  v1::DeleteStreamRequest req;
  req.set_stream(stream);
  v1::DeleteStreamResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->DeleteStream(&ctx, req, &resp);
  if (!status.ok()) return report("delete", status);
  Output out(g.json);
  if (out.json()) {
    nlohmann::json j;
    put_bytes(j, "stream", stream);
    j["existed"] = resp.existed();
    out.object(j);
  } else {
    out.line(resp.existed() ? "deleted " + stream : "no stream " + stream);
  }
  out.flush();
  return kExitOk;
}

}  // namespace

void add_event_verbs(CLI::App& app, Globals& g) {
  {
    auto* cmd = app.add_subcommand("publish", "append an event to STREAM; prints its number");
    cmd->footer(
        "Examples:\n"
        "  redcar-ctl publish orders created '{\"id\":1}' --content-type application/json\n"
        "  redcar-ctl publish orders created --id order-1 < order.json   (once, however often it runs)\n"
        "  redcar-ctl publish orders created '{}' --expect no-stream      (only into an empty stream)\n"
        "  seq 100 | redcar-ctl publish numbers n --lines                 (an event per line)");
    auto a = std::make_shared<PublishArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("TYPE", a->type, "event type")->required();
    auto* data = cmd->add_option("DATA", a->data, "event data; absent or '-': read from stdin");
    cmd->add_option("--id", a->id, "idempotency id: publishing the same id again writes nothing");
    cmd->add_option("--source", a->source, "CloudEvents source")->capture_default_str();
    cmd->add_option("--content-type", a->content_type, "data content type (application/json, text/plain, ...)");
    cmd->add_option("--expect", a->expect,
                    "write only if the stream's last event number is N, or the stream is absent (no-stream) "
                    "or present (exists)")
        ->capture_default_str();
    cmd->add_flag("--lines", a->lines, "one event per line of stdin, appended in batches; prints each number");
    cmd->add_option("--batch", a->batch, "events per append with --lines")->capture_default_str();
    cmd->callback([&g, a, data] {
      a->has_data = data->count() > 0;
      g.action = [&g, a] { return do_publish(g, *a); };
    });
  }
  {
    auto* cmd = app.add_subcommand("read", "print the events of STREAM numbered FROM..TO, then stop");
    auto a = std::make_shared<ReadArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("--from", a->from, "lowest number wanted")->capture_default_str();
    cmd->add_option("--to", a->to, "highest number wanted (default: the newest)");
    cmd->add_option("--max", a->max, "at most this many events (0: no limit)")->capture_default_str();
    cmd->add_flag("--backwards", a->backwards, "newest first");
    cmd->callback([&g, a] { g.action = [&g, a] { return do_read(g, *a); }; });
  }
  {
    auto* cmd = app.add_subcommand("subscribe", "print a stream's events, history first, then live");
    cmd->footer(
        "Targets:\n"
        "  orders             every event of orders, then follow it\n"
        "  orders:10          from event 10 on\n"
        "  orders:10:20       events 10..20, then stop\n"
        "  '*'                every stream\n"
        "  --prefix shop-     every stream whose name starts with shop-\n"
        "Runs until interrupted (or TO, or --max). If the server goes away it reconnects with backoff\n"
        "and resumes right after the last event printed: no gap, no duplicate.");
    auto a = std::make_shared<SubscribeArgs>();
    cmd->add_option("TARGET", a->target, "STREAM, STREAM:FROM, STREAM:FROM:TO, or '*' for every stream");
    auto* prefix = cmd->add_option("--prefix", a->prefix, "every stream whose name starts with P");
    cmd->add_flag("--from-end", a->from_end, "only events appended from now on");
    cmd->add_option("--max", a->max, "stop after this many events (0: no limit)");
    cmd->callback([&g, a, prefix] { g.action = [&g, a, prefix] { return do_subscribe(g, *a, prefix); }; });
  }
  {
    auto* cmd = app.add_subcommand("streams", "list stream names (sorted), optionally those starting with PREFIX");
    auto prefix = std::make_shared<std::string>();
    auto limit = std::make_shared<uint32_t>(0);
    cmd->add_option("PREFIX", *prefix, "name prefix");
    cmd->add_option("--limit", *limit, "at most this many (0: all)");
    cmd->callback([&g, prefix, limit] { g.action = [&g, prefix, limit] { return do_streams(g, *prefix, *limit); }; });
  }
  {
    auto* cmd = app.add_subcommand("info", "describe STREAM: length, numbers, size, groups");
    auto stream = std::make_shared<std::string>();
    cmd->add_option("STREAM", *stream, "stream name")->required();
    cmd->callback([&g, stream] { g.action = [&g, stream] { return do_info(g, *stream); }; });
  }
  {
    auto* cmd = app.add_subcommand("trim", "remove the oldest events of STREAM by one rule; prints how many went");
    auto a = std::make_shared<TrimArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("--max-count", a->max_count, "keep the newest N events");
    cmd->add_option("--before", a->before, "drop every event numbered below N");
    cmd->add_option("--max-bytes", a->max_bytes, "keep the newest events up to N bytes");
    cmd->add_option("--max-age", a->max_age, "drop events older than this (90s, 10m, 2h)");
    cmd->callback([&g, a] { g.action = [&g, a] { return do_trim(g, *a); }; });
  }
  {
    auto* cmd = app.add_subcommand("delete", "delete STREAM and all its events");
    auto stream = std::make_shared<std::string>();
    cmd->add_option("STREAM", *stream, "stream name")->required();
    cmd->callback([&g, stream] { g.action = [&g, stream] { return do_delete(g, *stream); }; });
  }
}

}  // namespace redcar::ctl
