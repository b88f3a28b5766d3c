#include "engine/common/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace redcar {

const char* code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kIoError: return "io error";
    case Code::kNoSpace: return "no space";
    case Code::kCorruption: return "corruption";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kOutOfRange: return "out of range";
    case Code::kWrongExpectedVersion: return "wrong expected version";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kBusy: return "busy";
    case Code::kUnavailable: return "unavailable";
    case Code::kCompacted: return "compacted";
    case Code::kWrongType: return "wrong type";
  }
  return "unknown";
}

Status Status::from_errno(int neg_errno, std::string context) {
  int e = neg_errno < 0 ? -neg_errno : neg_errno;
  std::string msg = std::move(context);
  msg += ": ";
  msg += std::strerror(e);
  return Status(e == ENOSPC ? Code::kNoSpace : Code::kIoError, std::move(msg), e);
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string s = code_name(code_);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace redcar
