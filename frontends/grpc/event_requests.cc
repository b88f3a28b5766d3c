#include "frontends/grpc/event_requests.h"

#include "frontends/grpc/cloudevent_codec.h"
#include "frontends/grpc/grpc_status.h"

namespace redcar::grpcfe {

namespace v1 = ::redcar::v1;

grpc::Status check_size(const google::protobuf::Message& m, const GrpcOptions& opt) {
  size_t n = m.ByteSizeLong();
  if (n <= opt.max_request_bytes) return grpc::Status::OK;
  return invalid_argument("request is " + std::to_string(n) + " bytes, more than the limit of " +
                          std::to_string(opt.max_request_bytes));
}

grpc::Status decode_append(v1::AppendRequest& in, const GrpcOptions& opt, AppendCall* out) {
  if (auto st = check_size(in, opt); !st.ok()) return st;
  if (auto why = check_name("stream", in.stream(), limits::kMaxNameBytes); !why.empty()) return invalid_argument(why);
  if (in.events_size() == 0) return invalid_argument("an append needs at least one event");
  if (static_cast<size_t>(in.events_size()) > limits::kMaxEventsPerAppend) {
    return out_of_range("an append carries at most " + std::to_string(limits::kMaxEventsPerAppend) + " events, not " +
                        std::to_string(in.events_size()));
  }
  const auto& ev = in.expected();
  if (!v1::ExpectedVersion::Kind_IsValid(ev.kind())) {
    return invalid_argument("unknown expected version kind " + std::to_string(ev.kind()));
  }
  switch (ev.kind()) {
    case v1::ExpectedVersion::NO_STREAM: out->options.expected = ExpectedVersion::no_stream(); break;
    case v1::ExpectedVersion::STREAM_EXISTS: out->options.expected = ExpectedVersion::exists(); break;
    case v1::ExpectedVersion::EXACT: out->options.expected = ExpectedVersion::exact(ev.last_number()); break;
    default: out->options.expected = ExpectedVersion::any(); break;
  }
  out->stream = in.stream();
  out->events.resize(static_cast<size_t>(in.events_size()));
  for (int i = 0; i < in.events_size(); ++i) {
    if (auto st = decode_cloudevent(*in.mutable_events(i), static_cast<size_t>(i), &out->events[static_cast<size_t>(i)]);
        !st.ok()) {
      return st;
    }
  }
  return grpc::Status::OK;
}

void encode_append(const std::string& stream, const AppendResult& r, v1::AppendResponse* out) {
  out->set_stream(stream);
  out->set_first_number(r.first_number);
  out->set_last_number(r.last_number);
  out->set_duplicate(r.duplicate);
}

grpc::Status append_failure(const Status& s, grpc::CallbackServerContext* call) {
  if (s.code() == Code::kWrongExpectedVersion && call) {
    call->AddTrailingMetadata(kActualVersionKey, std::to_string(s.detail()));
  }
  return to_grpc(s);
}

grpc::Status check_position(const v1::Position& p) {
  if (!v1::Position::Kind_IsValid(p.kind())) return invalid_argument("unknown position kind " + std::to_string(p.kind()));
  return grpc::Status::OK;
}

SubscribeOptions subscribe_options(const v1::Position& p) {
  SubscribeOptions o;
  switch (p.kind()) {
    case v1::Position::END: o.from = SubscribeOptions::From::kEnd; break;
    case v1::Position::NUMBER:
      o.from = SubscribeOptions::From::kNumber;
      o.number = p.number();
      break;
    default: o.from = SubscribeOptions::From::kStart; break;
  }
  return o;
}

void group_start(Engine& engine, const std::string& stream, const v1::Position& p,
                 Callback<GroupStart> cb) {
  switch (p.kind()) {
    case v1::Position::END: return cb(GroupStart{StreamId::max(), std::nullopt});
    case v1::Position::NUMBER: {
      if (p.number() == 0) return cb(GroupStart{StreamId::min(), 0});
      // The newest event numbered below the start: the group has seen it.
      ReadSpec spec;
      spec.from_number = 0;
      spec.to_number = p.number() - 1;
      spec.count = 1;
      spec.reverse = true;
      uint64_t n = p.number();
      engine.read(stream, spec, [cb = std::move(cb), n](Result<ReadResult> r) {
        if (!r) return cb(r.status());
        // Past the end there is no event before the start to stand on: the
        // group would begin at the end instead.
        if (n > r->next_number) {
          return cb(Status(Code::kOutOfRange, "a group cannot start at " + std::to_string(n) +
                                                  ": the stream's next number is " + std::to_string(r->next_number)));
        }
        if (r->events.empty()) return cb(GroupStart{StreamId::min(), 0});
        cb(GroupStart{r->events.front().id, n});
      });
      return;
    }
    default: return cb(GroupStart{StreamId::min(), 0});
  }
}

}  // namespace redcar::grpcfe
