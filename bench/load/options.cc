// Flags (CLI11), workloads and targets (options.h).
#include "options.h"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace redcar::load {
namespace {

struct TargetInfo {
  const char* name;
  Protocol protocol;
  const char* default_addr;
};

const TargetInfo kTargets[] = {
    {"redis", Protocol::kResp, "127.0.0.1:6379"},
    {"redcar-resp", Protocol::kResp, "127.0.0.1:6480"},
    {"etcd", Protocol::kEtcd, "127.0.0.1:2379"},
    {"redcar-etcd", Protocol::kEtcd, "127.0.0.1:8519"},
    {"redcar-native", Protocol::kNative, "127.0.0.1:8519"},
};

// A protocol named without a target goes to redcar.
const char* default_addr(Protocol p) { return p == Protocol::kResp ? "127.0.0.1:6480" : "127.0.0.1:8519"; }

}  // namespace

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kResp:
      return "resp";
    case Protocol::kEtcd:
      return "etcd";
    case Protocol::kNative:
      return "native";
  }
  return "?";
}

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> w = {
      {"ping", Protocol::kResp, "PING", false},
      {"set", Protocol::kResp, "SET of a random key among --keys", false},
      {"get", Protocol::kResp, "GET of a random key among --keys (written first)", false},
      {"xadd", Protocol::kResp, "XADD * to a random stream among --streams", false},
      {"xrange", Protocol::kResp, "XRANGE - + COUNT 10 on a stream filled first", false},
      {"pubsub", Protocol::kResp, "PUBLISH to one channel followed by --subscribers SUBSCRIBE connections", false},
      {"etcd-put", Protocol::kEtcd, "KV.Put of a random key among --keys", false},
      {"etcd-range", Protocol::kEtcd, "KV.Range of one random key among --keys (written first)", false},
      {"etcd-mixed", Protocol::kEtcd, "KV.Range (share --mix) or KV.Put of a random key", false},
      {"native-append", Protocol::kNative, "Events.Append of --batch events to a random stream", true},
      {"native-append-stream", Protocol::kNative,
       "one Events.AppendStream call of --appends-per-call appends of --batch events", true},
      {"publish-to-delivery", Protocol::kNative,
       "Events.Append to one stream followed live by --subscribers Subscribe calls", true},
      {"catch-up-read", Protocol::kNative, "Events.Read of --read-count events from a stream written first",
       false},
  };
  return w;
}

uint64_t Options::events_per_op() const {
  if (!info) return 1;
  if (info->name == std::string("native-append-stream")) {
    return static_cast<uint64_t>(batch) * static_cast<uint64_t>(appends_per_call);
  }
  if (info->batched) return static_cast<uint64_t>(batch);
  if (info->name == std::string("catch-up-read")) return static_cast<uint64_t>(read_count);
  return 1;
}

