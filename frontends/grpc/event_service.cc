#include "frontends/grpc/event_service.h"

#include <google/protobuf/util/time_util.h>

#include "frontends/grpc/append_stream.h"
#include "frontends/grpc/cloudevent_codec.h"
#include "frontends/grpc/consume_session.h"
#include "frontends/grpc/encoded_events.h"
#include "frontends/grpc/event_readers.h"
#include "frontends/grpc/event_requests.h"
#include "frontends/grpc/grpc_status.h"

namespace redcar::grpcfe {

namespace v1 = ::redcar::v1;

namespace {

grpc::ServerUnaryReactor* answer(grpc::CallbackServerContext* call, grpc::Status st) {
  auto* r = call->DefaultReactor();
  r->Finish(std::move(st));
  return r;
}

grpc::Status check_stream(const std::string& name) {
  auto why = check_name("stream", name, limits::kMaxNameBytes);
  return why.empty() ? grpc::Status::OK : invalid_argument(why);
}

grpc::Status check_group(const std::string& name) {
  auto why = check_name("group", name, kMaxGroupNameBytes);
  return why.empty() ? grpc::Status::OK : invalid_argument(why);
}

grpc::Status not_found(const std::string& stream) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "stream '" + stream + "' not found");
}

}  // namespace

EventService::EventService(ServiceContext& ctx) : ctx_(ctx), consumers_(std::make_shared<ConsumerRegistry>()) {
  for (unsigned i = 0; i < ctx.engine.shard_count(); ++i) encoded_.push_back(std::make_unique<EncodedEvents>());
}
EventService::~EventService() = default;

grpc::ServerUnaryReactor* EventService::Append(grpc::CallbackServerContext* call, const v1::AppendRequest* req,
                                               v1::AppendResponse* resp) {
  AppendCall a;
  // The request is this call's, and nothing reads it after the decode: its
  // strings may be moved out rather than copied.
  if (auto st = decode_append(*const_cast<v1::AppendRequest*>(req), ctx_.options, &a); !st.ok()) {
    return answer(call, st);
  }
  auto* r = call->DefaultReactor();
  std::string stream = a.stream;
  ctx_.engine.append(std::move(a.stream), std::move(a.events), std::move(a.options),
                     [r, resp, call, stream = std::move(stream)](Result<AppendResult> res) {
                       if (!res) return r->Finish(append_failure(res.status(), call));
                       encode_append(stream, *res, resp);
                       r->Finish(grpc::Status::OK);
                     });
  return r;
}

