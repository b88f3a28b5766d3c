// migrate: stream copy between servers, resumable and exact.
#include "tools/ctl/migrate.h"

#include <thread>

#include "redcar/v1/events.grpc.pb.h"
#include "tools/ctl/backoff.h"
#include "tools/ctl/errors.h"
#include "tools/ctl/output.h"
#include "tools/ctl/progress.h"
#include "tools/ctl/stream_target.h"
#include "tools/ctl/verb.h"

namespace redcar::ctl {

namespace {

// A batch starts well under the server's default 4 MiB request limit; a
// destination that refuses one as too large gets halves, down to one event.
constexpr size_t kMaxBatchBytes = 2u << 20;
// Consecutive transient failures (server restarting, ...) before giving up.
constexpr int kMaxAttempts = 12;

struct MigrateArgs {
  std::string from_url, to_url;
  std::vector<std::string> streams;
  uint32_t batch = 500;
};

// What is known about one stream's copy after syncing with both sides.
struct CopyState {
  uint64_t start = 0;      // the first source number wanted (FROM, or the oldest kept)
  uint64_t cursor = 0;     // the next source number to read
  uint64_t dest_next = 0;  // the number the destination's next event gets
  uint64_t done = 0;       // source events (from start) the destination holds
  uint64_t total = 0;      // source events from start, as last seen
};

class StreamCopy {
 public:
  StreamCopy(Connection& src, Connection& dst, const std::string& stream, uint64_t from, uint32_t batch)
      : src_(src), dst_(dst), stream_(stream), from_(from), batch_(batch), progress_(stream) {}

  // Returns OK when the destination holds every source event from FROM.
  grpc::Status run(uint64_t* copied_out, uint64_t* already_out) {
    Backoff backoff;
    int attempts = 0;
    bool first_sync = true;
    for (;;) {
      grpc::Status s = sync();
      if (s.ok()) {
        if (first_sync) already_ = state_.done;
        first_sync = false;
        s = copy();
      }
      if (s.ok()) {
        progress_.update(state_.done, copied_);
        progress_.finish();
        *copied_out = copied_;
        *already_out = already_;
        return s;
      }
      if (!is_transient(s.error_code()) || ++attempts >= kMaxAttempts) return s;
      auto wait = backoff.next();
      note("migrate", stream_ + ": " + code_name(s.error_code()) + ": " + s.error_message() + "; retrying in " +
                          std::to_string(wait.count()) + " ms");
      std::this_thread::sleep_for(wait);
      src_.reset();
      dst_.reset();
    }
  }

 private:
  grpc::Status describe(Connection& c, v1::DescribeStreamResponse* out, bool* exists) {
    v1::DescribeStreamRequest req;
    req.set_stream(stream_);
    grpc::ClientContext ctx;
    c.set_deadline(ctx);
    auto s = v1::Events::NewStub(c.channel())->DescribeStream(&ctx, req, out);
    *exists = s.ok();
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
    return s;
  }

  // Events numbered [from, to] (to absent: the newest), at most `max`.
  grpc::Status read(Connection& c, uint64_t from, std::optional<uint64_t> to, uint64_t max, bool backwards,
                    std::vector<v1::RecordedEvent>* out) {
    out->clear();
    v1::ReadRequest req;
    req.set_stream(stream_);
    req.set_from(from);
    if (to) req.set_to(*to);
    req.set_max_count(max);
    req.set_backwards(backwards);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 4 * c.timeout());
    auto reader = v1::Events::NewStub(c.channel())->Read(&ctx, req);
    v1::ReadResponse page;
    while (reader->Read(&page)) {
      for (auto& e : *page.mutable_events()) out->push_back(std::move(e));
    }
    return reader->Finish();
  }

  static bool same_event(const v1::RecordedEvent& a, const v1::RecordedEvent& b) {
    return a.event().id() == b.event().id() && a.event().type() == b.event().type() &&
           event_data(a.event()) == event_data(b.event());
  }

