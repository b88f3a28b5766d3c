// The data folder (FORMAT.md, Folder): one server at a time holds its LOCK,
// and the number of shard-NNN folders it already has fixes the shard count
// (a stream's shard is its name's hash modulo that number).
#pragma once

#include <memory>
#include <string>

#include "engine/common/status.h"

namespace redcar::io {
class MemFs;
}

namespace redcar::shard {

class DataDir {
 public:
  // Makes the folder if missing and locks it. kBusy if another process
  // holds it. An in-memory folder (tests) belongs to one process: no lock.
  static Result<std::unique_ptr<DataDir>> open(const std::string& path, io::MemFs* mem_fs);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  // The highest shard-NNN folder's number plus one (0: a new folder).
  unsigned existing_shards() const { return existing_shards_; }
  const std::string& path() const { return path_; }
  std::string shard_path(unsigned index) const;

 private:
  DataDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  int lock_fd_ = -1;
  unsigned existing_shards_ = 0;
};

}  // namespace redcar::shard