grpc::ServerReadReactor<v1::AppendRequest>* EventService::AppendStream(grpc::CallbackServerContext* call,
                                                                       v1::AppendStreamResponse* resp) {
  return new AppendStreamReactor(ctx_, call, resp);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventService::Read(grpc::CallbackServerContext* call,
                                                               const grpc::ByteBuffer* req) {
  return start_read(ctx_, call, req);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventService::Subscribe(grpc::CallbackServerContext* call,
                                                                   const grpc::ByteBuffer* req) {
  return start_subscribe(ctx_, encoded_, call, req);
}

grpc::ServerUnaryReactor* EventService::ListStreams(grpc::CallbackServerContext* call,
                                                    const v1::ListStreamsRequest* req,
                                                    v1::ListStreamsResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  uint32_t limit = req->limit();
  ctx_.engine.list_streams(req->prefix(), [r, resp, limit](Result<std::vector<std::string>> names) {
    if (!names) return r->Finish(to_grpc(names.status()));
    for (auto& n : *names) {
      if (redis_database_of(n) != 0) continue;  // Redis's databases 1 and up keep their own
      if (limit && static_cast<uint32_t>(resp->streams_size()) >= limit) break;
      resp->add_streams(wire_name(n));
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* EventService::DescribeStream(grpc::CallbackServerContext* call,
                                                       const v1::DescribeStreamRequest* req,
                                                       v1::DescribeStreamResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  if (auto st = check_stream(req->stream()); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  ctx_.engine.stream_info(req->stream(), [r, resp](Result<StreamInfo> info) {
    if (!info) return r->Finish(to_grpc(info.status()));
    if (!info->exists) return r->Finish(not_found(info->name));
    resp->set_stream(info->name);
    resp->set_length(info->length);
    resp->set_first_number(info->first_number);
    resp->set_next_number(info->next_number);
    resp->set_bytes(info->bytes);
    *resp->mutable_created() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(info->created_us);
    resp->set_last_redis_id(info->last_id.to_string());
    for (auto& g : info->groups) {
      auto* d = resp->add_groups();
      d->set_name(wire_name(g.name));
      d->set_pending(g.pending);
      d->set_consumers(g.consumers);
      if (g.lag) d->set_lag(*g.lag);
      d->set_last_delivered_redis_id(g.last_delivered.to_string());
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* EventService::Trim(grpc::CallbackServerContext* call, const v1::TrimRequest* req,
                                             v1::TrimResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  if (auto st = check_stream(req->stream()); !st.ok()) return answer(call, st);
  TrimSpec spec;
  switch (req->rule_case()) {
    case v1::TrimRequest::kMaxCount:
      spec.kind = TrimSpec::Kind::kMaxCount;
      spec.value = req->max_count();
      break;
    case v1::TrimRequest::kMaxAgeMs:
      spec.kind = TrimSpec::Kind::kMaxAge;
      spec.value = req->max_age_ms();
      break;
    case v1::TrimRequest::kMaxBytes:
      spec.kind = TrimSpec::Kind::kMaxBytes;
      spec.value = req->max_bytes();
      break;
    case v1::TrimRequest::kBeforeNumber:
      spec.kind = TrimSpec::Kind::kMinNumber;
      spec.value = req->before_number();
      break;
    default: return answer(call, invalid_argument("a trim needs a rule: max_count, max_age_ms, max_bytes or before_number"));
  }
  if (spec.kind == TrimSpec::Kind::kMaxAge && spec.value > (uint64_t{1} << 53)) {
    return answer(call, out_of_range("max_age_ms is out of range"));
  }
  auto* r = call->DefaultReactor();
  std::string stream = req->stream();
  ctx_.engine.stream_info(stream, [this, r, resp, stream, spec](Result<StreamInfo> info) {
    if (!info) return r->Finish(to_grpc(info.status()));
    if (!info->exists) return r->Finish(not_found(stream));
    ctx_.engine.trim(stream, spec, [r, resp](Result<uint64_t> removed) {
      if (!removed) return r->Finish(to_grpc(removed.status()));
      resp->set_removed(*removed);
      r->Finish(grpc::Status::OK);
    });
  });
  return r;
}

grpc::ServerUnaryReactor* EventService::DeleteStream(grpc::CallbackServerContext* call,
                                                     const v1::DeleteStreamRequest* req,
                                                     v1::DeleteStreamResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  if (auto st = check_stream(req->stream()); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  ctx_.engine.delete_stream(req->stream(), [r, resp](Result<bool> existed) {
    if (!existed) return r->Finish(to_grpc(existed.status()));
    resp->set_existed(*existed);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* EventService::CreateGroup(grpc::CallbackServerContext* call,
                                                    const v1::CreateGroupRequest* req,
                                                    v1::CreateGroupResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  if (auto st = check_stream(req->stream()); !st.ok()) return answer(call, st);
  if (auto st = check_group(req->group()); !st.ok()) return answer(call, st);
  if (auto st = check_position(req->from()); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  std::string stream = req->stream(), group = req->group();
  bool mkstream = req->create_stream();
  group_start(ctx_.engine, stream, req->from(), [this, r, resp, stream, group, mkstream](Result<GroupStart> at) {
    if (!at) return r->Finish(to_grpc(at.status()));
    ctx_.engine.group_create(stream, group, at->last, mkstream, at->entries_read, [r, resp, stream](Result<bool> ok) {
      if (!ok && ok.status().code() == Code::kAlreadyExists) {
        resp->set_created(false);
        return r->Finish(grpc::Status::OK);
      }
      if (!ok && ok.status().code() == Code::kNotFound) return r->Finish(not_found(stream));
      if (!ok) return r->Finish(to_grpc(ok.status()));
      resp->set_created(true);
      r->Finish(grpc::Status::OK);
    });
  });
  return r;
}

grpc::ServerUnaryReactor* EventService::DeleteGroup(grpc::CallbackServerContext* call,
                                                    const v1::DeleteGroupRequest* req,
                                                    v1::DeleteGroupResponse* resp) {
  if (auto st = check_size(*req, ctx_.options); !st.ok()) return answer(call, st);
  if (auto st = check_stream(req->stream()); !st.ok()) return answer(call, st);
  if (auto st = check_group(req->group()); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  ctx_.engine.group_destroy(req->stream(), req->group(), [r, resp](Result<bool> existed) {
    if (!existed) return r->Finish(to_grpc(existed.status()));
    resp->set_existed(*existed);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* EventService::Consume(
    grpc::CallbackServerContext* call) {
  return start_consume(ctx_, consumers_, call);
}

}  // namespace redcar::grpcfe
