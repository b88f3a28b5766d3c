// etcd v3 messages <-> engine values: response headers, key-values, and
// Range's sorting and revision filters, which etcd applies after the lookup
// and which the engine leaves to the front end. Also the etcd error texts
// clients match on.
#pragma once

#include <grpcpp/support/status.h>

#include <memory>

#include "engine/common/types.h"
#include "etcd/etcdserverpb/rpc.pb.h"
#include "frontends/grpc/grpc_server.h"
#include "frontends/grpc/grpc_status.h"

namespace redcar::grpcfe::etcd {

namespace pb = ::etcdserverpb;

void fill_header(const GrpcOptions& opt, int64_t revision, pb::ResponseHeader* h);
void to_pb(const KeyValue& kv, ::mvccpb::KeyValue* out);

// Engine status -> gRPC status as etcd reports it, and its text alone.
grpc::Status etcd_status(const Status& s);
std::string etcd_error_text(const Status& s);
grpc::Status too_large();
grpc::Status no_key();

// A Range as the engine runs it, plus what is left to do afterwards.
struct RangePlan {
  RangeRequest request;
  pb::RangeRequest::SortOrder order = pb::RangeRequest::NONE;
  pb::RangeRequest::SortTarget target = pb::RangeRequest::KEY;
  int64_t limit = 0;      // applied after filters and sorting
  bool post = false;      // filters or sorting to apply
  int64_t min_mod = 0, max_mod = 0, min_create = 0, max_create = 0;
};
// INVALID_ARGUMENT for what etcd refuses (no key, a bad sort option).
grpc::Status plan_range(const pb::RangeRequest& in, RangePlan* plan);
void finish_range(const RangePlan& plan, RangeResult result, const GrpcOptions& opt, pb::RangeResponse* out);

// What is left to do for the answer of each op of a transaction, by
// branch: a range's sorting and filters, a nested transaction's own ops.
struct TxnPlans;
struct OpPlan {
  RangePlan range;
  std::shared_ptr<TxnPlans> txn;
};
struct TxnPlans {
  std::vector<OpPlan> success, failure;
};
// A transaction (or a lone put / delete) as the engine runs it, nested
// transactions included (etcd refuses more than max_txn_ops ops in any
// one of them).
grpc::Status plan_txn(const pb::TxnRequest& in, const GrpcOptions& opt, TxnRequest* out, TxnPlans* plans);
// The responses of the branch the engine ran, nested ones within.
void fill_txn(const GrpcOptions& opt, const TxnRequest& txn, const TxnPlans& plans, int64_t revision,
              TxnResult& res, pb::TxnResponse* out);
grpc::Status plan_put(const pb::PutRequest& in, KvOp* out);
grpc::Status plan_delete(const pb::DeleteRangeRequest& in, KvOp* out);

}  // namespace redcar::grpcfe::etcd
