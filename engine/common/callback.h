// How asynchronous answers cross the engine boundary: a callback that takes
// a Result, and the handle of a subscription that delivers batches until it
// is cancelled or ends. Every layer from the shard up speaks these; the
// engine's facade hands them to front ends unchanged.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "runtime/task.h"
#include "engine/common/types.h"

namespace redcar {

// Move-only, and holding what a front end usually captures (its reply, a
// key, a few pointers) inside itself, so that a request's callback does not
// allocate; a larger capture still works, from the heap.
inline constexpr size_t kCallbackInlineBytes = 88;
template <typename T>
using Callback = runtime::Function<void(Result<T>), kCallbackInlineBytes>;
using StatusCallback = std::function<void(Status)>;
// Engine::kv_update's function: shown a key's value (nullopt: no key), it
// says what to write, or refuses with a Status its caller words.
using KvUpdater = runtime::Function<Result<KvUpdate>(std::optional<std::string_view>), kCallbackInlineBytes>;

// Wraps a callback so that it runs on `ex` rather than on the shard. When
// the shard's thread is `ex`'s thread, it runs at once: no hop.
template <typename T>
Callback<T> on(boost::asio::any_io_executor ex, Callback<T> cb) {
  return [ex, cb = std::move(cb)](Result<T> r) mutable {
    boost::asio::dispatch(ex, [cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  };
}

// A live subscription (one stream, a prefix of streams, or a key range of
// the key-value view). Batches arrive in order; the next batch comes only
// after the handler calls `more()`, so a slow subscriber holds at most one
// batch and otherwise reads back from the log when it asks again.
class Subscription {
 public:
  using Handler = std::function<void(std::vector<EventPtr> events, std::function<void()> more)>;
  virtual ~Subscription() = default;
  // Ends it from any thread; its end callback runs once, on the shard.
  virtual void cancel() = 0;
};

// Key-value watch batches: changes in revision order, and the store's
// revision when the batch was made.
using WatchHandler = std::function<void(std::vector<WatchEvent> events, int64_t revision, std::function<void()> more)>;

}  // namespace redcar
