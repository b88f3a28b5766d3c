// The io_uring backend of Disk, on the shard's own reactor: reads, writes
// and syncs go into the ring the shard's sockets use too, and complete on
// the shard's thread when the loop reaps them. Files are opened with
// O_DIRECT; on a filesystem that refuses it (tmpfs) they fall back to
// buffered I/O and say so once in the log.
#pragma once

#include <liburing.h>

#include <memory>

#include "engine/io/disk.h"
#include "runtime/reactor.h"

namespace redcar::io {

class UringDisk final : public Disk {
 public:
  explicit UringDisk(runtime::Reactor& reactor) : reactor_(reactor) {}
  // Waits for operations still in flight (their buffers belong to others).
  ~UringDisk() override;

  Result<std::unique_ptr<File>> open(const std::string& path) override;
  Status prepare(const std::string& path, uint64_t size_bytes) override;
  Status list(const std::string& dir, std::vector<std::string>* names) override;
  Status make_dirs(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  bool exists(const std::string& path) override;

  // Operations submitted and not yet completed.
  size_t in_flight() const override { return in_flight_; }
  // Turns the reactor until none is. On the reactor's thread.
  void drain() override;

 private:
  friend class UringFile;
  enum class OpKind : uint8_t { kRead, kWrite, kWriteDsync, kSync };
  struct Op final : runtime::Completion {
    UringDisk* disk;
    IoCallback done;
    uint64_t txn;  // the transaction that asked (runtime/txn_scope.h): its completion stays in it
    void complete(int result, uint32_t flags) override;
  };

  void submit(OpKind kind, int fd, uint64_t offset, uint8_t* data, size_t len, IoCallback done);

  runtime::Reactor& reactor_;
  size_t in_flight_ = 0;
};

}  // namespace redcar::io
