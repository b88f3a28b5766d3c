// group create / delete / consume.
#include "tools/ctl/group_verbs.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "redcar/v1/events.grpc.pb.h"
#include "tools/ctl/errors.h"
#include "tools/ctl/output.h"
#include "tools/ctl/verb.h"

namespace redcar::ctl {

namespace {

struct GroupArgs {
  std::string stream, group, consumer;
  std::optional<uint64_t> from;
  bool from_end = false;
  uint32_t count = 10;
  bool no_ack = false;
  uint64_t max = 0;
  bool create = false;
};

void set_position(const GroupArgs& a, v1::Position* p) {
  if (a.from_end) {
    p->set_kind(v1::Position::END);
  } else if (a.from) {
    p->set_kind(v1::Position::NUMBER);
    p->set_number(*a.from);
  } else {
    p->set_kind(v1::Position::BEGINNING);
  }
}

int do_create(const Globals& g, const GroupArgs& a) {
  if (a.from && a.from_end) return report_usage("group create", "--from and --from-end exclude each other");
  auto conn = connect_or_report(g, "group create");
  if (!conn) return kExitUsage;
  v1::CreateGroupRequest req;
  req.set_stream(a.stream);
  req.set_group(a.group);
  set_position(a, req.mutable_from());
  req.set_create_stream(a.create);
  v1::CreateGroupResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->CreateGroup(&ctx, req, &resp);
  if (!status.ok()) return report("group create", status);
  Output out(g.json);
  if (out.json()) {
    out.object({{"created", resp.created()}});
  } else {
    out.line(resp.created() ? "created group " + a.group : "group " + a.group + " exists (left as it was)");
  }
  out.flush();
  return kExitOk;
}

int do_delete(const Globals& g, const GroupArgs& a) {
  auto conn = connect_or_report(g, "group delete");
  if (!conn) return kExitUsage;
  v1::DeleteGroupRequest req;
  req.set_stream(a.stream);
  req.set_group(a.group);
  v1::DeleteGroupResponse resp;
  grpc::ClientContext ctx;
  conn->set_deadline(ctx);
  auto status = v1::Events::NewStub(conn->channel())->DeleteGroup(&ctx, req, &resp);
  if (!status.ok()) return report("group delete", status);
  Output out(g.json);
  if (out.json()) {
    out.object({{"existed", resp.existed()}});
  } else {
    out.line(resp.existed() ? "deleted group " + a.group : "no group " + a.group);
  }
  out.flush();
  return kExitOk;
}

// One session: Join, then credit of at most --count (never past --max),
// print each delivered event, ack it. With --max, stop once every ack sent
// has been answered, so nothing printed is left pending.
int do_consume(const Globals& g, const GroupArgs& a) {
  if (a.count == 0) return report_usage("group consume", "--count must be at least 1");
  auto conn = connect_or_report(g, "group consume");
  if (!conn) return kExitUsage;
  grpc::ClientContext ctx;
  auto stream = v1::Events::NewStub(conn->channel())->Consume(&ctx);
  v1::ConsumeRequest req;
  auto* join = req.mutable_join();
  join->set_stream(a.stream);
  join->set_group(a.group);
  join->set_consumer(a.consumer);
  join->set_create_group(a.create);
  set_position(a, join->mutable_from());
  stream->Write(req);

  Output out(g.json);
  uint64_t printed = 0, credit = 0, acks_sent = 0, acks_answered = 0;
  auto give_credit = [&] {
    uint64_t want = a.count;
    if (a.max > 0) want = std::min<uint64_t>(want, a.max - printed);
    if (want == 0) return true;
    v1::ConsumeRequest r;
    r.mutable_receive()->set_count(static_cast<uint32_t>(want));
    credit += want;
    return stream->Write(r);
  };
  auto done = [&] { return a.max > 0 && printed >= a.max && acks_answered >= acks_sent; };
  // Once --max events are printed, the acks still unanswered get --timeout;
  // then the session is ended anyway.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog;
  auto arm_watchdog = [&] {
    if (watchdog.joinable()) return;
    watchdog = std::thread([&] {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, conn->timeout(), [&] { return finished; })) ctx.TryCancel();
    });
  };
  auto disarm_watchdog = [&] {
    {
      std::lock_guard lock(mu);
      finished = true;
    }
    cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
  };
  v1::ConsumeResponse resp;
  bool joined = false;
  while (!done() && stream->Read(&resp)) {
    switch (resp.response_case()) {
      case v1::ConsumeResponse::kJoined:
        joined = true;
        if (resp.joined().group_created()) note("group consume", "created group " + a.group);
        if (!give_credit()) break;
        break;
      case v1::ConsumeResponse::kDelivery:
      case v1::ConsumeResponse::kClaimed: {
        const auto& events = resp.has_delivery() ? resp.delivery().events() : resp.claimed().events();
        v1::ConsumeRequest ack;
        for (const auto& ge : events) {
          if (out.json()) {
            auto j = event_json(ge.event());
            j["delivery_count"] = ge.delivery_count();
            out.object(j);
          } else {
            out.line(event_line(ge.event()) +
                     (ge.delivery_count() > 1 ? "  (delivery " + std::to_string(ge.delivery_count()) + ")" : ""));
          }
          ack.mutable_ack()->add_numbers(ge.event().number());
          ++printed;
          if (credit > 0) --credit;
        }
        out.flush();
        if (!a.no_ack && ack.ack().numbers_size() > 0) {
          ++acks_sent;
          stream->Write(ack);
        }
        if (credit == 0) give_credit();
        if (a.max > 0 && printed >= a.max) arm_watchdog();
        break;
      }
      case v1::ConsumeResponse::kAcked:
        ++acks_answered;
        break;
      default:
        break;
    }
  }
  bool all_printed = a.max > 0 && printed >= a.max;
  if (done()) {
    disarm_watchdog();
    stream->WritesDone();
    ctx.TryCancel();
    stream->Finish();
    return kExitOk;
  }
  auto status = stream->Finish();
  disarm_watchdog();
  if (all_printed) {
    note("group consume", std::to_string(acks_sent - acks_answered) + " acknowledgement(s) unanswered after " +
                              std::to_string(conn->timeout().count()) + " ms");
    return kExitCallFailed;
  }
  if (!status.ok()) return report("group consume", status);
  if (!joined) return report("group consume", grpc::Status(grpc::StatusCode::UNKNOWN, "the server ended the session before joining"));
  return kExitOk;
}

}  // namespace

