// What every verb shares: the global options (endpoint, TLS, timeout,
// --json) and the slot where the chosen verb leaves the work it will do.
// Parsing only fills options and picks an action; main() runs the action
// after CLI11 is done, so a verb's failures are exit codes, not exceptions.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "tools/ctl/endpoint.h"

namespace redcar::ctl {

struct Globals {
  EndpointOptions endpoint;
  bool json = false;
  // The historical forms `"KEY VALUE" put` and `"KEY" range` put their
  // argument before the verb; it lands here.
  std::string leading;
  CLI::Option* leading_option = nullptr;
  bool has_leading() const { return leading_option && leading_option->count() > 0; }
  // The verb chosen on the command line: returns the process exit code.
  std::function<int()> action;
};

// Opens the connection for `verb`, or reports why it cannot (and returns
// null; the caller exits with kExitUsage).
std::unique_ptr<Connection> connect_or_report(const Globals& g, std::string_view verb);

// Registration of each family of verbs on the top-level app.
void add_etcd_verbs(CLI::App& app, Globals& g);
void add_event_verbs(CLI::App& app, Globals& g);
void add_group_verbs(CLI::App& app, Globals& g);
void add_inspect_verb(CLI::App& app, Globals& g);
void add_migrate_verb(CLI::App& app, Globals& g);

}  // namespace redcar::ctl
