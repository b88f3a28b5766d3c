// Subscribe with reconnection and exact resumption.
#include "tools/ctl/subscription.h"

#include <thread>

#include "tools/ctl/errors.h"

namespace redcar::ctl {

Subscription::Subscription(Connection& conn, SubscribeSpec spec, std::string verb)
    : conn_(conn), spec_(std::move(spec)), verb_(std::move(verb)) {}

// From the end becomes "after the last number each stream holds now".
grpc::Status Subscription::resolve_from_end() {
  auto stub = v1::Events::NewStub(conn_.channel());
  auto describe = [&](const std::string& stream) -> grpc::Status {
    v1::DescribeStreamRequest req;
    req.set_stream(stream);
    v1::DescribeStreamResponse resp;
    grpc::ClientContext ctx;
    conn_.set_deadline(ctx);
    auto s = stub->DescribeStream(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
    if (!s.ok()) return s;
    if (resp.next_number() > 0) last_[stream] = resp.next_number() - 1;
    return grpc::Status::OK;
  };
  if (spec_.kind == SubscribeSpec::Kind::kStream) {
    auto s = describe(spec_.name);
    if (!s.ok()) return s;
    auto it = last_.find(spec_.name);
    spec_.from = it == last_.end() ? 0 : it->second + 1;
    return grpc::Status::OK;
  }
  v1::ListStreamsRequest req;
  if (spec_.kind == SubscribeSpec::Kind::kPrefix) req.set_prefix(spec_.name);
  v1::ListStreamsResponse resp;
  grpc::ClientContext ctx;
  conn_.set_deadline(ctx);
  auto s = stub->ListStreams(&ctx, req, &resp);
  if (!s.ok()) return s;
  for (const auto& stream : resp.streams()) {
    if (auto d = describe(stream); !d.ok()) return d;
  }
  return grpc::Status::OK;
}

v1::SubscribeRequest Subscription::request() const {
  v1::SubscribeRequest req;
  switch (spec_.kind) {
    case SubscribeSpec::Kind::kStream: {
      req.set_stream(spec_.name);
      auto it = last_.find(spec_.name);
      uint64_t from = it != last_.end() ? it->second + 1 : spec_.from.value_or(0);
      req.mutable_from()->set_kind(v1::Position::NUMBER);
      req.mutable_from()->set_number(from);
      if (spec_.to) req.set_to(*spec_.to);
      break;
    }
    case SubscribeSpec::Kind::kPrefix:
      req.set_prefix(spec_.name);
      req.mutable_from()->set_kind(v1::Position::BEGINNING);
      break;
    case SubscribeSpec::Kind::kAll:
      req.set_all(true);
      req.mutable_from()->set_kind(v1::Position::BEGINNING);
      break;
  }
  return req;
}

bool Subscription::wanted(const v1::RecordedEvent& e) const {
  if (spec_.kind == SubscribeSpec::Kind::kStream) {
    if (e.stream() != spec_.name) return false;
    if (spec_.from && e.number() < *spec_.from) return false;
    if (spec_.to && e.number() > *spec_.to) return false;
  }
  auto it = last_.find(e.stream());
  return it == last_.end() || e.number() > it->second;
}

bool Subscription::reached_end() const {
  if (spec_.kind != SubscribeSpec::Kind::kStream || !spec_.to) return false;
  auto it = last_.find(spec_.name);
  return it != last_.end() && it->second >= *spec_.to;
}

grpc::Status Subscription::run(const std::function<bool(const v1::RecordedEvent&)>& on_event) {
  if (spec_.from_end) {
    for (;;) {
      auto s = resolve_from_end();
      if (s.ok()) break;
      if (!is_transient(s.error_code())) return s;
      auto wait = backoff_.next();
      note(verb_, std::string(code_name(s.error_code())) + ": " + s.error_message() + "; retrying in " +
                      std::to_string(wait.count()) + " ms");
      std::this_thread::sleep_for(wait);
      conn_.reset();
    }
    backoff_.reset();
  }
  for (;;) {
    if (reached_end()) return grpc::Status::OK;
    grpc::ClientContext ctx;
    auto reader = v1::Events::NewStub(conn_.channel())->Subscribe(&ctx, request());
    v1::SubscribeResponse resp;
    bool stopped = false;
    while (!stopped && reader->Read(&resp)) {
      backoff_.reset();
      for (const auto& e : resp.events()) {
        if (!wanted(e)) continue;
        last_[e.stream()] = e.number();
        if (!on_event(e)) {
          stopped = true;
          break;
        }
        if (reached_end()) {
          stopped = true;
          break;
        }
      }
    }
    if (stopped) {
      ctx.TryCancel();
      reader->Finish();
      return grpc::Status::OK;
    }
    grpc::Status status = reader->Finish();
    if (status.ok() && spec_.to) return grpc::Status::OK;  // the server ended it at `to`
    if (!status.ok() && !is_transient(status.error_code())) return status;
    auto wait = backoff_.next();
    std::string where;
    if (spec_.kind == SubscribeSpec::Kind::kStream) {
      auto it = last_.find(spec_.name);
      uint64_t from = it != last_.end() ? it->second + 1 : spec_.from.value_or(0);
      where = "; resuming at " + spec_.name + ":" + std::to_string(from);
    } else {
      where = "; resuming after the last event of each stream";
    }
    note(verb_, std::string(status.ok() ? "the server ended the subscription" : code_name(status.error_code())) +
                    (status.error_message().empty() ? "" : ": " + status.error_message()) + "; reconnecting in " +
                    std::to_string(wait.count()) + " ms" + where);
    std::this_thread::sleep_for(wait);
    conn_.reset();
  }
}

}  // namespace redcar::ctl
