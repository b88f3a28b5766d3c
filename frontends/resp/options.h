// How the RESP front end is set up (the server's flags) and the limits each
// connection keeps.
#pragma once

#include <cstddef>
#include <string>

#include "frontends/resp/resp_parser.h"

namespace redcar::resp {

struct SessionLimits {
  size_t max_pending_replies = 1024;
  size_t max_output_bytes = 64ull << 20;  // past this, a client that does not read is dropped
  size_t pause_output_bytes = 4ull << 20;  // stop reading requests past this
  // What MULTI may queue, in argument bytes: a client that never sends EXEC
  // cannot make the server hold without bound (EXEC of more aborts).
  size_t max_queued_bytes = 64ull << 20;
};

struct ServerOptions {
  std::string address = "127.0.0.1:6480";
  bool events_dialect = false;  // --resp-dialect events: event-store verbs win
  std::string requirepass;
  // SELECT 0 .. databases - 1 (databases.h: at most kMaxDatabases).
  unsigned databases = 16;
  size_t max_clients = 10000;
  ParseLimits parse;
  SessionLimits session;
  // TLS: with a certificate and key the listener speaks TLS only; with a
  // client CA it also requires a client certificate signed by it.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

}  // namespace redcar::resp