void add_group_verbs(CLI::App& app, Globals& g) {
  auto* group = app.add_subcommand("group", "consumer groups: each event of a stream goes to one member");
  group->require_subcommand(1);
  {
    auto* cmd = group->add_subcommand("create", "create GROUP on STREAM, starting at the beginning, --from N or --from-end");
    auto a = std::make_shared<GroupArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("GROUP", a->group, "group name")->required();
    cmd->add_option("--from", a->from, "first event number the group gets");
    cmd->add_flag("--from-end", a->from_end, "only events appended from now on");
    cmd->add_flag("--create-stream", a->create, "create an empty stream if there is none");
    cmd->callback([&g, a] { g.action = [&g, a] { return do_create(g, *a); }; });
  }
  {
    auto* cmd = group->add_subcommand("delete", "delete GROUP of STREAM");
    auto a = std::make_shared<GroupArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("GROUP", a->group, "group name")->required();
    cmd->callback([&g, a] { g.action = [&g, a] { return do_delete(g, *a); }; });
  }
  {
    auto* cmd = group->add_subcommand(
        "consume",
        "join GROUP as CONSUMER; print the events it is given, acknowledging each");
    cmd->footer(
        "Events are asked for --count at a time and acknowledged once printed (unless --no-ack).\n"
        "Runs until interrupted or --max; events left unacknowledged go to another member later.");
    auto a = std::make_shared<GroupArgs>();
    cmd->add_option("STREAM", a->stream, "stream name")->required();
    cmd->add_option("GROUP", a->group, "group name")->required();
    cmd->add_option("CONSUMER", a->consumer, "this member's name")->required();
    cmd->add_option("--count", a->count, "events asked for at a time")->capture_default_str();
    cmd->add_flag("--no-ack", a->no_ack, "leave events pending (they go to another member later)");
    cmd->add_option("--max", a->max, "stop after this many events (0: no limit)");
    cmd->add_flag("--create", a->create, "create the group (at the beginning) if it is missing");
    cmd->callback([&g, a] { g.action = [&g, a] { return do_consume(g, *a); }; });
  }
}

}  // namespace redcar::ctl
