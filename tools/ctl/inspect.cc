// inspect: a command per event.
#include "tools/ctl/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "redcar/v1/events.grpc.pb.h"
#include "tools/ctl/errors.h"
#include "tools/ctl/output.h"
#include "tools/ctl/stream_target.h"
#include "tools/ctl/subscription.h"
#include "tools/ctl/verb.h"

extern char** environ;

namespace redcar::ctl {

namespace {

constexpr int kExitCannotRun = 127;
constexpr uint32_t kReadPageEvents = 100;

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // EPIPE: the command did not read all of it, which is its right
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int run_for_event(const std::vector<std::string>& argv, const v1::RecordedEvent& e) {
  // The environment: ours, with the REDCAR_* variables set for this event.
  std::map<std::string, std::string> vars = {
      {"REDCAR_STREAM", e.stream()},        {"REDCAR_NUMBER", std::to_string(e.number())},
      {"REDCAR_TYPE", e.event().type()},    {"REDCAR_ID", e.event().id()},
      {"REDCAR_SOURCE", e.event().source()}};
  std::vector<std::string> env_strings;
  for (char** p = environ; *p; ++p) {
    std::string_view kv(*p);
    auto name = kv.substr(0, kv.find('='));
    if (!vars.contains(std::string(name))) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    note("inspect", std::string("pipe: ") + std::strerror(errno));
    return kExitCannotRun;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  std::fflush(stdout);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    note("inspect", "cannot run " + argv[0] + ": " + std::strerror(rc));
    return kExitCannotRun;
  }
  write_all(fds[1], event_data(e.event()));
  ::close(fds[1]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return kExitCannotRun;
  }
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return kExitCannotRun;
}

namespace {

struct InspectArgs {
  std::string target;
  bool follow = false;
  bool keep_going = false;
  std::vector<std::string> command;
};

int do_inspect(const Globals& g, const InspectArgs& a) {
  StreamTarget t;
  std::string error;
  if (!parse_stream_target(a.target, true, &t, &error)) return report_usage("inspect", error);
  if (t.all) return report_usage("inspect", "inspect takes one stream, not '*'");
  if (a.command.empty()) return report_usage("inspect", "no command given (inspect STREAM -- CMD ARGS...)");
  // A command that stops reading its stdin must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  auto conn = connect_or_report(g, "inspect");
  if (!conn) return kExitUsage;

  int last_failure = 0;
  uint64_t failures = 0;
  // Runs the command; false stops the walk.
  auto handle = [&](const v1::RecordedEvent& e) {
    int code = run_for_event(a.command, e);
    if (code == 0) return true;
    ++failures;
    last_failure = code;
    note("inspect", a.command[0] + " failed on " + e.stream() + ":" + std::to_string(e.number()) + " (exit " +
                        std::to_string(code) + ")" + (a.keep_going ? "; going on" : ""));
    return a.keep_going;
  };
  auto finish = [&]() {
    if (failures > 0 && a.keep_going) {
      note("inspect", std::to_string(failures) + " command(s) failed; exiting with the last one's status");
    }
    return last_failure;
  };

  if (a.follow) {
    SubscribeSpec spec;
    spec.name = t.stream;
    spec.from = t.from;
    spec.to = t.to;
    Subscription sub(*conn, spec, "inspect");
    auto status = sub.run(handle);
    if (!status.ok()) return report("inspect", status);
    return finish();
  }

  // Without --follow: up to the last event the stream holds now.
  auto stub = v1::Events::NewStub(conn->channel());
  v1::DescribeStreamRequest dreq;
  dreq.set_stream(t.stream);
  v1::DescribeStreamResponse info;
  {
    grpc::ClientContext ctx;
    conn->set_deadline(ctx);
    auto status = stub->DescribeStream(&ctx, dreq, &info);
    if (!status.ok()) return report("inspect", status);
  }
  if (info.next_number() == 0) return kExitOk;
  uint64_t end = info.next_number() - 1;
  if (t.to && *t.to < end) end = *t.to;
  uint64_t cursor = t.from.value_or(0);
  while (cursor <= end) {
    v1::ReadRequest req;
    req.set_stream(t.stream);
    req.set_from(cursor);
    req.set_to(end);
    req.set_max_count(kReadPageEvents);
    grpc::ClientContext ctx;
    auto reader = stub->Read(&ctx, req);
    std::vector<v1::RecordedEvent> page;
    v1::ReadResponse resp;
    while (reader->Read(&resp)) {
      for (auto& e : *resp.mutable_events()) page.push_back(std::move(e));
    }
    auto status = reader->Finish();
    if (!status.ok()) return report("inspect", status);
    if (page.empty()) break;
    for (const auto& e : page) {
      if (e.number() < cursor || e.number() > end) continue;
      cursor = e.number() + 1;
      if (!handle(e)) return finish();
    }
  }
  return finish();
}

}  // namespace

void add_inspect_verb(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("inspect", "run a command once per event, with the event's data on its stdin");
  cmd->footer(
      "The command runs once per event, one at a time and in order, with REDCAR_STREAM, REDCAR_NUMBER,\n"
      "REDCAR_TYPE, REDCAR_ID and REDCAR_SOURCE in its environment. Without --follow inspect stops at the\n"
      "last event the stream held when it started. A failing command stops it with that command's\n"
      "exit status, unless --keep-going.\n"
      "Example:\n"
      "  redcar-ctl inspect orders:100 -- sh -c 'jq .total >> totals.txt'");
  auto a = std::make_shared<InspectArgs>();
  cmd->add_option("TARGET", a->target, "STREAM, STREAM:FROM or STREAM:FROM:TO")->required();
  cmd->add_option("COMMAND", a->command, "the command and its arguments, after --")->required();
  cmd->add_flag("--follow", a->follow, "keep following the stream after its end (until TO or interrupted)");
  cmd->add_flag("--keep-going", a->keep_going, "run on after a command fails (exit with the last failure's status)");
  cmd->callback([&g, a] { g.action = [&g, a] { return do_inspect(g, *a); }; });
}

}  // namespace redcar::ctl