  // Where to go on from: the destination's count, the source event that many
  // events past `start`, and a check that the two ends match.
  grpc::Status sync() {
    v1::DescribeStreamResponse src_info, dst_info;
    bool src_exists = false, dst_exists = false;
    if (auto s = describe(src_, &src_info, &src_exists); !s.ok()) return s;
    if (!src_exists) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no stream " + stream_ + " at the source");
    if (auto s = describe(dst_, &dst_info, &dst_exists); !s.ok()) return s;
    CopyState st;
    st.start = std::max(from_, src_info.first_number());
    st.dest_next = dst_exists ? dst_info.next_number() : 0;
    st.done = st.dest_next;
    bool contiguous = src_info.length() == src_info.next_number() - src_info.first_number();
    st.total = contiguous ? (src_info.next_number() > st.start ? src_info.next_number() - st.start : 0)
                          : src_info.length();
    if (st.done == 0) {
      st.cursor = st.start;
    } else {
      // The source event the destination's last one copies.
      v1::RecordedEvent src_last;
      if (contiguous) {
        if (st.start + st.done > src_info.next_number()) return more_than_source(st);
        std::vector<v1::RecordedEvent> one;
        uint64_t n = st.start + st.done - 1;
        if (auto s = read(src_, n, n, 1, false, &one); !s.ok()) return s;
        if (one.empty()) return more_than_source(st);
        src_last = std::move(one.front());
      } else {
        // Gaps in the source: count events from start.
        uint64_t counted = 0, at = st.start;
        std::vector<v1::RecordedEvent> page;
        while (counted < st.done) {
          if (auto s = read(src_, at, std::nullopt, std::min<uint64_t>(batch_, st.done - counted), false, &page); !s.ok()) {
            return s;
          }
          if (page.empty()) return more_than_source(st);
          counted += page.size();
          at = page.back().number() + 1;
          src_last = page.back();
        }
      }
      st.cursor = src_last.number() + 1;
      std::vector<v1::RecordedEvent> dst_last;
      if (auto s = read(dst_, 0, std::nullopt, 1, true, &dst_last); !s.ok()) return s;
      if (dst_last.empty() || !same_event(dst_last.front(), src_last)) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "the destination's " + stream_ + " is not a copy of the source from " +
                                std::to_string(st.start) + ": its last event (id '" +
                                (dst_last.empty() ? std::string() : dst_last.front().event().id()) +
                                "') differs from source event " + std::to_string(src_last.number()) + " (id '" +
                                src_last.event().id() + "')");
      }
    }
    if (st.total < st.done) st.total = st.done;
    state_ = st;
    progress_.set_total(st.total);
    progress_.update(st.done, copied_);
    return grpc::Status::OK;
  }

  grpc::Status more_than_source(const CopyState& st) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "the destination's " + stream_ + " holds " + std::to_string(st.done) +
                            " events, more than the source has from " + std::to_string(st.start));
  }

  grpc::Status copy() {
    std::vector<v1::RecordedEvent> page;
    for (;;) {
      if (auto s = read(src_, state_.cursor, std::nullopt, batch_, false, &page); !s.ok()) return s;
      if (page.empty()) return grpc::Status::OK;
      size_t i = 0;
      while (i < page.size()) {
        v1::AppendRequest req;
        req.set_stream(stream_);
        if (state_.dest_next == 0) {
          req.mutable_expected()->set_kind(v1::ExpectedVersion::NO_STREAM);
        } else {
          req.mutable_expected()->set_kind(v1::ExpectedVersion::EXACT);
          req.mutable_expected()->set_last_number(state_.dest_next - 1);
        }
        size_t bytes = 0, first = i;
        while (i < page.size() && i - first < limit_events_ &&
               (i == first || bytes + page[i].event().ByteSizeLong() <= limit_bytes_)) {
          bytes += page[i].event().ByteSizeLong();
          *req.add_events() = page[i].event();
          ++i;
        }
        uint64_t n = i - first;
        v1::AppendResponse resp;
        grpc::ClientContext ctx;
        dst_.set_deadline(ctx);
        auto s = v1::Events::NewStub(dst_.channel())->Append(&ctx, req, &resp);
        bool too_large = s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                         s.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
        if (too_large && n > 1) {
          // Nothing of it was written (an append is all or nothing): smaller.
          limit_events_ = std::max<size_t>(1, n / 2);
          limit_bytes_ = std::max<size_t>(1, bytes / 2);
          note("migrate", stream_ + ": the destination refused " + std::to_string(n) + " events (" +
                              std::to_string(bytes) + " bytes) in one append (" + code_name(s.error_code()) +
                              "); trying " + std::to_string(limit_events_) + " at a time");
          i = first;
          continue;
        }
        if (!s.ok()) {
          if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
            return grpc::Status(s.error_code(), "the destination's " + stream_ +
                                                    " changed under this copy (another migrate or writer?): " +
                                                    s.error_message());
          }
          return s;
        }
        if (!resp.duplicate() && resp.first_number() != state_.dest_next) {
          return grpc::Status(grpc::StatusCode::INTERNAL, "the destination numbered the batch from " +
                                                              std::to_string(resp.first_number()) + ", expected " +
                                                              std::to_string(state_.dest_next));
        }
        state_.dest_next = resp.last_number() + 1;
        state_.done += n;
        state_.cursor = page[i - 1].number() + 1;
        copied_ += n;
        if (state_.total < state_.done) state_.total = state_.done;
        progress_.set_total(state_.total);
        progress_.update(state_.done, copied_);
      }
    }
  }

  Connection& src_;
  Connection& dst_;
  std::string stream_;
  uint64_t from_;
  uint32_t batch_;
  Progress progress_;
  CopyState state_;
  uint64_t copied_ = 0, already_ = 0;
  size_t limit_events_ = SIZE_MAX, limit_bytes_ = kMaxBatchBytes;
};

