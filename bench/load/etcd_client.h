// The etcd v3 client: KV.Put and KV.Range through the generated stubs and
// grpc++'s callback API, --clients calls outstanding at once spread over
// --channels channels; no thread per call, completions run on gRPC's own
// threads. Speaks to etcd and to redcar's etcd-compatible front end alike.
//
// etcd-range and etcd-mixed write every key first, so that a Range that
// finds nothing is an error rather than a fast empty answer. Ranges are
// etcd's default (linearizable) reads.
#pragma once

#include <memory>

#include "client.h"
#include "options.h"

namespace redcar::load {

std::unique_ptr<Client> make_etcd_client(const Options& options);

}  // namespace redcar::load
