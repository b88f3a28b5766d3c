#include "frontends/grpc/append_stream.h"

#include "frontends/grpc/grpc_status.h"

namespace redcar::grpcfe {

namespace v1 = ::redcar::v1;

AppendStreamReactor::AppendStreamReactor(ServiceContext& ctx, grpc::CallbackServerContext* call,
                                         v1::AppendStreamResponse* resp)
    : ctx_(ctx), call_(call), resp_(resp) {
  reading_ = true;
  StartRead(&req_);
}

void AppendStreamReactor::OnReadDone(bool ok) {
  Next next;
  {
    std::lock_guard lk(mu_);
    reading_ = false;
    if (!ok) {
      client_done_ = true;
    } else if (!failure_) {
      size_t index = received_++;
      results_.emplace_back();
      AppendCall a;
      if (auto st = decode_append(req_, ctx_.options, &a); !st.ok()) {
        failure_ = Failure{index, grpc::Status(st.error_code(), "append " + std::to_string(index) + ": " + st.error_message()),
                           std::nullopt};
      } else {
        in_flight_++;
        std::string stream = a.stream;
        // Handed to the shard in order: the engine call only posts.
        ctx_.engine.append(std::move(a.stream), std::move(a.events), std::move(a.options),
                           [this, index, stream = std::move(stream)](Result<AppendResult> r) mutable {
                             completed(index, std::move(r), std::move(stream));
                           });
      }
    }
    next = next_locked();
  }
  act(next);
}

void AppendStreamReactor::completed(size_t index, Result<AppendResult> r, std::string stream) {
  Next next;
  {
    std::lock_guard lk(mu_);
    in_flight_--;
    if (r) {
      applied_++;
      v1::AppendResponse out;
      encode_append(stream, *r, &out);
      results_[index] = std::move(out);
    } else if (!failure_ || failure_->index > index) {
      const Status& s = r.status();
      grpc::Status g = to_grpc(s);
      failure_ = Failure{index, grpc::Status(g.error_code(), "append " + std::to_string(index) + ": " + g.error_message()),
                         s.code() == Code::kWrongExpectedVersion ? std::optional<int64_t>(s.detail()) : std::nullopt};
    }
    next = next_locked();
  }
  act(next);
}

AppendStreamReactor::Next AppendStreamReactor::next_locked() {
  if (finished_) return Next::kNothing;
  bool stop_reading = client_done_ || failure_.has_value();
  if (stop_reading) {
    if (in_flight_ > 0) return Next::kNothing;
    finished_ = true;
    return Next::kFinish;
  }
  if (!reading_ && in_flight_ < kMaxAppendsInFlight) {
    reading_ = true;
    return Next::kRead;
  }
  return Next::kNothing;
}

void AppendStreamReactor::act(Next n) {
  if (n == Next::kRead) return StartRead(&req_);
  if (n != Next::kFinish) return;
  call_->AddTrailingMetadata(kAppendedKey, std::to_string(applied_));
  if (failure_) {
    if (failure_->actual_version) call_->AddTrailingMetadata(kActualVersionKey, std::to_string(*failure_->actual_version));
    return Finish(failure_->status);
  }
  uint64_t events = 0;
  for (auto& r : results_) {
    events += r->last_number() - r->first_number() + 1;
    *resp_->add_results() = std::move(*r);
  }
  resp_->set_appends(results_.size());
  resp_->set_events(events);
  Finish(grpc::Status::OK);
}

void AppendStreamReactor::OnCancel() {
  // The client is gone: appends in flight still finish (they are durable or
  // not, whoever waits), then the call ends.
  Next next;
  {
    std::lock_guard lk(mu_);
    client_done_ = true;
    if (!failure_) failure_ = Failure{SIZE_MAX, grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), std::nullopt};
    next = next_locked();
  }
  act(next);
}

void AppendStreamReactor::OnDone() { delete this; }

}  // namespace redcar::grpcfe
