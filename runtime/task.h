// Move-only callables that keep small callables inside themselves, so that
// handing work or a completion to another thread does not allocate:
//
//   Function<R(A...), N>  up to N bytes inline (a few pointers and a
//                         shared_ptr or two for the default); larger ones
//                         go to the heap
//   Task                  Function<void(), 320>: what a reactor runs. Room
//                         for a request crossing to another shard with its
//                         key, its read spec, a visitor and a completion
//                         (each a Function of its own), so that the crossing
//                         allocates nothing; reactors keep their queues'
//                         capacity, so the size costs no allocation either
//
// Move-only, unlike std::function, so that a callable may own what cannot be
// copied (a buffer, another Function) and a copy never happens by accident.
// Not thread-safe; moved between threads whole.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace redcar::runtime {

template <typename Sig, size_t InlineBytes = 56>
class Function;

template <typename R, typename... A, size_t InlineBytes>
class Function<R(A...), InlineBytes> {
 public:
  static constexpr size_t kInlineBytes = InlineBytes;

  Function() noexcept = default;
  Function(std::nullptr_t) noexcept {}  // NOLINT: like std::function
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Function> &&
                                                   std::is_invocable_r_v<R, std::decay_t<F>&, A...>>>
  Function(F&& f) {  // NOLINT: implicit, like std::function
    using Fn = std::decay_t<F>;
    if constexpr (std::is_constructible_v<bool, const Fn&>) {
      // A null function pointer, or an empty Function of another size or
      // std::function, makes an empty Function, as std::function does.
      if (!static_cast<bool>(f)) return;
    }
    if constexpr (sizeof(Fn) <= kInlineBytes && alignof(Fn) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<Fn>) {
      ::new (static_cast<void*>(buf_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      *reinterpret_cast<Fn**>(buf_) = new Fn(std::forward<F>(f));
      ops_ = &kHeapOps<Fn>;
    }
  }
  Function(Function&& o) noexcept : ops_(o.ops_) {
    if (ops_) ops_->move(o.buf_, buf_);
    o.ops_ = nullptr;
  }
  Function& operator=(Function&& o) noexcept {
    if (this != &o) {
      // Taken first: `o` may be owned by what this holds now.
      Function taken(std::move(o));
      reset();
      ops_ = taken.ops_;
      if (ops_) ops_->move(taken.buf_, buf_);
      taken.ops_ = nullptr;
    }
    return *this;
  }
  Function& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  Function(const Function&) = delete;
  Function& operator=(const Function&) = delete;
  ~Function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  friend bool operator==(const Function& f, std::nullptr_t) noexcept { return !f; }
  // Const like std::function's: calling does not change which callable
  // this holds (the callable itself may change, as a mutable lambda does).
  R operator()(A... args) const { return ops_->call(buf_, std::forward<A>(args)...); }
  void reset() noexcept {
    if (ops_) ops_->destroy(buf_);
    ops_ = nullptr;
  }

 private:
  struct Ops {
    R (*call)(void* self, A&&... args);
    void (*move)(void* from, void* to) noexcept;  // leaves `from` destroyed
    void (*destroy)(void* self) noexcept;
  };
  // Like std::invoke_r: a result is dropped when R is void.
  template <typename Fn>
  static R invoke(Fn& f, A&&... args) {
    if constexpr (std::is_void_v<R>) {
      std::invoke(f, std::forward<A>(args)...);
    } else {
      return std::invoke(f, std::forward<A>(args)...);
    }
  }
  template <typename Fn>
  static constexpr Ops kInlineOps{
      [](void* s, A&&... args) -> R { return invoke(*static_cast<Fn*>(s), std::forward<A>(args)...); },
      [](void* from, void* to) noexcept {
        ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
        static_cast<Fn*>(from)->~Fn();
      },
      [](void* s) noexcept { static_cast<Fn*>(s)->~Fn(); },
  };
  template <typename Fn>
  static constexpr Ops kHeapOps{
      [](void* s, A&&... args) -> R { return invoke(**static_cast<Fn**>(s), std::forward<A>(args)...); },
      [](void* from, void* to) noexcept { *static_cast<Fn**>(to) = *static_cast<Fn**>(from); },
      [](void* s) noexcept { delete *static_cast<Fn**>(s); },
  };

  alignas(std::max_align_t) mutable unsigned char buf_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

using Task = Function<void(), 320>;

}  // namespace redcar::runtime
