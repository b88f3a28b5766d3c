// How results reach stdout: human lines by default, or with --json one JSON
// object per line (nlohmann::json) for scripts. Byte strings that are not
// UTF-8 go into JSON as "<field>_base64". Everything printed is flushed at
// the end of each verb step, so a pipe sees events as they arrive.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "io/cloudevents/v1/cloudevents.pb.h"
#include "redcar/v1/events.pb.h"

namespace redcar::ctl {

class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  bool json() const { return json_; }

  // Text (or bytes, as they are) followed by a newline.
  void line(std::string_view text);
  // One JSON object on its own line.
  void object(const nlohmann::json& j);
  // An event: "STREAM:NUMBER TYPE DATA" (attributes as NAME=VALUE when it
  // has no data) or its JSON object.
  void event(const v1::RecordedEvent& e);
  void flush();

 private:
  bool json_;
};

bool is_utf8(std::string_view bytes);
std::string base64(std::string_view bytes);
// Sets j[field] to the text, or j[field + "_base64"] when it is not UTF-8.
void put_bytes(nlohmann::json& j, const std::string& field, std::string_view bytes);
// RFC 3339 in UTC, with the fraction when there is one.
std::string format_time(const google::protobuf::Timestamp& t);

// The event's data as bytes, whichever way it travelled.
std::string event_data(const io::cloudevents::v1::CloudEvent& ce);
// A string attribute (datacontenttype, ...), empty when absent.
std::string attribute_text(const io::cloudevents::v1::CloudEvent& ce, const std::string& name);

nlohmann::json event_json(const v1::RecordedEvent& e);
std::string event_line(const v1::RecordedEvent& e);

}  // namespace redcar::ctl
