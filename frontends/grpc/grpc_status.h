// How engine errors become gRPC statuses: the one mapping every service
// uses, so a code means the same thing on every call. The message is the
// engine's, which says what went wrong.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "engine/common/status.h"

namespace redcar::grpcfe {

grpc::Status to_grpc(const Status& s);
grpc::Status invalid_argument(std::string message);
grpc::Status out_of_range(std::string message);

// Names of streams, groups and consumers on the native API: 1 to `max_bytes`
// bytes, no control characters. Empty when valid, else what is wrong.
std::string check_name(std::string_view what, std::string_view name, size_t max_bytes);

}  // namespace redcar::grpcfe