int parse_options(int argc, char** argv, Options* o) {
  std::string workload_help = "what each operation is:";
  for (const auto& w : workloads()) workload_help += std::string("\n  ") + w.name + ": " + w.what;

  CLI::App app{"redcar-bench: load generator for redcar and its peers (redis-server, etcd)"};
  app.add_option("--target", o->target, "redis | redcar-resp | etcd | redcar-etcd | redcar-native")
      ->check(CLI::IsMember({"redis", "redcar-resp", "etcd", "redcar-etcd", "redcar-native"}));
  app.add_option("--protocol", o->protocol_flag, "resp | etcd | native, instead of --target")
      ->check(CLI::IsMember({"resp", "etcd", "native"}));
  app.add_option("--addr", o->addr, "HOST:PORT (default: the target's usual port)");
  std::vector<std::string> names;
  for (const auto& w : workloads()) names.push_back(w.name);
  app.add_option("-w,--workload", o->workload, workload_help)->check(CLI::IsMember(names))->capture_default_str();
  app.add_option("-c,--clients", o->clients, "connections (RESP) or concurrent calls (gRPC)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("-P,--pipeline", o->pipeline, "RESP: requests outstanding per connection")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--channels", o->channels, "gRPC: channels (TCP connections) the calls are spread over")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", o->threads, "RESP: event-loop threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("-b,--batch", o->batch, "events per append")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("-d,--value-bytes", o->value_bytes, "bytes of each value or event body")
      ->check(CLI::Range(0, 64 << 20))
      ->capture_default_str();
  app.add_option("--keys", o->keys, "distinct keys")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))->capture_default_str();
  app.add_option("--streams", o->streams, "distinct streams appended to")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--mix", o->mix, "etcd-mixed: share of reads, 0..1")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  auto* duration = app.add_option("--duration", o->duration_s, "seconds measured (after the warm-up)")
                       ->check(CLI::Range(0.0, 86400.0))
                       ->capture_default_str();
  app.add_option("--ops", o->ops, "measured operations, instead of --duration")->excludes(duration);
  app.add_option("--warmup", o->warmup_s, "seconds run before measuring")->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  app.add_option("--rate", o->rate, "open loop: operations per second, latency from when each was due; 0: closed loop")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--subscribers", o->subscribers, "publish-to-delivery, pubsub: live subscribers")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--prefill", o->prefill,
                 "entries written before measuring (xrange: stream entries, default 1000; catch-up-read: events, "
                 "default 100000; get/etcd-range: all --keys)");
  app.add_option("--read-count", o->read_count, "catch-up-read: events per Read call")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  app.add_option("--appends-per-call", o->appends_per_call, "native-append-stream: appends per call")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--event-ids", o->event_ids,
                 "native: events that carry a CloudEvent id, unique across runs: all (as CloudEvents asks), first (the "
                 "one the server's retry check reads), none")
      ->check(CLI::IsMember({"all", "first", "none"}))
      ->capture_default_str();
  app.add_option("--prefix", o->prefix, "prefix of key and stream names")->capture_default_str();
  app.add_option("--max-errors", o->max_errors, "stop the run after this many errors (0: never)")->capture_default_str();
  app.add_option("--drain", o->drain_s, "seconds allowed for outstanding work after the end")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_flag("-q,--quiet", o->quiet, "no progress line");
  app.add_option("--json", o->json_path, "write the result as JSON to this file");
  app.add_option("--label", o->label, "free text copied into the JSON (which server, which round)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  for (const auto& w : workloads()) {
    if (o->workload == w.name) o->info = &w;
  }
  const Protocol wanted = o->info->protocol;
  std::string addr = o->addr;
  if (!o->target.empty()) {
    for (const auto& t : kTargets) {
      if (o->target != t.name) continue;
      o->protocol = t.protocol;
      if (addr.empty()) addr = t.default_addr;
    }
  } else if (!o->protocol_flag.empty()) {
    o->protocol = o->protocol_flag == "resp" ? Protocol::kResp
                  : o->protocol_flag == "etcd" ? Protocol::kEtcd
                                               : Protocol::kNative;
  } else {
    o->protocol = wanted;
  }
  if (o->protocol != wanted) {
    std::fprintf(stderr, "redcar-bench: workload %s speaks %s, the target speaks %s\n", o->info->name,
                 protocol_name(wanted), protocol_name(o->protocol));
    return 2;
  }
  if (addr.empty()) addr = default_addr(o->protocol);
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
    std::fprintf(stderr, "redcar-bench: --addr %s is not HOST:PORT\n", addr.c_str());
    return 2;
  }
  o->addr = addr;
  o->host = addr.substr(0, colon);
  o->port = addr.substr(colon + 1);
  if ((o->workload == "publish-to-delivery" || o->workload == "pubsub") && o->value_bytes < 8) {
    std::fprintf(stderr, "redcar-bench: %s needs --value-bytes >= 8 (the send time)\n", o->info->name);
    return 2;
  }
  if (o->prefill == 0) {
    if (o->workload == "xrange") o->prefill = 1000;
    if (o->workload == "catch-up-read") o->prefill = 100000;
  }
  // Reads pick any of the keys, so every key is written first.
  if (o->workload == "get" || o->workload == "etcd-range" || o->workload == "etcd-mixed") o->prefill = o->keys;
  return -1;
}

}  // namespace redcar::load
