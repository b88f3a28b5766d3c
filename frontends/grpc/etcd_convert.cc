#include "frontends/grpc/etcd_convert.h"

#include <algorithm>

namespace redcar::grpcfe::etcd {

void fill_header(const GrpcOptions& opt, int64_t revision, pb::ResponseHeader* h) {
  h->set_cluster_id(opt.cluster_id);
  h->set_member_id(opt.member_id);
  h->set_revision(revision);
  h->set_raft_term(1);
}

void to_pb(const KeyValue& kv, ::mvccpb::KeyValue* out) {
  out->set_key(kv.key);
  out->set_value(kv.value);
  out->set_create_revision(kv.create_revision);
  out->set_mod_revision(kv.mod_revision);
  out->set_version(kv.version);
}

std::string etcd_error_text(const Status& s) {
  // The texts etcd's clients match on (etcd's rpctypes), from the cause.
  if (s.code() == Code::kCompacted) return "etcdserver: mvcc: required revision has been compacted";
  switch (s.reason()) {
    case Reason::kFutureRevision: return "etcdserver: mvcc: required revision is a future revision";
    case Reason::kKeyMissing: return "etcdserver: key is not provided";
    case Reason::kDuplicateKey: return "etcdserver: duplicate key given in txn request";
    case Reason::kNoKey: return "etcdserver: key not found";
    case Reason::kTooLarge: return "etcdserver: request is too large";
    default: return s.message();
  }
}

grpc::Status etcd_status(const Status& s) {
  std::string text = etcd_error_text(s);
  switch (s.code()) {
    case Code::kCompacted:
    case Code::kOutOfRange: return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, text);
    // etcd answers "key not found" (ignore_value on a missing key) as a bad
    // argument, not as NOT_FOUND.
    case Code::kNotFound:
    case Code::kInvalidArgument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, text);
    default: return grpc::Status(to_grpc(s).error_code(), text);
  }
}

grpc::Status too_large() { return invalid_argument("etcdserver: request is too large"); }
grpc::Status no_key() { return invalid_argument("etcdserver: key is not provided"); }

grpc::Status plan_range(const pb::RangeRequest& in, RangePlan* plan) {
  if (in.key().empty()) return no_key();
  if (!pb::RangeRequest::SortOrder_IsValid(in.sort_order()) || !pb::RangeRequest::SortTarget_IsValid(in.sort_target())) {
    return invalid_argument("etcdserver: invalid sort option");
  }
  if (in.limit() < 0) return invalid_argument("etcdserver: negative limit");
  RangeRequest& r = plan->request;
  r.key = in.key();
  r.range_end = in.range_end();
  r.revision = in.revision();
  r.keys_only = in.keys_only();
  r.count_only = in.count_only();
  plan->order = in.sort_order();
  plan->target = in.sort_target();
  // etcd sorts by the target ascending when a target but no order is given.
  if (plan->target != pb::RangeRequest::KEY && plan->order == pb::RangeRequest::NONE) {
    plan->order = pb::RangeRequest::ASCEND;
  }
  plan->min_mod = in.min_mod_revision();
  plan->max_mod = in.max_mod_revision();
  plan->min_create = in.min_create_revision();
  plan->max_create = in.max_create_revision();
  bool filtered = plan->min_mod || plan->max_mod || plan->min_create || plan->max_create;
  bool key_order = plan->target == pb::RangeRequest::KEY && plan->order != pb::RangeRequest::DESCEND;
  plan->limit = in.limit();
  plan->post = filtered || !key_order;
  // The engine returns keys in key order: it can apply the limit itself only
  // when nothing reorders or removes keys afterwards.
  r.limit = plan->post ? 0 : in.limit();
  return grpc::Status::OK;
}

