// The engine's only view of the operating system's files (after LevelDB's
// Env). Two backends implement it: UringDisk (io_uring, O_DIRECT; the real
// one) and MemDisk (in memory, for tests: it injects errors and tears
// unsynced writes). A Disk belongs to one shard and is used from that shard's
// thread, except prepare() which may run on any thread.
//
// Asynchronous operations complete on the shard's reactor with the kernel's
// convention: a result >= 0, or -errno. Errors are never thrown and
// never abort: -EIO and -ENOSPC reach the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "runtime/task.h"

namespace redcar::io {

// Holds what a read or write continues with (a log read's visitor and its
// caller's callback) inside itself, so that an I/O does not allocate.
using IoCallback = runtime::Function<void(int result), 384>;

class File {
 public:
  virtual ~File() = default;
  // offset, data and len must be block aligned (O_DIRECT).
  virtual void write(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) = 0;
  virtual void read(uint64_t offset, uint8_t* data, size_t len, IoCallback done) = 0;
  // fdatasync: everything written before the call is durable when done(0).
  virtual void sync(IoCallback done) = 0;
  // A write that is durable when done (O_DSYNC for this write alone): one
  // operation instead of a write and an fdatasync, and several may be in
  // flight at once.
  virtual void write_durable(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) = 0;
  // Synchronous forms, for recovery and tools; same alignment rules.
  virtual int read_sync(uint64_t offset, uint8_t* data, size_t len) = 0;
  virtual int write_sync(uint64_t offset, const uint8_t* data, size_t len) = 0;
  virtual int sync_now() = 0;
  virtual int truncate(uint64_t size_bytes) = 0;
  virtual Result<uint64_t> size() = 0;
  virtual const std::string& path() const = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  // Opens an existing file for direct reads and writes.
  virtual Result<std::unique_ptr<File>> open(const std::string& path) = 0;
  // Creates `path` with `size_bytes` allocated and zero-filled (so that later
  // writes overwrite initialised blocks and fdatasync has no metadata to
  // commit), syncs it and its folder. Thread-safe; slow; run off the shard
  // thread. Writes to a temporary name first, so a crash leaves no
  // half-prepared file under the final name.
  virtual Status prepare(const std::string& path, uint64_t size_bytes) = 0;
  virtual Status list(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status make_dirs(const std::string& dir) = 0;
  virtual Status remove(const std::string& path) = 0;
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
  // Completes every asynchronous operation still in flight (their buffers
  // belong to the caller). On the shard's thread, when its loop has stopped.
  virtual void drain() {}
  // Asynchronous operations submitted whose completion has not run yet.
  virtual size_t in_flight() const = 0;
};

}  // namespace redcar::io
