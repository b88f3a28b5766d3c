// What recovery keeps aside of a transaction's provisional batches
// (FORMAT.md, Transactions): their records wait here instead of being
// applied, and the commit mark that follows lets them through. A log that
// ends before it leaves the recovery to decide (recovery.cc): release()
// them, or cut the log where start() says the transaction began.
//
// Fed in log order with every valid batch record (on_batch) and every
// record inside (on_record); records that are not the transaction's go
// straight to `apply`. A sequence the writer never produces sets error().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/common/types.h"
#include "engine/log/record.h"

namespace redcar::log {

class TxnTail {
 public:
  using Apply = std::function<void(const RecordView& rec, uint64_t log_offset)>;
  TxnTail(RecoveryReport* report, const Apply& apply) : report_(report), apply_(apply) {}

  void on_batch(const RecordView& batch, uint64_t seg_first, uint64_t file_pos);
  void on_record(const RecordView& rec, uint64_t log_offset);
  const std::string& error() const { return error_; }

  // The unfinished transaction the log ends inside of, if any.
  bool open() const { return open_; }
  uint64_t txn() const { return txn_; }
  size_t held() const { return held_.size(); }
  struct Start {
    uint64_t seg_first = 0;   // the segment of its first provisional batch
    uint64_t file_pos = 0;    // where in it that batch starts
    uint64_t seq_before = 0;  // the last batch before it
    bool after_close = false; // which was a close batch: cut there, the log ends closed
  };
  const Start& start() const { return start_; }
  // Applies what was kept aside, and forgets the transaction.
  void release();
  // Forgets it (the log is cut where it began).
  void clear();

 private:
  struct HeldRecord {
    RecordHeader header;
    std::string name;
    std::string body;
    uint32_t length = 0;
    uint32_t padded_length = 0;
    uint64_t log_offset = 0;
  };

  RecoveryReport* report_;
  const Apply& apply_;
  bool open_ = false;
  uint64_t txn_ = 0;
  Start start_;
  std::vector<HeldRecord> held_;
  bool in_provisional_ = false;  // the batch being fed is provisional
  bool expect_commit_ = false;   // the next record must be the commit mark
  bool last_closed_ = false;     // the last settled batch was a close batch
  std::string error_;
};

}  // namespace redcar::log
