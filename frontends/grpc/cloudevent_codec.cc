#include "frontends/grpc/cloudevent_codec.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/time_util.h>
#include <openssl/evp.h>

#include <cinttypes>
#include <cstdio>
#include <string_view>
#include <type_traits>

#include "engine/common/assert.h"

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

bool textual(std::string_view content_type) {
  auto starts = [&](const char* p) { return content_type.rfind(p, 0) == 0; };
  auto has = [&](const char* p) { return content_type.find(p) != std::string_view::npos; };
  return starts("text/") || starts("application/json") || starts("application/xml") || has("+json") || has("+xml");
}

// What a protobuf string may hold: the check protobuf itself makes when it
// parses one (a client's parse of a message with anything else fails).
bool utf8(std::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// Kept as it is by percent-encoding (RFC 3986's unreserved characters).
bool unreserved(unsigned char c) { return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

size_t escaped_size(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += unreserved(c) ? 1 : 3;
  return n;
}

// A string field's value: `head`, then `tail`, percent-encoded if `escape`.
struct Text {
  std::string_view head;
  std::string_view tail;
  bool escape = false;

  size_t size() const { return head.size() + (escape ? escaped_size(tail) : tail.size()); }
  void append_to(std::string* out) const {
    out->append(head);
    if (!escape) return out->append(tail), void();
    static const char* kHex = "0123456789ABCDEF";
    for (unsigned char c : tail) {
      if (unreserved(c)) {
        out->push_back(static_cast<char>(c));
      } else {
        out->push_back('%');
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      }
    }
  }
};

Text name_text(std::string_view name) { return Text{{}, name, !utf8(name)}; }

}  // namespace

std::string wire_name(const std::string& name) {
  if (utf8(name)) return name;
  std::string out;
  name_text(name).append_to(&out);
  return out;
}

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

// ------------------------------------------------------------------ encoding
//
// RecordedEvent's wire form is written straight from the event's bytes, not
// through protobuf messages: an event's data is copied once, into the bytes
// that go out. Each message's length comes before it on the wire, so the
// sizes are worked out first (size_of) and the bytes written after (write),
// by the same walk over the event.

namespace {

enum : uint32_t { kVarint = 0, kDelimited = 2 };

size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

void put_varint(std::string* out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>((v & 0x7f) | 0x80));
  out->push_back(static_cast<char>(v));
}

// Bytes on the wire, counted (Size) or written (Write): one walk for both.
struct Size {
  size_t n = 0;
  void tag(uint32_t field, uint32_t kind) { n += varint_size(field << 3 | kind); }
  void varint(uint64_t v) { n += varint_size(v); }
  void text(const Text& t) { n += t.size(); }
  void length(size_t v) { n += varint_size(v); }
};
struct Write {
  std::string* out;
  void tag(uint32_t field, uint32_t kind) { put_varint(out, field << 3 | kind); }
  void varint(uint64_t v) { put_varint(out, v); }
  void text(const Text& t) { t.append_to(out); }
  void length(size_t v) { put_varint(out, v); }
};

template <typename Out>
void string_field(Out& o, uint32_t field, const Text& t) {
  o.tag(field, kDelimited);
  o.length(t.size());
  o.text(t);
}
template <typename Out>
void string_field(Out& o, uint32_t field, std::string_view s) {
  string_field(o, field, Text{{}, s});
}
// Proto3 leaves a scalar at its default off the wire; a oneof member that
// is set goes on it whatever its value (optional = true).
template <typename Out>
void string_if_set(Out& o, uint32_t field, std::string_view s) {
  if (!s.empty()) string_field(o, field, s);
}
template <typename Out>
void varint_if_set(Out& o, uint32_t field, uint64_t v) {
  if (v == 0) return;
  o.tag(field, kVarint);
  o.varint(v);
}
// A nested message: its size, then its fields.
template <typename Out, typename Body>
void message_field(Out& o, uint32_t field, Body&& body) {
  Size s;
  body(s);
  o.tag(field, kDelimited);
  o.length(s.n);
  if constexpr (std::is_same_v<Out, Write>) {
    body(o);
  } else {
    o.n += s.n;
  }
}

template <typename Out>
void timestamp_body(Out& o, const google::protobuf::Timestamp& ts) {
  varint_if_set(o, 1, static_cast<uint64_t>(ts.seconds()));
  varint_if_set(o, 2, static_cast<uint64_t>(static_cast<int64_t>(ts.nanos())));
}

// The parts of an event the encoding reads, whether it lies in the log
// (EventView) or is owned (Event).
struct Parts {
  std::string_view stream;
  uint64_t number;
  StreamId id;
  int64_t timestamp_us;
  std::string_view type, data, idempotency_id, content_type;
};
Parts parts_of(const EventView& e) {
  return {e.stream, e.number, e.id, e.timestamp_us, e.type, e.data, e.idempotency_id, e.content_type};
}
Parts parts_of(const Event& e) {
  const EventData& p = e.payload;
  return {e.stream, e.number, e.id, e.timestamp_us, p.type, p.data, p.idempotency_id, p.content_type};
}
template <typename Fn>
void for_each_field(const EventView& e, Fn&& fn) {
  EventView::Fields it = e.fields;
  std::string_view name, value;
  while (it.next(&name, &value)) fn(name, value);
}
template <typename Fn>
void for_each_field(const Event& e, Fn&& fn) {
  for (const Field& f : e.payload.fields) fn(std::string_view(f.name), std::string_view(f.value));
}

// CloudEventAttributeValue members.
enum : uint32_t { kCeString = 3, kCeBytes = 4, kCeUri = 5, kCeTimestamp = 7 };

// What a field becomes among the CloudEvent's attributes (a map entry:
// the name as key 1, the value message as 2).
struct Attribute {
  Text key;
  uint32_t member = kCeString;
  std::string_view value;
  google::protobuf::Timestamp time;

  Attribute(std::string_view name, std::string_view v, bool typed) : key(name_text(name)), value(v) {
    if (!utf8(v)) {
      member = kCeBytes;
    } else if (typed && name == "time" && TimeUtil::FromString(std::string(v), &time)) {
      member = kCeTimestamp;
    } else if (typed && name == "dataschema") {
      member = kCeUri;
    }
  }
  template <typename Out>
  void write(Out& o) const {
    message_field(o, 5, [&](auto& entry) {
      string_field(entry, 1, key);
      message_field(entry, 2, [&](auto& attr) {
        if (member == kCeTimestamp) return message_field(attr, kCeTimestamp, [&](auto& t) { timestamp_body(t, time); });
        string_field(attr, member, value);
      });
    });
  }
};

enum class DataMember : uint32_t { kNone = 0, kBinary = 6, kText = 7, kProto = 8 };

// The choices made once per event, before its bytes are counted and written.
struct Plan {
  Parts p;
  bool typed;
  std::string_view source;  // empty: "/streams/<name>"
  std::string_view schema;
  bool has_schema = false;
  DataMember data = DataMember::kNone;
  char redis_id[48];
  size_t redis_id_size;
  google::protobuf::Timestamp recorded;
};

template <typename E>
void plan_event(const E& e, Plan* plan) {
  plan->p = parts_of(e);
  const Parts& p = plan->p;
  plan->typed = !p.type.empty();
  for_each_field(e, [&](std::string_view name, std::string_view value) {
    if (!plan->typed || !utf8(value)) return;
    if (name == "source") plan->source = value;
    if (name == "dataschema") {
      plan->schema = value;
      plan->has_schema = true;
    }
  });
  if (!p.data.empty() || !p.content_type.empty()) {
    if (textual(p.content_type) && utf8(p.data)) {
      plan->data = DataMember::kText;
    } else if (p.content_type == "application/protobuf" && plan->has_schema) {
      plan->data = DataMember::kProto;
    } else {
      plan->data = DataMember::kBinary;
    }
  }
  int n = snprintf(plan->redis_id, sizeof(plan->redis_id), "%" PRIu64 "-%" PRIu64, p.id.ms, p.id.seq);
  plan->redis_id_size = static_cast<size_t>(n);
  plan->recorded = TimeUtil::MicrosecondsToTimestamp(p.timestamp_us);
}

template <typename Out, typename E>
void cloudevent_body(Out& o, const E& e, const Plan& plan) {
  const Parts& p = plan.p;
  std::string_view redis_id(plan.redis_id, plan.redis_id_size);
  string_if_set(o, 1, p.idempotency_id.empty() ? redis_id : p.idempotency_id);
  if (plan.source.empty()) string_field(o, 2, Text{"/streams/", p.stream, true});
  else string_field(o, 2, plan.source);
  string_field(o, 3, "1.0");
  if (plan.typed) string_field(o, 4, name_text(p.type));
  else string_field(o, 4, kRedisEntryType);
  for_each_field(e, [&](std::string_view name, std::string_view value) {
    if (plan.typed && name == "source" && utf8(value)) return;  // the source field's
    Attribute(name, value, plan.typed).write(o);
  });
  if (!p.content_type.empty()) Attribute("datacontenttype", p.content_type, false).write(o);
  switch (plan.data) {
    case DataMember::kNone: break;
    case DataMember::kBinary: string_field(o, 6, p.data); break;
    case DataMember::kText: string_field(o, 7, p.data); break;
    case DataMember::kProto:
      message_field(o, 8, [&](auto& any) {
        string_if_set(any, 1, plan.schema);
        string_if_set(any, 2, p.data);
      });
      break;
  }
}

template <typename Out, typename E>
void recorded_body(Out& o, const E& e, const Plan& plan) {
  const Parts& p = plan.p;
  if (!p.stream.empty()) string_field(o, 1, name_text(p.stream));
  varint_if_set(o, 2, p.number);
  message_field(o, 3, [&](auto& ce) { cloudevent_body(ce, e, plan); });
  string_field(o, 4, std::string_view(plan.redis_id, plan.redis_id_size));
  message_field(o, 5, [&](auto& ts) { timestamp_body(ts, plan.recorded); });
}

template <typename E>
bool append_recorded_of(const E& e, uint32_t field, std::string* out, size_t max_bytes) {
  Plan plan;
  plan_event(e, &plan);
  Size body;
  recorded_body(body, e, plan);
  size_t need = out->size() + body.n;
  if (field != 0) need += varint_size(field << 3 | kDelimited) + varint_size(body.n);
  if (need > max_bytes) return false;
  if (need > out->capacity()) out->reserve(std::max(need, 2 * out->capacity()));
  Write w{out};
  if (field != 0) {
    w.tag(field, kDelimited);
    w.length(body.n);
  }
  recorded_body(w, e, plan);
  return true;
}

}  // namespace

bool append_recorded(const EventView& e, uint32_t field, std::string* out, size_t max_bytes) {
  return append_recorded_of(e, field, out, max_bytes);
}
bool append_recorded(const Event& e, uint32_t field, std::string* out, size_t max_bytes) {
  return append_recorded_of(e, field, out, max_bytes);
}

void encode_recorded(const Event& e, ::redcar::v1::RecordedEvent* out) {
  std::string bytes;
  append_recorded(e, 0, &bytes);
  bool ok = out->ParseFromString(bytes);
  REDCAR_CHECK(ok);
}

}  // namespace redcar::grpcfe
