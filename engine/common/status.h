// Errors as values. Every fallible engine operation returns a Status or a
// Result<T>; nothing in the engine throws across its boundary. A Status
// names what went wrong (a code, and for some codes a finer reason) and
// where (a message in neutral words), and carries the errno when the cause
// was the operating system, so that -EIO and -ENOSPC reach callers
// unchanged. The engine never words an error the way one protocol does:
// front ends build Redis or etcd texts from the code and reason.
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
  kWrongType,             // the name is held by another kind of thing (a stream, a key)
};

// Why, finer than the code, where a protocol words causes differently.
enum class Reason : uint8_t {
  kNone = 0,
  // kNotFound
  kNoStream,        // the stream does not exist
  kNoGroup,         // the stream has no such consumer group
  kNoKey,           // a key-value write that needs the key found none
  // kAlreadyExists
  kGroupExists,
  // kInvalidArgument
  kIdZero,                  // an explicit stream ID of 0-0
  kIdNotAfterLast,          // an ID not above the stream's last ID
  kIdOverflow,              // the sequence part would overflow
  kLastIdBelowTop,          // a new last ID below the stream's newest event
  kEntriesAddedBelowLength, // entries-added below the stream's length
  kKeyMissing,              // a key-value operation without a key
  kDuplicateKey,            // a transaction writes one key twice
  kTooLarge,                // a record or an append over the size limit
  // kOutOfRange
  kFutureRevision,  // a key-value revision not reached yet
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int sys_errno = 0)
      : code_(code), errno_(sys_errno), message_(std::move(message)) {}
  Status(Code code, Reason reason, std::string message)
      : code_(code), reason_(reason), message_(std::move(message)) {}

  static Status ok() { return {}; }
  // Maps a negative errno from the io layer to a Status.
  static Status from_errno(int neg_errno, std::string context);

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  Reason reason() const { return reason_; }
  bool is(Code code, Reason reason) const { return code_ == code && reason_ == reason; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // A number some codes carry for callers that act on it rather than print
  // it. kWrongExpectedVersion: the stream's last event number, -1 if it has
  // no events. kCompacted: the compaction revision.
  int64_t detail() const { return detail_; }
  Status&& with_detail(int64_t d) && {
    detail_ = d;
    return std::move(*this);
  }

 private:
  Code code_ = Code::kOk;
  Reason reason_ = Reason::kNone;
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
