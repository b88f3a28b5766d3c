// The key-value verbs, over etcd v3's KV, Watch and Maintenance services
// (so they work against etcd itself as well as redcar): put, get (and the
// historical `range`), del, watch, status. Human output is etcdctl's: `OK`
// for put, a key line and a value line per key for get, the count for del,
// PUT/DELETE, key, value lines for watch.
#pragma once

#include <string>

namespace redcar::ctl {

// The range_end that selects every key starting with `prefix`, as etcd
// defines it; for an empty prefix, "\0" (all keys, with key "\0").
std::string prefix_range_end(const std::string& prefix);

}  // namespace redcar::ctl
