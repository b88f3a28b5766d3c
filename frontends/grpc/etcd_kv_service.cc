#include "frontends/grpc/etcd_kv_service.h"

#include "frontends/grpc/etcd_convert.h"

namespace redcar::grpcfe::etcd {

namespace {

grpc::ServerUnaryReactor* answer(grpc::CallbackServerContext* call, grpc::Status st) {
  auto* r = call->DefaultReactor();
  r->Finish(std::move(st));
  return r;
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
    TxnPlans answer;
  };
  auto p = std::make_shared<Plans>();
  if (auto st = plan_txn(*req, ctx_.options, &p->txn, &p->answer); !st.ok()) return answer(call, st);
  auto* r = call->DefaultReactor();
  // Lent: the plans outlive the call.
  ctx_.engine.kv_txn_lent(&p->txn, [this, r, resp, p](Result<TxnResult> res) {
    if (!res) return r->Finish(etcd_status(res.status()));
    fill_txn(ctx_.options, p->txn, p->answer, res->revision, *res, resp);
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
