// A Redis hash as the key-value view keeps it: one value of type KvType::
// kHash (engine/FORMAT.md, "Hashes"), a varint field count and then each
// field as two strings, field and value, in the order they were first set.
// A write decodes it, edits it and encodes it whole, as Redis rewrites a
// small hash's listpack; a hash holds no empty field list (the last HDEL
// deletes the key).
//
// HashValue holds views into the bytes it decoded and into the strings its
// caller sets: both must outlive it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redcar {

class HashValue {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  HashValue() = default;
  // False when `bytes` are not a hash's encoding (the value is left empty).
  bool decode(std::string_view bytes);
  std::string encode() const;

  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // The value of `field`, or null.
  const std::string_view* find(std::string_view field) const;
  // Sets `field`; true if it is new.
  bool set(std::string_view field, std::string_view value);
  // Removes `field`; true if it was there.
  bool erase(std::string_view field);
  // Every field in order (`fn(field, value)`).
  template <typename Fn>
  void each(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.live) fn(s.field, s.value);
    }
  }

 private:
  struct Slot {
    std::string_view field, value;
    bool live = true;
  };
  // Where `field` sits in slots_ (slots_.size(): nowhere). Small hashes are
  // scanned; from kIndexFrom fields on, an index is kept.
  size_t slot_of(std::string_view field) const;
  void build_index();
  static constexpr size_t kIndexFrom = 32;

  std::vector<Slot> slots_;
  size_t live_ = 0;
  std::unordered_map<std::string_view, size_t> index_;
  bool indexed_ = false;
};

}  // namespace redcar
