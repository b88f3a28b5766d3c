#include "frontends/grpc/cloudevent_codec.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/time_util.h>
#include <openssl/evp.h>

namespace redcar::grpcfe {

namespace ce = ::io::cloudevents::v1;
using google::protobuf::util::TimeUtil;

namespace {

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool valid_attribute_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool textual(const std::string& content_type) {
  auto starts = [&](const char* p) { return content_type.rfind(p, 0) == 0; };
  auto has = [&](const char* p) { return content_type.find(p) != std::string::npos; };
  return starts("text/") || starts("application/json") || starts("application/xml") || has("+json") || has("+xml");
}

// What a protobuf string may hold: the check protobuf itself makes when it
// parses one (a client's parse of a message with anything else fails).
bool utf8(const std::string& s) { return google::protobuf::internal::IsStructurallyValidUTF8(s); }

std::string percent_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string wire_name(const std::string& name) { return utf8(name) ? name : percent_encode(name); }

grpc::Status decode_cloudevent(ce::CloudEvent& in, size_t index, EventData* out) {
  auto bad = [&](const std::string& why) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event " + std::to_string(index) + ": " + why);
  };
  if (in.type().empty()) return bad("type is required");
  if (!in.spec_version().empty() && in.spec_version() != "1.0") {
    return bad("spec_version '" + in.spec_version() + "' is not supported (want 1.0)");
  }
  out->type = std::move(*in.mutable_type());
  out->idempotency_id = std::move(*in.mutable_id());
  out->fields.clear();
  if (!in.source().empty()) out->fields.push_back({"source", std::move(*in.mutable_source())});
  // The map's order is unspecified: keep fields sorted so that the same
  // event is always stored the same way.
  std::vector<const google::protobuf::MapPair<std::string, ce::CloudEvent::CloudEventAttributeValue>*> attrs;
  for (const auto& kv : in.attributes()) attrs.push_back(&kv);
  std::sort(attrs.begin(), attrs.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* kv : attrs) {
    const std::string& name = kv->first;
    const auto& v = kv->second;
    if (!valid_attribute_name(name)) return bad("attribute name '" + name + "' is not lower-case letters and digits");
    if (name == "id" || name == "source" || name == "specversion" || name == "type") {
      return bad("attribute '" + name + "' belongs in its own field");
    }
    std::string value;
    using A = ce::CloudEvent::CloudEventAttributeValue;
    switch (v.attr_case()) {
      case A::kCeBoolean: value = v.ce_boolean() ? "true" : "false"; break;
      case A::kCeInteger: value = std::to_string(v.ce_integer()); break;
      case A::kCeString: value = v.ce_string(); break;
      case A::kCeBytes: value = base64(v.ce_bytes()); break;
      case A::kCeUri: value = v.ce_uri(); break;
      case A::kCeUriRef: value = v.ce_uri_ref(); break;
      case A::kCeTimestamp: value = TimeUtil::ToString(v.ce_timestamp()); break;
      default: return bad("attribute '" + name + "' has no value");
    }
    if (name == "datacontenttype") {
      out->content_type = std::move(value);
      continue;
    }
    out->fields.push_back({name, std::move(value)});
  }
  switch (in.data_case()) {
    case ce::CloudEvent::kBinaryData: out->data = std::move(*in.mutable_binary_data()); break;
    case ce::CloudEvent::kTextData:
      out->data = std::move(*in.mutable_text_data());
      if (out->content_type.empty()) out->content_type = "text/plain";
      break;
    case ce::CloudEvent::kProtoData: {
      out->data = std::move(*in.mutable_proto_data()->mutable_value());
      if (out->content_type.empty()) out->content_type = "application/protobuf";
      // The type URL is kept as the dataschema: a different one would lose it.
      const std::string& type_url = in.proto_data().type_url();
      bool has_schema = false;
      for (auto& f : out->fields) {
        if (f.name != "dataschema") continue;
        if (f.value != type_url) {
          return bad("dataschema '" + f.value + "' is not proto_data's type URL '" + type_url +
                     "' (the type URL is kept as the dataschema)");
        }
        has_schema = true;
      }
      if (!has_schema) out->fields.push_back({"dataschema", type_url});
      break;
    }
    default: out->data.clear(); break;
  }
  return grpc::Status::OK;
}

void encode_cloudevent(const Event& e, ce::CloudEvent* out) {
  const EventData& p = e.payload;
  out->set_id(p.idempotency_id.empty() ? e.id.to_string() : p.idempotency_id);
  out->set_spec_version("1.0");
  out->set_type(p.type.empty() ? kRedisEntryType : wire_name(p.type));
  auto& attrs = *out->mutable_attributes();
  const std::string* schema = nullptr;
  for (const auto& f : p.fields) {
    if (f.name == "source" && !p.type.empty() && utf8(f.value)) {
      out->set_source(f.value);
      continue;
    }
    auto& v = attrs[wire_name(f.name)];
    if (!utf8(f.value)) {
      v.set_ce_bytes(f.value);
      continue;
    }
    if (f.name == "time" && !p.type.empty()) {
      google::protobuf::Timestamp ts;
      if (TimeUtil::FromString(f.value, &ts)) {
        *v.mutable_ce_timestamp() = ts;
        continue;
      }
    }
    if (f.name == "dataschema" && !p.type.empty()) {
      v.set_ce_uri(f.value);
      schema = &f.value;
      continue;
    }
    v.set_ce_string(f.value);
  }
  if (out->source().empty()) out->set_source("/streams/" + percent_encode(e.stream));
  if (!p.content_type.empty()) attrs["datacontenttype"].set_ce_string(p.content_type);
  if (p.data.empty() && p.content_type.empty()) return;
  if (textual(p.content_type) && utf8(p.data)) {
    out->set_text_data(p.data);
  } else if (p.content_type == "application/protobuf" && schema) {
    out->mutable_proto_data()->set_type_url(*schema);
    out->mutable_proto_data()->set_value(p.data);
  } else {
    out->set_binary_data(p.data);
  }
}

void encode_recorded(const Event& e, ::redcar::v1::RecordedEvent* out) {
  out->set_stream(wire_name(e.stream));
  out->set_number(e.number);
  out->set_redis_id(e.id.to_string());
  *out->mutable_recorded_time() = TimeUtil::MicrosecondsToTimestamp(e.timestamp_us);
  encode_cloudevent(e, out->mutable_event());
}

}  // namespace redcar::grpcfe