int do_migrate(const Globals& g, const MigrateArgs& a) {
  if (a.batch == 0) return report_usage("migrate", "--batch must be at least 1");
  std::vector<StreamTarget> targets;
  for (const auto& text : a.streams) {
    StreamTarget t;
    std::string error;
    if (!parse_stream_target(text, false, &t, &error)) return report_usage("migrate", error);
    if (t.all) return report_usage("migrate", "name the streams to copy ('*' is not taken)");
    targets.push_back(t);
  }
  auto open = [&](const std::string& url, const char* which) {
    EndpointOptions o = g.endpoint;
    o.url = url;
    std::string error;
    auto c = Connection::open(o, &error);
    if (!c) report_usage("migrate", std::string(which) + ": " + error);
    return c;
  };
  auto src = open(a.from_url, "--from");
  if (!src) return kExitUsage;
  auto dst = open(a.to_url, "--to");
  if (!dst) return kExitUsage;
  Output out(g.json);
  for (const auto& t : targets) {
    StreamCopy copy(*src, *dst, t.stream, t.from.value_or(0), a.batch);
    uint64_t copied = 0, already = 0;
    auto status = copy.run(&copied, &already);
    if (!status.ok()) return report("migrate", status);
    if (out.json()) {
      nlohmann::json j;
      put_bytes(j, "stream", t.stream);
      j["copied"] = copied;
      j["already_there"] = already;
      out.object(j);
    } else {
      out.line(t.stream + ": copied " + std::to_string(copied) + " events" +
               (already > 0 ? " (" + std::to_string(already) + " were there already)" : ""));
    }
    out.flush();
  }
  return kExitOk;
}

}  // namespace

void add_migrate_verb(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("migrate", "copy streams from one server to another, resumably");
  cmd->footer(
      "Each stream is copied in batches that keep every event's id, each batch written only if the\n"
      "destination is exactly where this copy left it, so two runs never interleave. Interrupted, it\n"
      "is run again: it counts what the destination holds, checks that it is a copy, and goes on\n"
      "from there, copying nothing twice. Progress goes to stderr.\n"
      "Example:\n"
      "  redcar-ctl migrate --from http://old:8519 --to http://new:8519 orders payments:1000");
  auto a = std::make_shared<MigrateArgs>();
  cmd->add_option("--from", a->from_url, "source server URL")->required();
  cmd->add_option("--to", a->to_url, "destination server URL")->required();
  cmd->add_option("--batch", a->batch, "events per Append")->capture_default_str();
  cmd->add_option("STREAMS", a->streams, "streams to copy, each STREAM or STREAM:FROM")->required();
  cmd->callback([&g, a] { g.action = [&g, a] { return do_migrate(g, *a); }; });
}

}  // namespace redcar::ctl
