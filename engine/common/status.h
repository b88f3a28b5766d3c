// Errors as values. Every fallible engine operation returns a Status or a
// Result<T>; nothing in the engine throws across its boundary. A Status names
// what went wrong (a code) and where (a message), and carries the errno when
// the cause was the operating system, so that -EIO and -ENOSPC reach callers
// unchanged.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace redcar {

enum class Code : uint8_t {
  kOk = 0,
  kIoError,             // the disk said no (errno kept)
  kNoSpace,             // ENOSPC
  kCorruption,          // a checksum or structure check failed
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kOutOfRange,
  kWrongExpectedVersion,  // optimistic concurrency check failed
  kFailedPrecondition,
  kResourceExhausted,     // a configured limit was reached
  kBusy,                  // data folder locked by another process
  kUnavailable,           // shutting down, or the log failed earlier (sticky)
  kCompacted,             // asked for a revision older than the compaction point
  kWrongType,
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int sys_errno = 0)
      : code_(code), errno_(sys_errno), message_(std::move(message)) {}

  static Status ok() { return {}; }
  // Maps a negative errno from the io layer to a Status.
  static Status from_errno(int neg_errno, std::string context);

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // A number some codes carry for callers that act on it rather than print
  // it. kWrongExpectedVersion: the stream's last event number, -1 if it has
  // no events. kCompacted ending a watch: the compaction revision.
  int64_t detail() const { return detail_; }
  Status&& with_detail(int64_t d) && {
    detail_ = d;
    return std::move(*this);
  }

 private:
  Code code_ = Code::kOk;
  int errno_ = 0;
  int64_t detail_ = 0;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace redcar

// Always-on invariant check for durability-critical state: a violated
// invariant means the in-memory view no longer matches the log, and carrying
// on would acknowledge data that is not there.
#define REDCAR_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::redcar::check_failed(#cond, __FILE__, __LINE__);          \
  } while (0)

// Debug-only check, for invariants inside hot loops: compiled out with NDEBUG.
#ifdef NDEBUG
#define REDCAR_DCHECK(cond) \
  do {                      \
  } while (0)
#else
#define REDCAR_DCHECK(cond) REDCAR_CHECK(cond)
#endif

namespace redcar {
[[noreturn]] void check_failed(const char* expr, const char* file, int line);
}
