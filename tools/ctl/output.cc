// Human and JSON renderings of events and of plain results.
#include "tools/ctl/output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

namespace redcar::ctl {

void Output::line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

void Output::object(const nlohmann::json& j) {
  // Strings are valid UTF-8 by construction (put_bytes); replace guards the rest.
  line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Output::event(const v1::RecordedEvent& e) {
  if (json_) {
    object(event_json(e));
  } else {
    line(event_line(e));
  }
}

void Output::flush() { std::fflush(stdout); }

bool is_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void put_bytes(nlohmann::json& j, const std::string& field, std::string_view bytes) {
  if (is_utf8(bytes)) {
    j[field] = std::string(bytes);
  } else {
    j[field + "_base64"] = base64(bytes);
  }
}

std::string format_time(const google::protobuf::Timestamp& t) {
  std::time_t secs = static_cast<std::time_t>(t.seconds());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (t.nanos() > 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09d", t.nanos());
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string event_data(const io::cloudevents::v1::CloudEvent& ce) {
  switch (ce.data_case()) {
    case io::cloudevents::v1::CloudEvent::kBinaryData: return ce.binary_data();
    case io::cloudevents::v1::CloudEvent::kTextData: return ce.text_data();
    case io::cloudevents::v1::CloudEvent::kProtoData: return ce.proto_data().value();
    default: return {};
  }
}

std::string attribute_text(const io::cloudevents::v1::CloudEvent& ce, const std::string& name) {
  auto it = ce.attributes().find(name);
  if (it == ce.attributes().end()) return {};
  const auto& v = it->second;
  switch (v.attr_case()) {
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeString: return v.ce_string();
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeUri: return v.ce_uri();
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeUriRef: return v.ce_uri_ref();
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeBoolean: return v.ce_boolean() ? "true" : "false";
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeInteger: return std::to_string(v.ce_integer());
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeBytes: return v.ce_bytes();
    case io::cloudevents::v1::CloudEvent::CloudEventAttributeValue::kCeTimestamp: return format_time(v.ce_timestamp());
    default: return {};
  }
}

static nlohmann::json attribute_json(const io::cloudevents::v1::CloudEvent::CloudEventAttributeValue& v) {
  using V = io::cloudevents::v1::CloudEvent::CloudEventAttributeValue;
  nlohmann::json j;
  switch (v.attr_case()) {
    case V::kCeBoolean: return v.ce_boolean();
    case V::kCeInteger: return v.ce_integer();
    case V::kCeTimestamp: return format_time(v.ce_timestamp());
    case V::kCeBytes: return base64(v.ce_bytes());
    case V::kCeString: put_bytes(j, "v", v.ce_string()); break;
    case V::kCeUri: put_bytes(j, "v", v.ce_uri()); break;
    case V::kCeUriRef: put_bytes(j, "v", v.ce_uri_ref()); break;
    default: return nullptr;
  }
  return j.contains("v") ? j["v"] : j["v_base64"];
}

nlohmann::json event_json(const v1::RecordedEvent& e) {
  nlohmann::json j;
  const auto& ce = e.event();
  put_bytes(j, "stream", e.stream());
  j["number"] = e.number();
  put_bytes(j, "id", ce.id());
  put_bytes(j, "type", ce.type());
  put_bytes(j, "source", ce.source());
  if (!ce.attributes().empty()) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [name, value] : ce.attributes()) attrs[name] = attribute_json(value);
    j["attributes"] = std::move(attrs);
  }
  put_bytes(j, "data", event_data(ce));
  if (!e.redis_id().empty()) j["redis_id"] = e.redis_id();
  if (e.has_recorded_time()) j["recorded_time"] = format_time(e.recorded_time());
  return j;
}

// Data shown as it is when it is one line of printable text, otherwise as a
// quoted JSON string, or base64 when it is not text at all.
static std::string printable(std::string_view data) {
  if (!is_utf8(data)) return "base64:" + base64(data);
  for (unsigned char c : data) {
    if (c < 0x20 || c == 0x7F) return nlohmann::json(std::string(data)).dump();
  }
  return std::string(data);
}

std::string event_line(const v1::RecordedEvent& e) {
  std::string out = e.stream();
  out += ':';
  out += std::to_string(e.number());
  out += ' ';
  out += e.event().type().empty() ? "-" : e.event().type();
  out += ' ';
  std::string data = event_data(e.event());
  if (!data.empty()) {
    out += printable(data);
    return out;
  }
  // No data (an entry written with XADD, say): its attributes, name=value.
  std::vector<std::string> names;
  for (const auto& [name, value] : e.event().attributes()) {
    if (name != "datacontenttype") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ' ';
    out += printable(names[i]) + "=" + printable(attribute_text(e.event(), names[i]));
  }
  return out;
}

}  // namespace redcar::ctl
