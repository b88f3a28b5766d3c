#include "frontends/grpc/etcd_kv_service.h"

#include "frontends/grpc/etcd_convert.h"

namespace redcar::grpcfe::etcd {

namespace {

grpc::ServerUnaryReactor* answer(grpc::CallbackServerContext* call, grpc::Status st) {
  auto* r = call->DefaultReactor();
  r->Finish(std::move(st));
  return r;
}

// Fills a TxnResponse's per-operation results (etcd puts a header with the
// transaction's revision in each).
void fill_results(const GrpcOptions& opt, const std::vector<KvOp>& ops, const std::vector<RangePlan>& plans,
                  TxnResult& res, pb::TxnResponse* out) {
  for (size_t i = 0; i < ops.size() && i < res.results.size(); ++i) {
    auto& r = res.results[i];
    auto* op = out->add_responses();
    switch (ops[i].kind) {
      case KvOp::Kind::kRange: {
        r.range.revision = res.revision;
        finish_range(plans[i], std::move(r.range), opt, op->mutable_response_range());
        break;
      }
      case KvOp::Kind::kPut: {
        auto* p = op->mutable_response_put();
        fill_header(opt, res.revision, p->mutable_header());
        if (!r.prev.empty()) to_pb(r.prev.front(), p->mutable_prev_kv());
        break;
      }
      case KvOp::Kind::kDelete: {
        auto* d = op->mutable_response_delete_range();
        fill_header(opt, res.revision, d->mutable_header());
        d->set_deleted(r.deleted);
        for (auto& kv : r.prev) to_pb(kv, d->add_prev_kvs());
        break;
      }
    }
  }
}

}  // namespace

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* call, const pb::RangeRequest* req,
                                           pb::RangeResponse* resp) {
  if (req->ByteSizeLong() > ctx_.options.max_request_bytes) return answer(call, too_large());
  RangePlan plan;
  if (auto st = plan_range(*req, &plan); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  RangeRequest q = plan.request;
  ctx_.engine.kv_range(std::move(q), [this, r, resp, plan = std::move(plan)](Result<RangeResult> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    finish_range(plan, std::move(*res), ctx_.options, resp);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* call, const pb::PutRequest* req,
                                         pb::PutResponse* resp) {
  if (req->ByteSizeLong() > ctx_.options.max_request_bytes) return answer(call, too_large());
  TxnRequest t;
  KvOp op;
  if (auto st = plan_put(*req, &op); !st.ok()) return answer(call, st);
  if (req->ignore_lease() && !req->ignore_value()) {
    // The key must exist (it keeps its lease, which is always none here).
    KvCompare exists;
    exists.target = KvCompare::Target::kVersion;
    exists.op = KvCompare::Op::kGreater;
    exists.key = req->key();
    exists.number = 0;
    t.compare.push_back(std::move(exists));
  }
  t.success.push_back(std::move(op));
  auto* r = call->DefaultReactor();
  ctx_.engine.kv_txn(std::move(t), [this, r, resp](Result<TxnResult> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    if (!res->succeeded) return r->Finish(invalid_argument("etcdserver: key not found"));
    fill_header(ctx_.options, res->revision, resp->mutable_header());
    if (!res->results.empty() && !res->results[0].prev.empty()) to_pb(res->results[0].prev[0], resp->mutable_prev_kv());
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* call, const pb::DeleteRangeRequest* req,
                                                 pb::DeleteRangeResponse* resp) {
  if (req->ByteSizeLong() > ctx_.options.max_request_bytes) return answer(call, too_large());
  TxnRequest t;
  KvOp op;
  if (auto st = plan_delete(*req, &op); !st.ok()) return answer(call, st);
  t.success.push_back(std::move(op));
  auto* r = call->DefaultReactor();
  ctx_.engine.kv_txn(std::move(t), [this, r, resp](Result<TxnResult> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    fill_header(ctx_.options, res->revision, resp->mutable_header());
    if (!res->results.empty()) {
      resp->set_deleted(res->results[0].deleted);
      for (auto& kv : res->results[0].prev) to_pb(kv, resp->add_prev_kvs());
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* call, const pb::TxnRequest* req,
                                         pb::TxnResponse* resp) {
  if (req->ByteSizeLong() > ctx_.options.max_request_bytes) return answer(call, too_large());
  struct Plans {
    TxnRequest txn;
    std::vector<RangePlan> success, failure;
  };
  auto p = std::make_shared<Plans>();
  if (auto st = plan_txn(*req, ctx_.options, &p->txn, &p->success, &p->failure); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  TxnRequest t = p->txn;
  ctx_.engine.kv_txn(std::move(t), [this, r, resp, p](Result<TxnResult> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    fill_header(ctx_.options, res->revision, resp->mutable_header());
    resp->set_succeeded(res->succeeded);
    if (res->succeeded) fill_results(ctx_.options, p->txn.success, p->success, *res, resp);
    else fill_results(ctx_.options, p->txn.failure, p->failure, *res, resp);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* call, const pb::CompactionRequest* req,
                                             pb::CompactionResponse* resp) {
  auto* r = call->DefaultReactor();
  ctx_.engine.kv_compact(req->revision(), [this, r, resp](Result<int64_t> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    ctx_.engine.kv_status([this, r, resp](Result<KvStatus> st) {
      if (!st) return r->Finish(etcd_status(st.status()));
      fill_header(ctx_.options, st->revision, resp->mutable_header());
      r->Finish(grpc::Status::OK);
    });
  });
  return r;
}

}  // namespace redcar::grpcfe::etcd
