#include "engine/common/hash_value.h"

#include "engine/common/body_codec.h"

namespace redcar {

bool HashValue::decode(std::string_view bytes) {
  slots_.clear();
  index_.clear();
  indexed_ = false;
  live_ = 0;
  BodyReader r(bytes);
  uint64_t n = 0;
  if (!r.varint(&n) || n > bytes.size()) return false;
  slots_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Slot s;
    if (!r.str(&s.field) || !r.str(&s.value)) {
      slots_.clear();
      return false;
    }
    slots_.push_back(s);
  }
  if (!r.done()) {
    slots_.clear();
    return false;
  }
  live_ = slots_.size();
  if (slots_.size() >= kIndexFrom) build_index();
  return true;
}

std::string HashValue::encode() const {
  size_t bytes = varint_size(live_);
  each([&](std::string_view f, std::string_view v) { bytes += str_size(f) + str_size(v); });
  std::string out;
  out.reserve(bytes);
  BodyWriter w(&out);
  w.varint(live_);
  each([&](std::string_view f, std::string_view v) {
    w.str(f);
    w.str(v);
  });
  return out;
}

void HashValue::build_index() {
  index_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].live) index_.emplace(slots_[i].field, i);
  }
  indexed_ = true;
}

size_t HashValue::slot_of(std::string_view field) const {
  if (indexed_) {
    auto it = index_.find(field);
    return it == index_.end() ? slots_.size() : it->second;
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].live && slots_[i].field == field) return i;
  }
  return slots_.size();
}

const std::string_view* HashValue::find(std::string_view field) const {
  size_t i = slot_of(field);
  return i == slots_.size() ? nullptr : &slots_[i].value;
}

bool HashValue::set(std::string_view field, std::string_view value) {
  size_t i = slot_of(field);
  if (i != slots_.size()) {
    slots_[i].value = value;
    return false;
  }
  slots_.push_back(Slot{field, value, true});
  live_++;
  if (indexed_) index_.emplace(field, slots_.size() - 1);
  else if (slots_.size() >= kIndexFrom) build_index();
  return true;
}

bool HashValue::erase(std::string_view field) {
  size_t i = slot_of(field);
  if (i == slots_.size()) return false;
  slots_[i].live = false;
  live_--;
  if (indexed_) index_.erase(field);
  return true;
}

}  // namespace redcar