void finish_range(const RangePlan& plan, RangeResult result, const GrpcOptions& opt, pb::RangeResponse* out) {
  fill_header(opt, result.revision, out->mutable_header());
  out->set_count(result.count);
  auto& kvs = result.kvs;
  bool more = result.more;
  if (plan.post) {
    auto drop = [&](const KeyValue& kv) {
      return (plan.min_mod && kv.mod_revision < plan.min_mod) || (plan.max_mod && kv.mod_revision > plan.max_mod) ||
             (plan.min_create && kv.create_revision < plan.min_create) ||
             (plan.max_create && kv.create_revision > plan.max_create);
    };
    kvs.erase(std::remove_if(kvs.begin(), kvs.end(), drop), kvs.end());
    if (plan.order != pb::RangeRequest::NONE) {
      auto key_of = [&](const KeyValue& kv) -> std::pair<int64_t, const std::string*> {
        switch (plan.target) {
          case pb::RangeRequest::VERSION: return {kv.version, nullptr};
          case pb::RangeRequest::CREATE: return {kv.create_revision, nullptr};
          case pb::RangeRequest::MOD: return {kv.mod_revision, nullptr};
          case pb::RangeRequest::VALUE: return {0, &kv.value};
          default: return {0, &kv.key};
        }
      };
      auto less = [&](const KeyValue& a, const KeyValue& b) {
        auto ka = key_of(a), kb = key_of(b);
        if (ka.second) return *ka.second < *kb.second;
        return ka.first < kb.first;
      };
      if (plan.order == pb::RangeRequest::DESCEND) {
        std::stable_sort(kvs.begin(), kvs.end(), [&](const KeyValue& a, const KeyValue& b) { return less(b, a); });
      } else {
        std::stable_sort(kvs.begin(), kvs.end(), less);
      }
    }
    if (plan.limit > 0 && static_cast<int64_t>(kvs.size()) > plan.limit) {
      kvs.resize(static_cast<size_t>(plan.limit));
      more = true;
    }
  }
  out->set_more(more);
  for (const auto& kv : kvs) to_pb(kv, out->add_kvs());
}

grpc::Status plan_put(const pb::PutRequest& in, KvOp* out) {
  if (in.key().empty()) return no_key();
  // redcar has no leases: a key can only be attached to one that exists.
  if (in.lease() != 0) return grpc::Status(grpc::StatusCode::NOT_FOUND, "etcdserver: requested lease not found");
  out->kind = KvOp::Kind::kPut;
  out->range.key = in.key();
  out->value = in.value();
  out->prev_kv = in.prev_kv();
  out->ignore_value = in.ignore_value();
  return grpc::Status::OK;
}

grpc::Status plan_delete(const pb::DeleteRangeRequest& in, KvOp* out) {
  if (in.key().empty()) return no_key();
  out->kind = KvOp::Kind::kDelete;
  out->range.key = in.key();
  out->range.range_end = in.range_end();
  out->prev_kv = in.prev_kv();
  return grpc::Status::OK;
}

namespace {

grpc::Status plan_ops(const google::protobuf::RepeatedPtrField<pb::RequestOp>& in, const GrpcOptions& opt,
                      std::vector<KvOp>* out, std::vector<OpPlan>* plans) {
  for (const auto& op : in) {
    KvOp k;
    OpPlan plan;
    grpc::Status st;
    switch (op.request_case()) {
      case pb::RequestOp::kRequestRange:
        st = plan_range(op.request_range(), &plan.range);
        k.kind = KvOp::Kind::kRange;
        k.range = plan.range.request;
        break;
      case pb::RequestOp::kRequestPut: st = plan_put(op.request_put(), &k); break;
      case pb::RequestOp::kRequestDeleteRange: st = plan_delete(op.request_delete_range(), &k); break;
      case pb::RequestOp::kRequestTxn:
        k.kind = KvOp::Kind::kTxn;
        plan.txn = std::make_shared<TxnPlans>();
        st = plan_txn(op.request_txn(), opt, &k.txn.emplace_back(), plan.txn.get());
        break;
      default: return invalid_argument("etcdserver: a transaction operation has no request");
    }
    if (!st.ok()) return st;
    out->push_back(std::move(k));
    plans->push_back(std::move(plan));
  }
  return grpc::Status::OK;
}

// A comparison whose outcome does not depend on the store: a key's version
// is never negative, so "version > -1" always holds and "version < 0" never.
KvCompare constant(const std::string& key, bool outcome) {
  KvCompare c;
  c.target = KvCompare::Target::kVersion;
  c.key = key;
  c.op = outcome ? KvCompare::Op::kGreater : KvCompare::Op::kLess;
  c.number = outcome ? -1 : 0;
  return c;
}

}  // namespace

