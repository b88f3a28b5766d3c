// ACL users in process (resp_harness.h): SETUSER's rules and their errors,
// GETUSER, LIST, USERS, WHOAMI, CAT, GENPASS, DRYRUN, LOG; AUTH and HELLO
// with a user; NOPERM for commands, subcommands, keys (read and write
// apart) and channels, inside MULTI too; a change reaching a connection
// already logged in; DELUSER closing its connections; requirepass as the
// default user's password. Texts are Redis 7.0's.
#include <gtest/gtest.h>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

const char* kNoCommand = "NOPERM this user has no permissions to run the '";
const char* kNoKey = "NOPERM this user has no permissions to access one of the keys used as arguments";
const char* kNoChannel = "NOPERM this user has no permissions to access one of the channels used as arguments";
const char* kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

std::string no_command(const std::string& name) { return kNoCommand + name + "' command"; }

TEST(RespAcl, SetuserRulesAndHowUsersAreShown) {
  RespHarness h;
  EXPECT_EQ(h.run({"ACL", "SETUSER", "bob", "on", ">pw", "~app:*", "%R~ro:*", "&chan*", "+get", "+set", "+@stream",
                   "-xdel", "+client|setname"})
                .str(),
            "OK");
  const std::string pw = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";  // sha256("pw")
  EXPECT_EQ(h.run({"ACL", "LIST"}).size(), 2u);
  EXPECT_EQ(h.run({"ACL", "LIST"}).items[0].str(),
            "user bob on #" + pw + " ~app:* %R~ro:* resetchannels &chan* -@all +get +set +@stream -xdel +client|setname");
  EXPECT_EQ(h.run({"ACL", "LIST"}).items[1].str(), "user default on nopass ~* &* +@all");
  RespValue u = h.run({"ACL", "GETUSER", "bob"});
  ASSERT_EQ(u.size(), 12u);
  EXPECT_EQ(u.items[0].str(), "flags");
  EXPECT_EQ(u.items[1].items[0].str(), "on");
  EXPECT_EQ(u.items[3].items[0].str(), pw);
  EXPECT_EQ(u.items[5].str(), "-@all +get +set +@stream -xdel +client|setname");
  EXPECT_EQ(u.items[7].str(), "~app:* %R~ro:*");
  EXPECT_EQ(u.items[9].str(), "&chan*");
  EXPECT_TRUE(h.run({"ACL", "GETUSER", "nobody"}).is_null());
  EXPECT_EQ(h.run({"ACL", "USERS"}).items[0].str(), "bob");
  EXPECT_EQ(h.run({"ACL", "WHOAMI"}).str(), "default");
  // Errors name the rule.
  EXPECT_EQ(h.run({"ACL", "SETUSER", "x", "foo"}).str(), "ERR Error in ACL SETUSER modifier 'foo': Syntax error");
  EXPECT_EQ(h.run({"ACL", "SETUSER", "x", "+nosuch"}).str(),
            "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
  EXPECT_EQ(h.run({"ACL", "SETUSER", "x", "-@nosuch"}).str(),
            "ERR Error in ACL SETUSER modifier '-@nosuch': Unknown command or category name in ACL");
  EXPECT_EQ(h.run({"ACL", "SETUSER", "x", "#abc"}).str(),
            "ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain "
            "only lowercase hexadecimal characters");
  EXPECT_EQ(h.run({"ACL", "SETUSER", "bob", "<nothere"}).str(),
            "ERR Error in ACL SETUSER modifier '<nothere': The password you are trying to remove from the user does "
            "not exist");
  EXPECT_EQ(h.run({"ACL", "USERS"}).size(), 2u) << "a refused SETUSER makes no user";
  // Categories.
  RespValue cats = h.run({"ACL", "CAT"});
  EXPECT_EQ(cats.items[0].str(), "keyspace");
  EXPECT_EQ(cats.size(), 21u);
  RespValue stream = h.run({"ACL", "CAT", "stream"});
  bool has_xadd = false;
  for (auto& c : stream.items) has_xadd |= c.str() == "xadd";
  EXPECT_TRUE(has_xadd);
  EXPECT_EQ(h.run({"ACL", "CAT", "nosuch"}).str(), "ERR Unknown category 'nosuch'");
  EXPECT_EQ(h.run({"ACL", "GENPASS"}).str().size(), 64u);
  EXPECT_EQ(h.run({"ACL", "GENPASS", "32"}).str().size(), 8u);
  EXPECT_EQ(h.run({"ACL", "SAVE"}).str().substr(0, 55), "ERR This Redis instance is not configured to use an ACL");
}

TEST(RespAcl, PermissionsForCommandsKeysAndChannels) {
  RespHarness h;
  h.run({"ACL", "SETUSER", "bob", "on", ">pw", "~app:*", "%R~ro:*", "&chan*", "+get", "+set", "+@stream", "-xdel",
         "+publish", "+psubscribe", "+subscribe", "+multi", "+exec", "+acl|whoami"});
  auto bob = h.client();
  EXPECT_EQ(h.run(bob, {"AUTH", "bob", "nope"}).str(), kWrongPass);
  EXPECT_EQ(h.run(bob, {"AUTH", "bob", "pw"}).str(), "OK");
  EXPECT_EQ(h.run(bob, {"ACL", "WHOAMI"}).str(), "bob");
  EXPECT_EQ(h.run(bob, {"ACL", "USERS"}).str(), no_command("acl|users"));
  EXPECT_EQ(h.run(bob, {"SET", "app:1", "v"}).str(), "OK");
  EXPECT_EQ(h.run(bob, {"GET", "app:1"}).str(), "v");
  EXPECT_EQ(h.run(bob, {"GET", "other"}).str(), kNoKey);
  EXPECT_TRUE(h.run(bob, {"GET", "ro:1"}).is_null()) << "%R~ allows reads";
  EXPECT_EQ(h.run(bob, {"SET", "ro:1", "x"}).str(), kNoKey) << "and not writes";
  EXPECT_EQ(h.run(bob, {"DEL", "app:1"}).str(), no_command("del"));
  EXPECT_EQ(h.run(bob, {"XADD", "app:s", "*", "f", "v"}).type, RespValue::Type::kBulk);
  EXPECT_EQ(h.run(bob, {"XDEL", "app:s", "1-1"}).str(), no_command("xdel"));
  EXPECT_EQ(h.run(bob, {"PUBLISH", "chan1", "m"}).integer(), 0);
  EXPECT_EQ(h.run(bob, {"PUBLISH", "other", "m"}).str(), kNoChannel);
  EXPECT_EQ(h.run(bob, {"PSUBSCRIBE", "chan?"}).str(), kNoChannel) << "a pattern must be one of the user's as written";
  // A shard channel is checked as a channel, not as a key.
  h.run({"ACL", "SETUSER", "bob", "+spublish"});
  EXPECT_EQ(h.run(bob, {"SPUBLISH", "chan2", "m"}).integer(), 0);
  EXPECT_EQ(h.run(bob, {"SPUBLISH", "app:1", "m"}).str(), kNoChannel);
  // Inside MULTI, a refused command aborts the EXEC.
  EXPECT_EQ(h.run(bob, {"MULTI"}).str(), "OK");
  EXPECT_EQ(h.run(bob, {"SET", "app:2", "x"}).str(), "QUEUED");
  EXPECT_EQ(h.run(bob, {"SET", "other", "x"}).str(), kNoKey);
  EXPECT_EQ(h.run(bob, {"EXEC"}).str(), "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_TRUE(h.run({"GET", "app:2"}).is_null());
  // DRYRUN says the same without running it.
  EXPECT_EQ(h.run({"ACL", "DRYRUN", "bob", "GET", "app:x"}).str(), "OK");
  EXPECT_EQ(h.run({"ACL", "DRYRUN", "bob", "GET", "x"}).str(), "This user has no permissions to access the 'x' key");
  EXPECT_EQ(h.run({"ACL", "DRYRUN", "bob", "DEL", "x"}).str(), "This user has no permissions to run the 'del' command");
  EXPECT_EQ(h.run({"ACL", "DRYRUN", "nobody", "GET", "x"}).str(), "ERR User 'nobody' not found");
  // The log has the refusals, newest first, grouped.
  RespValue log = h.run({"ACL", "LOG"});
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(log.items[0].items[1].integer(), 1);
  EXPECT_EQ(log.items[0].items[3].str(), "key");
  EXPECT_EQ(log.items[0].items[5].str(), "multi");
  EXPECT_EQ(log.items[0].items[7].str(), "other");
  EXPECT_EQ(log.items[0].items[9].str(), "bob");
  h.run(bob, {"GET", "other"});
  h.run(bob, {"GET", "other"});
  log = h.run({"ACL", "LOG", "1"});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.items[0].items[1].integer(), 3) << "the same refusal, counted";
  EXPECT_EQ(h.run({"ACL", "LOG", "RESET"}).str(), "OK");
  EXPECT_EQ(h.run({"ACL", "LOG"}).size(), 0u);
}

TEST(RespAcl, ChangesReachLoggedInClientsAndDeluserClosesThem) {
  RespHarness h;
  h.run({"ACL", "SETUSER", "amy", "on", ">secret", "allkeys", "+get"});
  auto amy = h.client();
  EXPECT_EQ(h.run(amy, {"HELLO", "3", "AUTH", "amy", "secret"}).type, RespValue::Type::kMap);
  EXPECT_TRUE(h.run(amy, {"GET", "k"}).is_null());
  EXPECT_EQ(h.run(amy, {"SET", "k", "v"}).str(), no_command("set"));
  h.run({"ACL", "SETUSER", "amy", "+set"});
  EXPECT_EQ(h.run(amy, {"SET", "k", "v"}).str(), "OK") << "the new rule applies at once";
  h.run({"ACL", "SETUSER", "amy", "off"});
  EXPECT_EQ(h.run(amy, {"GET", "k"}).str(), "v") << "off stops new logins, not this one";
  EXPECT_EQ(h.run(h.client(), {"AUTH", "amy", "secret"}).str(), kWrongPass);
  // A user with no commands at all may still log in as another.
  h.run({"ACL", "SETUSER", "none", "on", "nopass", "-@all"});
  h.run({"ACL", "SETUSER", "amy", "on"});
  auto other = h.client();
  EXPECT_EQ(h.run(other, {"AUTH", "none", "x"}).str(), "OK");
  EXPECT_EQ(h.run(other, {"ACL", "WHOAMI"}).str(), no_command("acl|whoami"));
  EXPECT_EQ(h.run(other, {"AUTH", "amy", "secret"}).str(), "OK");
  EXPECT_EQ(h.run(other, {"GET", "k"}).str(), "v");
  EXPECT_EQ(h.run({"ACL", "DELUSER", "amy", "nobody", "default"}).integer(), 1);
  EXPECT_TRUE(amy->closed()) << "DELUSER closes the user's connections";
  EXPECT_TRUE(other->closed());
  EXPECT_EQ(h.run({"ACL", "USERS"}).size(), 2u);
}

// Who may run ACL's subcommands: WHOAMI, CAT and GENPASS are in no
// category that a "-@admin" or "-@dangerous" takes away.
TEST(RespAcl, AclSubcommandsSitInRedisCategories) {
  RespHarness h;
  h.run({"ACL", "SETUSER", "ops", "on", "nopass", "+@all", "-@dangerous", "allkeys"});
  auto ops = h.client();
  h.run(ops, {"AUTH", "ops", "x"});
  EXPECT_EQ(h.run(ops, {"ACL", "WHOAMI"}).str(), "ops");
  EXPECT_EQ(h.run(ops, {"ACL", "CAT"}).size(), 21u);
  EXPECT_EQ(h.run(ops, {"ACL", "SETUSER", "x"}).str(), no_command("acl|setuser"));
  EXPECT_EQ(h.run(ops, {"FLUSHALL"}).str(), no_command("flushall"));
  EXPECT_EQ(h.run(ops, {"SET", "k", "v"}).str(), "OK");
}

TEST(RespAcl, RequirepassIsTheDefaultUsersPassword) {
  resp::ServerOptions opt;
  opt.requirepass = "topsecret";
  RespHarness h(opt);
  auto c = h.client();
  EXPECT_EQ(h.run(c, {"GET", "k"}).str(), "NOAUTH Authentication required.");
  EXPECT_EQ(h.run(c, {"AUTH", "default", "wrong"}).str(), kWrongPass);
  EXPECT_EQ(h.run(c, {"AUTH", "topsecret"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"ACL", "WHOAMI"}).str(), "default");
  EXPECT_EQ(h.run(c, {"ACL", "SETUSER", "ops", "on", "nopass", "+@all", "~*"}).str(), "OK");
  auto d = h.client();
  EXPECT_EQ(h.run(d, {"AUTH", "ops", "anything"}).str(), "OK") << "nopass takes any password";
  EXPECT_EQ(h.run(d, {"ACL", "WHOAMI"}).str(), "ops");
  RespValue list = h.run(d, {"CLIENT", "LIST"});
  EXPECT_NE(list.str().find("user=ops"), std::string::npos) << list.str();
  // CONFIG SET requirepass changes the default user's password; who is
  // logged in stays so.
  EXPECT_EQ(h.run(c, {"CONFIG", "SET", "requirepass", "newpw"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"CONFIG", "GET", "requirepass"}).items[1].str(), "newpw");
  EXPECT_EQ(h.run(c, {"GET", "k"}).type, RespValue::Type::kNull);
  auto e = h.client();
  EXPECT_EQ(h.run(e, {"AUTH", "topsecret"}).str(), kWrongPass);
  EXPECT_EQ(h.run(e, {"AUTH", "newpw"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"CONFIG", "SET", "requirepass", ""}).str(), "OK");
  EXPECT_EQ(h.run(h.client(), {"GET", "k"}).type, RespValue::Type::kNull) << "no password: open again";
}

}  // namespace
}  // namespace redcar::test
