// The segment files of one shard's log (FORMAT.md, "Log offsets and
// segments"): their names, the open file of each by first offset, the active
// one appends go to, and the spare made ahead of need, zero-filled, on a
// helper thread. Rolling makes the spare active and starts the next one.
//
// Used from the shard's thread. The helper thread touches only the disk's
// prepare() (thread-safe) and its own result; wait_prepare() joins it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/status.h"
#include "engine/io/disk.h"

namespace redcar::log {

std::string segment_file_name(uint64_t first_offset);
// The first offset a segment file name stands for; false for other names.
bool parse_segment_name(const std::string& name, uint64_t* first_offset);

class SegmentSet {
 public:
  SegmentSet(io::Disk& disk, std::string dir, uint64_t segment_bytes);
  ~SegmentSet();
  SegmentSet(const SegmentSet&) = delete;
  SegmentSet& operator=(const SegmentSet&) = delete;

  uint64_t segment_bytes() const { return segment_bytes_; }
  std::string path_of(uint64_t first_offset) const;
  // The first offset of the segment holding `log_offset`.
  uint64_t segment_of(uint64_t log_offset) const { return log_offset - log_offset % segment_bytes_; }

  // Opens every segment file of the folder (made if missing) and removes
  // the leftovers of interrupted preparations. First offsets, in order.
  Result<std::vector<uint64_t>> load();
  // Makes and opens the first segment of an empty folder, synchronously.
  Status create_first();

  io::File* file(uint64_t first_offset) const;
  bool has(uint64_t first_offset) const { return files_.count(first_offset) > 0; }
  size_t count() const { return files_.size(); }
  uint64_t first_offset() const { return files_.empty() ? 0 : files_.begin()->first; }
  uint64_t active_first() const { return active_first_; }
  void set_active(uint64_t first_offset);

  // Deletes the files of every segment from `first_offset` on.
  void remove_from(uint64_t first_offset);
  // Deletes every whole segment below `log_offset`, never the active one,
  // telling `removed` the first offset of each.
  Status remove_below(uint64_t log_offset, const std::function<void(uint64_t first_offset)>& removed);

  // Zeros a segment from `file_offset` to its end (its partial block keeps
  // the bytes before `file_offset`), and syncs it.
  Status zero_from(uint64_t first_offset, uint64_t file_offset);
  // Whether a segment that should be all zeros (prepared, never written)
  // holds any other byte. Adds what it read to *bytes_read.
  Result<bool> has_stray_bytes(uint64_t first_offset, uint64_t* bytes_read) const;

  // The spare: the segment after the active one, prepared ahead of need.
  // keep_spare() adopts one recovery found; start_prepare() makes one.
  void keep_spare(uint64_t first_offset);
  bool has_spare() const { return spare_ready_; }
  void start_prepare();
  // Makes the spare the active segment (waiting for it if it is not ready:
  // only a disk slower than the appends gets there) and starts the next.
  Status roll();
  void wait_prepare();

 private:
  Status open_file(uint64_t first_offset);

  io::Disk& disk_;
  std::string dir_;
  uint64_t segment_bytes_;
  std::map<uint64_t, std::unique_ptr<io::File>> files_;
  uint64_t active_first_ = 0;

  std::thread prepare_thread_;
  bool prepare_running_ = false;
  bool spare_ready_ = false;
  uint64_t spare_first_ = 0;
  Status prepare_status_;
};

}  // namespace redcar::log