grpc::Status plan_txn(const pb::TxnRequest& in, const GrpcOptions& opt, TxnRequest* out, TxnPlans* plans) {
  size_t ops = static_cast<size_t>(std::max({in.compare_size(), in.success_size(), in.failure_size()}));
  if (ops > opt.max_txn_ops) return invalid_argument("etcdserver: too many operations in txn request");
  for (const auto& c : in.compare()) {
    if (!pb::Compare::CompareResult_IsValid(c.result()) || !pb::Compare::CompareTarget_IsValid(c.target())) {
      return invalid_argument("etcdserver: invalid compare");
    }
    if (c.key().empty()) return no_key();
    KvCompare k;
    k.key = c.key();
    k.range_end = c.range_end();
    switch (c.result()) {
      case pb::Compare::EQUAL: k.op = KvCompare::Op::kEqual; break;
      case pb::Compare::GREATER: k.op = KvCompare::Op::kGreater; break;
      case pb::Compare::LESS: k.op = KvCompare::Op::kLess; break;
      default: k.op = KvCompare::Op::kNotEqual; break;
    }
    switch (c.target()) {
      case pb::Compare::VERSION:
        k.target = KvCompare::Target::kVersion;
        k.number = c.version();
        break;
      case pb::Compare::CREATE:
        k.target = KvCompare::Target::kCreate;
        k.number = c.create_revision();
        break;
      case pb::Compare::MOD:
        k.target = KvCompare::Target::kMod;
        k.number = c.mod_revision();
        break;
      case pb::Compare::VALUE:
        k.target = KvCompare::Target::kValue;
        k.value = c.value();
        break;
      default: {
        // Every key's lease is 0 here (no leases), and a missing key
        // compares as 0 too, as in etcd: the outcome is known now.
        int64_t want = c.lease();
        bool ok = c.result() == pb::Compare::EQUAL     ? want == 0
                  : c.result() == pb::Compare::GREATER ? 0 > want
                  : c.result() == pb::Compare::LESS    ? 0 < want
                                                       : want != 0;
        k = constant(c.key(), ok);
        break;
      }
    }
    out->compare.push_back(std::move(k));
  }
  if (auto st = plan_ops(in.success(), opt, &out->success, &plans->success); !st.ok()) return st;
  return plan_ops(in.failure(), opt, &out->failure, &plans->failure);
}

// etcd puts a header with the transaction's revision in each response.
void fill_txn(const GrpcOptions& opt, const TxnRequest& txn, const TxnPlans& plans, int64_t revision,
              TxnResult& res, pb::TxnResponse* out) {
  fill_header(opt, revision, out->mutable_header());
  out->set_succeeded(res.succeeded);
  const std::vector<KvOp>& ops = res.succeeded ? txn.success : txn.failure;
  const std::vector<OpPlan>& op_plans = res.succeeded ? plans.success : plans.failure;
  for (size_t i = 0; i < ops.size() && i < res.results.size(); ++i) {
    auto& r = res.results[i];
    auto* op = out->add_responses();
    switch (ops[i].kind) {
      case KvOp::Kind::kRange: {
        r.range.revision = revision;
        finish_range(op_plans[i].range, std::move(r.range), opt, op->mutable_response_range());
        break;
      }
      case KvOp::Kind::kPut: {
        auto* p = op->mutable_response_put();
        fill_header(opt, revision, p->mutable_header());
        if (!r.prev.empty()) to_pb(r.prev.front(), p->mutable_prev_kv());
        break;
      }
      case KvOp::Kind::kDelete: {
        auto* d = op->mutable_response_delete_range();
        fill_header(opt, revision, d->mutable_header());
        d->set_deleted(r.deleted);
        for (auto& kv : r.prev) to_pb(kv, d->add_prev_kvs());
        break;
      }
      case KvOp::Kind::kTxn:
        fill_txn(opt, ops[i].txn.front(), *op_plans[i].txn, revision, r.txn.front(), op->mutable_response_txn());
        break;
    }
  }
}

}  // namespace redcar::grpcfe::etcd
