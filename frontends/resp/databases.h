// Redis's numbered databases (SELECT) over the engine's one key space.
// Database 0's keys are stored as themselves: the etcd view's strings, the
// native API's streams. Database N's are stored under a NUL byte, the byte
// N and the key (redis_database_of, engine/common/types.h), which etcd and
// the native API leave alone. dispatch() rewrites a command's key
// arguments into its client's database before the command runs, so that
// commands deal in stored names only; the few answers that carry key names
// (KEYS, SCAN, RANDOMKEY, XREAD, XREADGROUP) give them back as the client
// knows them. Pub/sub channels are not keys, as in Redis.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontends/resp/command_table.h"

namespace redcar::resp {

// The most databases --databases allows: a database is one byte of a name.
inline constexpr unsigned kMaxDatabases = 256;

// The name `key` of database `db` is stored under.
std::string stored_key(unsigned db, std::string_view key);
// The key a stored name is to its database's clients.
std::string_view user_key(std::string_view stored);
// The stored names of database `db` >= 1 are [first, end) (etcd's range
// convention).
std::pair<std::string, std::string> database_range(unsigned db);
// Every stored name of database `db` lies in one of these ranges (two for
// database 0, around the others' names).
std::vector<std::pair<std::string, std::string>> database_ranges(unsigned db);

// The arguments `cmd` runs with in database `db`: its keys stored there,
// in `keys`, with `views` the whole argument list. `a` itself when db is
// 0 and no key reads as another database's.
Args keys_in_database(const Command& cmd, Args a, unsigned db, std::vector<std::string>& keys,
                      std::vector<std::string_view>& views);
// Whether a key argument of a database-0 command would read as another
// database's stored name (refused: those names are not database 0's).
bool names_another_database(const Command& cmd, Args a);

}  // namespace redcar::resp
