// A read-modify-write of one key-value key of a given type (a string's
// INCR, a hash's HSET) whose name a stream may hold. It is tried first on a
// key that exists — the usual case, one hop, and a key-value key is never a
// stream's name (a new stream is refused over a key). A key that does not
// exist may be a stream's, which a key must not take: the stream is looked
// for, and only then is the update tried as new (`fn` sees whatever the key
// holds by then). With `on_stream`, a stream is answered by it (SETNX: 0);
// otherwise WRONGTYPE, as a key of the other type is (by the engine).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {

template <typename Fn, typename Done>
void update_key(Context& ctx, const ReplyPtr& r, std::string key, KvType type, Fn fn, Done done,
                std::function<void(Reply&)> on_stream = {}) {
  KvUpdater existing = [fn](std::optional<std::string_view> cur) -> Result<KvUpdate> {
    if (!cur) return Status(Code::kNotFound, Reason::kNoKey, "no key");
    return fn(cur);
  };
  ctx.engine.kv_update(
      key, type, std::move(existing),
      back_to<KvUpdateResult>(r, [&ctx, r, key, type, fn, done, on_stream](Result<KvUpdateResult> res) mutable {
        if (res || res.status().reason() != Reason::kNoKey) return done(std::move(res));
        ctx.engine.stream_info(key, back_to<StreamInfo>(r, [&ctx, r, key, type, fn, done, on_stream](Result<StreamInfo> info) mutable {
          if (!info) return done(info.status());
          if (info->exists) {
            if (on_stream) {
              on_stream(*r);
              return r->done();
            }
            return reply_error(*r, kWrongTypeError);
          }
          ctx.engine.kv_update(key, type, KvUpdater(fn), back_to<KvUpdateResult>(r, std::move(done)));
        }));
      }));
}

}  // namespace redcar::resp
