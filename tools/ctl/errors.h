// Errors as the user sees them: one line on stderr that names the verb, the
// gRPC status code and the server's message, and the process exit codes.
// Also which status codes a retrying loop (subscribe, migrate) may retry.
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

namespace redcar::ctl {

// Exit codes: 0 success, 1 a call failed (the message names the gRPC code),
// 2 bad usage or a bad local input (file, argument), 130 interrupted.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCallFailed = 1;
inline constexpr int kExitUsage = 2;

// "UNAVAILABLE", "NOT_FOUND", ... as grpc spells them.
const char* code_name(grpc::StatusCode code);

// Prints "redcar-ctl: VERB: CODE: message" and returns kExitCallFailed.
int report(std::string_view verb, const grpc::Status& status);
// Prints "redcar-ctl: VERB: message" and returns kExitUsage.
int report_usage(std::string_view verb, std::string_view message);
// Prints "redcar-ctl: VERB: message" (a note, not an error).
void note(std::string_view verb, std::string_view message);

// A failure that a fresh call may not repeat: the server stopping or
// restarting, a broken connection, a call cut short.
bool is_transient(grpc::StatusCode code);

}  // namespace redcar::ctl
