// What verbs share: opening the connection the global options describe.
#include "tools/ctl/verb.h"

#include "tools/ctl/errors.h"

namespace redcar::ctl {

std::unique_ptr<Connection> connect_or_report(const Globals& g, std::string_view verb) {
  std::string error;
  auto c = Connection::open(g.endpoint, &error);
  if (!c) report_usage(verb, error);
  return c;
}

}  // namespace redcar::ctl
