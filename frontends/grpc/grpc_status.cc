#include "frontends/grpc/grpc_status.h"

namespace redcar::grpcfe {

grpc::Status to_grpc(const Status& s) {
  using G = grpc::StatusCode;
  G code = G::UNKNOWN;
  switch (s.code()) {
    case Code::kOk: return grpc::Status::OK;
    case Code::kIoError: code = G::UNAVAILABLE; break;
    case Code::kNoSpace: code = G::RESOURCE_EXHAUSTED; break;
    case Code::kCorruption: code = G::DATA_LOSS; break;
    case Code::kNotFound: code = G::NOT_FOUND; break;
    case Code::kAlreadyExists: code = G::ALREADY_EXISTS; break;
    case Code::kInvalidArgument: code = G::INVALID_ARGUMENT; break;
    case Code::kOutOfRange: code = G::OUT_OF_RANGE; break;
    case Code::kWrongExpectedVersion: code = G::FAILED_PRECONDITION; break;
    case Code::kFailedPrecondition: code = G::FAILED_PRECONDITION; break;
    case Code::kResourceExhausted: code = G::RESOURCE_EXHAUSTED; break;
    case Code::kBusy: code = G::UNAVAILABLE; break;
    case Code::kUnavailable: code = G::UNAVAILABLE; break;
    case Code::kCompacted: code = G::OUT_OF_RANGE; break;
    case Code::kWrongType: code = G::FAILED_PRECONDITION; break;
  }
  return grpc::Status(code, s.message());
}

grpc::Status invalid_argument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::Status out_of_range(std::string message) {
  return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, std::move(message));
}

std::string check_name(std::string_view what, std::string_view name, size_t max_bytes) {
  if (name.empty()) return std::string(what) + " name is empty";
  if (name.size() > max_bytes) {
    return std::string(what) + " name is " + std::to_string(name.size()) + " bytes, more than " +
           std::to_string(max_bytes);
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return std::string(what) + " name holds a control character";
  }
  return {};
}

}  // namespace redcar::grpcfe
