// redcar-ctl: the command line. Declares the global options, lets each
// family of verbs register itself, parses with CLI11 and runs the chosen
// verb. The historical forms `redcar-ctl -e URL "KEY VALUE" put` and
// `redcar-ctl -e URL KEY range` are kept: their argument before the verb is
// a hidden positional of the top-level command.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <set>
#include <string>

#include "tools/ctl/errors.h"
#include "tools/ctl/verb.h"

namespace redcar::ctl {

namespace {

// CLI11's help, with "verbs" for subcommands and a top-level usage line that
// leaves out the historical forms' hidden argument.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() {
    label("SUBCOMMAND", "VERB");
    label("SUBCOMMANDS", "VERBS");
  }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_parent() == nullptr) return "Usage: redcar-ctl [OPTIONS] VERB [ARGS...]\n";
    return CLI::Formatter::make_usage(app, name);
  }
};

}  // namespace

}  // namespace redcar::ctl

int main(int argc, char** argv) {
  using namespace redcar::ctl;
  CLI::App app{
      "redcar-ctl: the command-line client of a redcar server (gRPC).\n"
      "Key-value verbs speak etcd v3 (so they work against etcd too); event verbs speak redcar.v1.Events."};
  app.name("redcar-ctl");
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options may follow the verb
  app.formatter(std::make_shared<HelpFormatter>());
  Globals g;
  app.add_option("-e,--endpoint", g.endpoint.url, "server: http://HOST:PORT, https://HOST:PORT (TLS) or HOST:PORT")
      ->capture_default_str();
  app.add_option("--cacert", g.endpoint.cacert_file, "CA certificate (PEM) to trust for https")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", g.endpoint.cert_file, "client certificate (PEM), for servers that require one")
      ->check(CLI::ExistingFile);
  app.add_option("--key", g.endpoint.key_file, "private key (PEM) of --cert")->check(CLI::ExistingFile);
  app.add_option("--timeout", g.endpoint.timeout, "deadline of each unary call (500ms, 5s, 2m)")->capture_default_str();
  app.add_flag("--json", g.json, "one JSON object per line instead of human output");
  g.leading_option = app.add_option("leading", g.leading, "argument of the historical forms")->group("");

  add_etcd_verbs(app, g);
  add_event_verbs(app, g);
  add_group_verbs(app, g);
  add_inspect_verb(app, g);
  add_migrate_verb(app, g);
  // "Verbs" rather than CLI11's "Subcommands" in the help; "" stays hidden.
  auto all = [](CLI::App*) { return true; };
  for (auto* verb : app.get_subcommands(all)) {
    if (!verb->get_group().empty()) verb->group("Verbs");
    for (auto* sub : verb->get_subcommands(all)) sub->group("Verbs");
  }
  // After the verbs, so that they do not inherit it.
  app.footer(
      "Examples:\n"
      "  redcar-ctl put config/limit 10\n"
      "  redcar-ctl get config/ --prefix\n"
      "  redcar-ctl publish orders created '{\"id\":1}'\n"
      "  redcar-ctl subscribe orders:0          catch up from event 0, then follow\n"
      "  redcar-ctl subscribe '*' --json        every stream, one JSON object per event\n"
      "  redcar-ctl -e https://host:8519 --cacert ca.pem status\n"
      "Historical forms, still accepted:\n"
      "  redcar-ctl -e http://127.0.0.1:8519 \"foo bar\" put     (put foo bar)\n"
      "  redcar-ctl -e http://127.0.0.1:8519 foo range         (get foo)\n"
      "Exit status: 0 done, 1 a call failed (the message names the gRPC code), 2 bad usage.\n"
      "Run `redcar-ctl VERB --help` for a verb's options.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (app.get_subcommands().empty()) {
    if (g.has_leading()) return report_usage("", "unknown verb '" + g.leading + "' (see --help)");
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  if (g.has_leading()) {
    static const std::set<std::string> kLegacyVerbs = {"put", "range"};
    auto chosen = app.get_subcommands();
    if (chosen.empty() || !kLegacyVerbs.contains(chosen.front()->get_name())) {
      return report_usage(chosen.empty() ? "redcar-ctl" : chosen.front()->get_name(),
                          "unexpected argument '" + g.leading + "' (see --help)");
    }
  }
  if (!g.action) return report_usage("", "no verb given (see --help)");
  return g.action();
}
