#include "engine/shard/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <vector>

#include "engine/io/disk_factory.h"

namespace redcar::shard {

namespace {

// "shard-NNN" -> NNN.
bool parse_shard_name(const std::string& name, unsigned* index) {
  constexpr std::string_view kPrefix = "shard-";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  const char* b = name.data() + kPrefix.size();
  const char* e = name.data() + name.size();
  auto r = std::from_chars(b, e, *index);
  return r.ec == std::errc() && r.ptr == e;
}

}  // namespace

std::string DataDir::shard_path(unsigned index) const {
  char dir[32];
  std::snprintf(dir, sizeof(dir), "/shard-%03u", index);
  return path_ + dir;
}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<DataDir>> DataDir::open(const std::string& path, io::MemFs* mem_fs) {
  std::unique_ptr<DataDir> d(new DataDir(path));
  // A small reactor of its own: only the disk's folder operations are used.
  std::unique_ptr<runtime::Reactor> reactor;
  if (int rc = runtime::Reactor::create({.ring_entries = 8}, &reactor); rc < 0) {
    return Status::from_errno(rc, "io_uring_setup");
  }
  std::unique_ptr<io::Disk> disk = io::open_disk(mem_fs, *reactor);
  if (Status s = disk->make_dirs(path); !s) return s;
  if (!mem_fs) {
    std::string lock = path + "/LOCK";
    d->lock_fd_ = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (d->lock_fd_ < 0) return Status::from_errno(-errno, "open " + lock);
    if (::flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status(Code::kBusy, "data folder " + path + " is in use by another redcar process (" + lock +
                                     " is locked)");
    }
  }
  std::vector<std::string> names;
  if (Status s = disk->list(path, &names); !s) return s;
  for (const auto& name : names) {
    unsigned index;
    if (parse_shard_name(name, &index) && index < 4096) d->existing_shards_ = std::max(d->existing_shards_, index + 1);
  }
  return d;
}

}  // namespace redcar::shard
