// The stream verbs over redcar.v1.Events: publish, read, subscribe,
// streams, info, trim, delete. Events print as "STREAM:NUMBER TYPE DATA"
// lines, or one JSON object each with --json.
#pragma once

#include <optional>
#include <string>

#include <grpcpp/client_context.h>

#include "redcar/v1/events.pb.h"

namespace redcar::ctl {

// --expect: N (the stream's last event number is N), no-stream, exists, any.
bool parse_expected(const std::string& text, v1::ExpectedVersion* out);

// An event for Append: data as text when it is UTF-8, otherwise as bytes.
io::cloudevents::v1::CloudEvent make_event(const std::string& type, std::string data, const std::string& id,
                                           const std::string& source, const std::string& content_type);

// The server's "redcar-actual-version" trailer after FAILED_PRECONDITION.
std::optional<std::string> actual_version(const grpc::ClientContext& ctx);

}  // namespace redcar::ctl
