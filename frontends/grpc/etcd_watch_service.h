// etcdserverpb.Watch: one bidirectional stream carries any number of
// watches, each an engine key-value watch on a key or range from a revision.
// A stream's session lives on the key-value shard's thread, where the
// engine delivers its batches, so nothing in it needs a lock.
//
// As etcd does: a create is answered `created` (with the store's revision)
// before any of its events; a watch from a compacted revision is then
// cancelled with `compact_revision` set; a cancel is answered `canceled`;
// progress_notify watches hear the revision when idle; the NOPUT/NODELETE
// filters and fragmenting of large responses are applied here. Flow: a
// watch's next batch is asked of the engine only once its last one is
// written, and requests stop being read while responses pile up, so a
// client that does not read holds the server to a bounded amount.
#pragma once

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "frontends/grpc/grpc_server.h"

namespace redcar::grpcfe::etcd {

class WatchService final : public ::etcdserverpb::Watch::CallbackService {
 public:
  explicit WatchService(ServiceContext& ctx) : ctx_(ctx) {}
  grpc::ServerBidiReactor<::etcdserverpb::WatchRequest, ::etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext* call) override;

 private:
  ServiceContext& ctx_;
};

}  // namespace redcar::grpcfe::etcd
