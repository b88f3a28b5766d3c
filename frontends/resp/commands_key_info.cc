// What a key is and what it costs: OBJECT (ENCODING, REFCOUNT, IDLETIME,
// FREQ) and MEMORY (USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS). redcar holds
// a string as one value and a stream as its log, so the encodings are
// Redis's names for what a client would see (int, embstr, raw, stream), and
// a stream's memory is its live events' bytes on disk and in cache. Access
// times and frequencies are not kept: OBJECT IDLETIME and FREQ say so.
#include <malloc.h>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {
namespace {

void cmd_object(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "OBJECT <subcommand> <key>:",
        "ENCODING <key> -- how the key's value is held: int, embstr, raw (strings) or stream",
        "REFCOUNT <key> -- 1: values are not shared",
        "IDLETIME <key> | FREQ <key> -- not kept by redcar (no eviction needs them)",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  }
  if (a.size() != 3 || (sub != "encoding" && sub != "refcount" && sub != "idletime" && sub != "freq")) {
    return reply_unknown_subcommand(ctx, *r, a);
  }
  if (sub == "freq") {
    // Redis's answer under the noeviction policy redcar has.
    return reply_error(*r, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                           "that when switching between policies at runtime LRU and LFU data will take some time to "
                           "adjust.");
  }
  key_facts(ctx, r, std::string(a[2]), [r, sub](KeyFacts& f) {
    if (!f.string && !f.hash && !f.stream) {
      r->w().null();
    } else if (sub == "encoding") {
      r->w().bulk(f.string ? string_encoding(*f.string) : f.hash ? hash_encoding(*f.hash) : "stream");
    } else if (sub == "refcount") {
      r->w().integer(1);
    } else {
      return reply_error(*r, "ERR redcar keeps no access time per key, so OBJECT IDLETIME has no answer");
    }
    r->done();
  });
}

void cmd_memory(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  if (sub == "usage" && (a.size() == 3 || a.size() == 5)) {
    if (a.size() == 5) {
      int64_t samples;
      if (!iequals(a[3], "samples")) return reply_syntax_error(*r);
      if (!parse_int(a[4], &samples) || samples < 0) return reply_error(*r, "ERR value is not an integer or out of range");
    }
    size_t key_bytes = a[2].size();
    return key_facts(ctx, r, std::string(a[2]), [r, key_bytes](KeyFacts& f) {
      // The value and the key, and what the view keeps per key or per
      // stream beside them (its map node and version, its index).
      if (f.string) r->w().integer(static_cast<int64_t>(f.string->size() + key_bytes + 96));
      else if (f.hash) r->w().integer(static_cast<int64_t>(f.hash->size() + key_bytes + 96));
      else if (f.stream) r->w().integer(static_cast<int64_t>(f.stream->bytes + key_bytes + 256));
      else r->w().null();
      r->done();
    });
  }
  if (sub == "stats" && a.size() == 2) {
    struct mallinfo2 mi = ::mallinfo2();
    uint64_t allocated = mi.uordblks + mi.hblkhd;
    return count_keys(ctx, r, [r, allocated](Result<uint64_t> keys) {
      auto& w = r->w();
      w.map(4);
      w.bulk("total.allocated");
      w.integer(static_cast<int64_t>(allocated));
      w.bulk("keys.count");
      w.integer(keys ? static_cast<int64_t>(*keys) : 0);
      w.bulk("keys.bytes-per-key");
      w.integer(keys && *keys ? static_cast<int64_t>(allocated / *keys) : 0);
      w.bulk("dataset.bytes");
      w.integer(static_cast<int64_t>(allocated));
      r->done();
    });
  }
  if (sub == "doctor" && a.size() == 2) {
    std::string text = "redcar keeps strings and the key-value history in memory and streams in their logs on "
                       "disk, with the newest events cached; INFO memory has the process's figures.\n";
    return reply_text(*r, text);
  }
  if (sub == "purge" && a.size() == 2) {
    ::malloc_trim(0);
    r->w().simple("OK");
    return r->done();
  }
  if (sub == "malloc-stats" && a.size() == 2) {
    r->w().bulk("Stats not supported for the current allocator");
    return r->done();
  }
  if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "MEMORY <subcommand> [<arg> ...]:",
        "USAGE <key> [SAMPLES <count>] -- about how many bytes the key takes",
        "STATS -- the process's allocation and the keys it holds",
        "DOCTOR -- where redcar keeps what, in words",
        "PURGE -- give freed memory back to the system",
        "MALLOC-STATS -- the allocator's own statistics (not offered by glibc's)",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_key_info_commands(std::vector<Command>& out) {
  out.push_back({"OBJECT", -2, kReadOnly, cmd_object, 2, 2, 1, "encoding freq help idletime refcount"});
  // The key of MEMORY USAGE; the other subcommands take none.
  out.push_back({"MEMORY", -2, kReadOnly, cmd_memory, 2, 2, 1, "doctor help malloc-stats purge stats usage"});
}

}  // namespace redcar::resp
