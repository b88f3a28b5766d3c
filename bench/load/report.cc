// The table and the JSON document of a run (report.h).
#include "report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format.h"

namespace redcar::load {
namespace {

std::string mb_text(double mb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, mb < 100 ? "%.2f" : "%.0f", mb);
  return buf;
}

double per_s(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; }

nlohmann::json latency_json(const Histogram& h) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  return {{"count", h.count()},       {"min", us(h.min())},           {"mean", h.mean() / 1e3},
          {"p50", us(h.quantile(0.5))}, {"p90", us(h.quantile(0.9))},   {"p99", us(h.quantile(0.99))},
          {"p999", us(h.quantile(0.999))}, {"max", us(h.max())}};
}

std::string target_text(const Options& o) {
  return (o.target.empty() ? std::string(protocol_name(o.protocol)) : o.target) + " " + o.addr;
}

}  // namespace

void print_report(const Report& rep) {
  const Options& o = *rep.options;
  const RunResult& r = rep.run;
  std::printf("redcar-bench %s -> %s: %d client(s)", o.workload.c_str(), target_text(o).c_str(), o.clients);
  if (o.protocol == Protocol::kResp) {
    std::printf(", pipeline %d", o.pipeline);
  } else {
    std::printf(" over %d channel(s)", o.channels);
  }
  if (o.info->batched) std::printf(", %d event(s) per append (ids: %s)", o.batch, o.event_ids.c_str());
  std::printf(", %d B values", o.value_bytes);
  if (o.rate > 0) std::printf(", open loop at %s/s", with_commas(o.rate).c_str());
  std::printf("\n");
  for (const auto& [k, v] : rep.facts) std::printf("  %s: %s\n", k.c_str(), v.c_str());
  std::printf("  measured %.2f s after a %.1f s warm-up (%s operations in the warm-up); client CPU %.0f%%\n",
              r.measured_s, o.warmup_s, with_commas(static_cast<double>(r.warmup_ops)).c_str(),
              r.wall_s > 0 ? 100 * r.client_cpu_s / r.wall_s : 0.0);

  std::printf("%-12s %12s %12s %9s %10s %10s %10s %10s\n", "", "count", "per second", "MB/s", "p50", "p99", "p99.9",
              "max");
  auto row = [&](const std::string& name, const Histogram& h, uint64_t count, bool with_bytes) {
    std::printf("%-12s %12s %12s %9s %10s %10s %10s %10s\n", name.c_str(),
                with_commas(static_cast<double>(count)).c_str(), with_commas(per_s(count, r.measured_s)).c_str(),
                with_bytes ? mb_text(per_s(r.bytes, r.measured_s) / 1e6).c_str() : "",
                latency_text(h.quantile(0.5)).c_str(), latency_text(h.quantile(0.99)).c_str(),
                latency_text(h.quantile(0.999)).c_str(), latency_text(h.max()).c_str());
  };
  row("operations", r.latency, r.ops, true);
  if (o.events_per_op() != 1) {
    std::printf("%-12s %12s %12s\n", "events", with_commas(static_cast<double>(r.events)).c_str(),
                with_commas(per_s(r.events, r.measured_s)).c_str());
  }
  for (const auto& [name, h] : rep.extra) row(name, h, h.count(), false);

  if (r.unsent > 0) {
    std::printf("  %s operation(s) were due but never sent: the server did not keep up with the rate\n",
                with_commas(static_cast<double>(r.unsent)).c_str());
  }
  if (r.errors == 0 && !r.aborted) {
    std::printf("  errors: none\n");
  } else {
    std::printf("  ERRORS: %s\n", with_commas(static_cast<double>(r.errors)).c_str());
    for (const auto& [msg, n] : r.error_counts) {
      std::printf("    %8s x %s\n", with_commas(static_cast<double>(n)).c_str(), msg.c_str());
    }
    if (r.slots_lost > 0) std::printf("  %d slot(s) lost their connection\n", r.slots_lost);
    if (r.aborted) std::printf("  the run was stopped early: %s\n", r.abort_reason.c_str());
  }
  std::fflush(stdout);
}

std::string write_json(const Report& rep, const std::string& path) {
  const Options& o = *rep.options;
  const RunResult& r = rep.run;
  nlohmann::json j;
  j["tool"] = "redcar-bench";
  j["label"] = o.label;
  j["workload"] = o.workload;
  j["target"] = o.target;
  j["protocol"] = protocol_name(o.protocol);
  j["addr"] = o.addr;
  j["config"] = {{"clients", o.clients},
                 {"pipeline", o.pipeline},
                 {"channels", o.channels},
                 {"threads", o.threads},
                 {"batch", o.batch},
                 {"value_bytes", o.value_bytes},
                 {"keys", o.keys},
                 {"streams", o.streams},
                 {"mix", o.mix},
                 {"duration_s", o.duration_s},
                 {"ops", o.ops},
                 {"warmup_s", o.warmup_s},
                 {"rate", o.rate},
                 {"subscribers", o.subscribers},
                 {"prefill", o.prefill},
                 {"read_count", o.read_count},
                 {"appends_per_call", o.appends_per_call},
                 {"event_ids", o.event_ids}};
  j["measured_s"] = r.measured_s;
  j["warmup_ops"] = r.warmup_ops;
  j["ops"] = r.ops;
  j["ops_per_s"] = per_s(r.ops, r.measured_s);
  j["events"] = r.events;
  j["events_per_s"] = per_s(r.events, r.measured_s);
  j["bytes"] = r.bytes;
  j["mb_per_s"] = per_s(r.bytes, r.measured_s) / 1e6;
  j["latency_us"] = latency_json(r.latency);
  nlohmann::json extra = nlohmann::json::object();
  for (const auto& [name, h] : rep.extra) extra[name] = latency_json(h);
  j["extra_latency_us"] = extra;
  nlohmann::json facts = nlohmann::json::object();
  for (const auto& [k, v] : rep.facts) facts[k] = v;
  j["facts"] = facts;
  j["errors"] = r.errors;
  j["error_messages"] = r.error_counts;
  j["unsent"] = r.unsent;
  j["slots_lost"] = r.slots_lost;
  j["aborted"] = r.aborted;
  j["abort_reason"] = r.abort_reason;
  j["wall_s"] = r.wall_s;
  j["client_cpu_s"] = r.client_cpu_s;
  std::ofstream f(path);
  if (!f) return "cannot write " + path;
  f << j.dump(2) << "\n";
  f.close();
  if (!f) return "cannot write " + path;
  return {};
}

}  // namespace redcar::load
