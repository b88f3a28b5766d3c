// The in-memory backend of Disk, for tests. A MemFs is a little filesystem
// shared by every MemDisk made from it (one per shard) and it outlives them,
// so a test can "crash" the engine, keep the MemFs and open it again.
//
// It remembers, per file, what is durable (synced) and what was written since;
// crash() throws away unsynced writes or tears them at sector granularity,
// the way a power cut would. Faults are injected per operation kind: the next
// write/sync fails with an errno, or prepare() runs out of space.
//
// MemFs is thread-safe (one mutex): tests only, never on a hot path.
#pragma once

#include <map>
#include <mutex>
#include <random>
#include <set>

#include "engine/io/disk.h"
#include "runtime/reactor.h"

namespace redcar::io {

class MemFs {
 public:
  struct Faults {
    int fail_writes_errno = 0;   // every write fails with -errno while set
    int fail_syncs_errno = 0;    // every sync fails with -errno while set
    int fail_prepare_errno = 0;  // prepare() fails with -errno while set
    int fail_reads_errno = 0;
  };

  // Drops every write that was not followed by a sync of its file. With
  // `tear`, each unsynced write instead survives partially: a random subset
  // of its 512-byte sectors reaches "disk".
  void crash(bool tear, uint32_t seed);

  // While held, asynchronous operations take effect at once (writes land,
  // reads read) but their completions wait: writes stay in flight, as on a
  // slow disk, until released — in the order they were issued, or newest
  // first. Returns how many were released.
  void hold_completions();
  size_t release_completions(bool newest_first = false);

  void set_faults(const Faults& f);
  Faults faults();
  // Bytes returned by asynchronous reads (what scans read) so far.
  uint64_t async_read_bytes();

  // Direct access for tests that build bad states on purpose.
  bool read_file(const std::string& path, std::vector<uint8_t>* out);
  void write_file(const std::string& path, std::vector<uint8_t> bytes);  // durable at once
  void remove_file(const std::string& path);
  std::vector<std::string> files();

 private:
  friend class MemDisk;
  friend class MemFile;
  struct PendingWrite {
    uint64_t offset;
    std::vector<uint8_t> bytes;
  };
  struct Node {
    std::vector<uint8_t> current;  // what reads see
    std::vector<uint8_t> durable;  // what survives a crash
    std::vector<PendingWrite> unsynced;
  };
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;
  std::set<std::string> dirs_;
  Faults faults_;
  uint64_t async_read_bytes_ = 0;
  struct Held {
    runtime::Reactor* reactor;
    runtime::Task task;
  };
  bool hold_completions_ = false;
  std::vector<Held> held_;
};

class MemDisk final : public Disk {
 public:
  // Completions run on `reactor`, as the real disk's do.
  MemDisk(MemFs& fs, runtime::Reactor& reactor) : fs_(fs), reactor_(reactor) {}

  Result<std::unique_ptr<File>> open(const std::string& path) override;
  Status prepare(const std::string& path, uint64_t size_bytes) override;
  Status list(const std::string& dir, std::vector<std::string>* names) override;
  Status make_dirs(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  bool exists(const std::string& path) override;
  size_t in_flight() const override { return in_flight_; }

 private:
  friend class MemFile;
  MemFs& fs_;
  runtime::Reactor& reactor_;
  size_t in_flight_ = 0;  // completions not yet run (touched on the reactor's thread)
};

}  // namespace redcar::io
