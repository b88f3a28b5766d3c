// redcar-bench: a load generator for redcar and the peers it is measured
// against. Parses the flags, makes the client the workload speaks, sets it
// up, runs the driver, and reports. Exit status: 0 on a clean run, 1 when
// the run counted errors (or was stopped early), 2 when it could not start.
#include <malloc.h>

#include <cstdio>

#include "driver.h"
#include "etcd_client.h"
#include "native_client.h"
#include "options.h"
#include "report.h"
#include "resp_client.h"
#include "resp_pubsub_client.h"

int main(int argc, char** argv) {
  using namespace redcar::load;
  // Large messages (a catch-up Read's pages are up to 16 MB) stay on the
  // heap and their memory is kept for the next: with glibc's defaults each
  // one was a fresh mmap whose every page faulted in, which held this
  // client at a full core at a quarter of the server's read rate.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  Options o;
  if (int rc = parse_options(argc, argv, &o); rc >= 0) return rc;

  std::unique_ptr<Client> client;
  switch (o.protocol) {
    case Protocol::kResp:
      client = o.workload == "pubsub" ? make_resp_pubsub_client(o) : make_resp_client(o);
      break;
    case Protocol::kEtcd:
      client = make_etcd_client(o);
      break;
    case Protocol::kNative:
      client = make_native_client(o);
      break;
  }

  DriverConfig dc;
  dc.warmup_s = o.warmup_s;
  dc.duration_s = o.duration_s;
  dc.ops = o.ops;
  dc.rate = o.rate;
  dc.max_errors = o.max_errors;
  dc.drain_s = o.drain_s;
  dc.progress = !o.quiet;
  Driver driver(dc);

  if (std::string e = client->setup(driver); !e.empty()) {
    std::fprintf(stderr, "redcar-bench: %s: %s\n", o.workload.c_str(), e.c_str());
    client->stop();
    return 2;
  }

  Report rep;
  rep.options = &o;
  rep.run = driver.run(*client);
  for (const auto& x : client->extra_latencies()) rep.extra.emplace_back(x.name, x.histogram->snapshot());
  rep.facts = client->facts();
  print_report(rep);
  if (!o.json_path.empty()) {
    if (std::string e = write_json(rep, o.json_path); !e.empty()) {
      std::fprintf(stderr, "redcar-bench: %s\n", e.c_str());
      return 2;
    }
  }
  return (rep.run.errors > 0 || rep.run.aborted) ? 1 : 0;
}
