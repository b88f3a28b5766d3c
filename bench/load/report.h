// The result of a run as people read it (a table on stdout) and as scripts
// read it (JSON, nlohmann-json). Rates are per second of the measured part;
// MB/s is decimal megabytes of payload (values written, or data read back).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "client.h"
#include "driver.h"
#include "options.h"

namespace redcar::load {

struct Report {
  const Options* options = nullptr;
  RunResult run;
  std::vector<std::pair<std::string, Histogram>> extra;  // name -> latency (ns)
  std::vector<std::pair<std::string, std::string>> facts;
};

void print_report(const Report& report);
// Returns an error message, empty if written.
std::string write_json(const Report& report, const std::string& path);

}  // namespace redcar::load
