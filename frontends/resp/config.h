// CONFIG GET and SET: the settings a Redis client may read or change, each
// with where its value comes from. A setting redcar honours at run time is
// changed by SET (the slow log, the latency monitor, maxclients); one fixed
// by the command line or by redcar's design (appendonly, appendfsync, the
// port) is read-only, and SET answers Redis's "can't set immutable config";
// stream-node-max-bytes and -entries, Redis's stream node tunables, are
// kept and shown but shape nothing (redcar's streams have no listpack
// nodes). Unknown names: GET answers nothing for them, SET an error, as
// Redis does.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace redcar::resp {

class Config {
 public:
  struct Setting {
    std::string name;
    std::function<std::string()> get;
    // Empty: read-only. Otherwise returns an error text (the part after
    // " - " in Redis's reply) or "" when set.
    std::function<std::string(std::string_view)> set;
  };

  void add(Setting s) { settings_.push_back(std::move(s)); }
  // Settings whose name matches any of the glob patterns, each once.
  std::vector<const Setting*> matching(const std::vector<std::string>& patterns) const;
  const Setting* find(std::string_view name) const;

  // Settings with no other home.
  std::atomic<int64_t> stream_node_max_bytes{4096};
  std::atomic<int64_t> stream_node_max_entries{100};
  std::atomic<bool> latency_tracking{true};
  std::string percentiles() const;
  std::string set_percentiles(std::string_view text);
  std::vector<double> percentile_list() const;

  // Adds a setting held in an atomic integer, settable within [lo, hi].
  void add_integer(std::string name, std::atomic<int64_t>* value, int64_t lo, int64_t hi);
  void add_fixed(std::string name, std::string value);

 private:
  std::vector<Setting> settings_;
  mutable std::mutex mu_;  // percentiles_
  std::vector<double> percentiles_{50, 99, 99.9};
};

// A double as Redis prints one in INFO (no trailing zeros beyond what is
// needed, at most 3 decimals).
std::string format_decimal(double v, int decimals = 3);

}  // namespace redcar::resp
