// What one run of redcar-bench is told: the flags, the table of workloads
// and targets, and the checks that tie them together (a workload speaks one
// protocol; a target names a protocol and a default address).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace redcar::load {

enum class Protocol { kResp, kEtcd, kNative };
const char* protocol_name(Protocol p);

struct WorkloadInfo {
  const char* name;
  Protocol protocol;
  const char* what;
  bool batched;  // events per operation come from --batch
};
const std::vector<WorkloadInfo>& workloads();

struct Options {
  std::string target;  // redis | redcar-resp | etcd | redcar-etcd | redcar-native
  std::string protocol_flag;
  std::string addr;
  std::string workload = "ping";
  int clients = 50;   // connections (RESP) or concurrent calls (gRPC)
  int pipeline = 1;   // RESP: requests outstanding per connection
  int channels = 4;   // gRPC: channels (TCP connections) the calls are spread over
  int threads = 1;    // RESP: event-loop threads
  int batch = 1;      // events per append
  int value_bytes = 100;
  uint64_t keys = 1000;
  int streams = 1;
  double mix = 0.5;  // etcd-mixed: share of reads
  double duration_s = 10;
  uint64_t ops = 0;
  double warmup_s = 1;
  double rate = 0;  // operations per second; 0: closed loop
  int subscribers = 1;
  uint64_t prefill = 0;  // 0: the workload's default
  int read_count = 1000;      // catch-up-read: events per Read call
  int appends_per_call = 10;  // native-append-stream: appends per call
  std::string event_ids = "all";  // native: which events of an append carry an id (all | first | none)
  std::string prefix = "bench-";
  uint64_t max_errors = 1000;
  double drain_s = 10;
  bool quiet = false;
  std::string json_path;
  std::string label;

  // Resolved from the above by parse_options.
  Protocol protocol = Protocol::kResp;
  const WorkloadInfo* info = nullptr;
  std::string host;
  std::string port;

  // The number of events one operation carries (1 unless batched).
  uint64_t events_per_op() const;
};

// Parses and checks the command line. Returns -1 to go on, or the exit
// code to leave with (0 after --help, 2 after a bad flag).
int parse_options(int argc, char** argv, Options* options);

}  // namespace redcar::load
