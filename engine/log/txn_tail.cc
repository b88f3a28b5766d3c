#include "engine/log/txn_tail.h"

#include <algorithm>

namespace redcar::log {

void TxnTail::on_batch(const RecordView& batch, uint64_t seg_first, uint64_t file_pos) {
  in_provisional_ = batch.header.flags & kBatchFlagTxn;
  expect_commit_ = false;
  if (in_provisional_) {
    if (!open_) {
      open_ = true;
      txn_ = 0;
      start_ = {seg_first, file_pos, static_cast<uint64_t>(batch.header.timestamp_us) - 1, last_closed_};
      held_.clear();
    }
    return;
  }
  // A settled batch after provisional ones must open with their commit
  // mark. A close batch (empty) means the log was stopped inside the
  // transaction, which then never committed.
  const bool close = (batch.header.flags & kBatchFlagClose) && batch.header.number == 0;
  last_closed_ = close;
  if (open_ && !close) expect_commit_ = true;
}

void TxnTail::on_record(const RecordView& rec, uint64_t log_offset) {
  const bool mark = rec.header.type == RecordType::kTxn;
  const auto kind = mark && !rec.body.empty() ? static_cast<TxnMark>(rec.body[0]) : TxnMark{};
  if (mark) report_->max_txn = std::max(report_->max_txn, rec.header.number);
  if (in_provisional_) {
    if (mark && kind == TxnMark::kBegin) {
      if (txn_ != 0 && txn_ != rec.header.number) {
        error_ = "transaction " + std::to_string(rec.header.number) + " begins inside transaction " +
                 std::to_string(txn_);
      }
      txn_ = rec.header.number;
      return;
    }
    if (txn_ == 0) error_ = "a provisional batch does not open with its transaction's begin mark";
    held_.push_back(HeldRecord{rec.header, std::string(rec.name), std::string(rec.body), rec.length,
                               rec.padded_length, log_offset});
    return;
  }
  if (expect_commit_) {
    expect_commit_ = false;
    if (!mark || kind != TxnMark::kCommit || rec.header.number != txn_) {
      error_ = "transaction " + std::to_string(txn_) +
               "'s provisional batches are followed by records that do not commit it";
      return;
    }
    release();
  }
  if (mark) {
    if (kind == TxnMark::kCommit) {
      report_->last_txn_commit = rec.header.number;
      if (rec.body.size() > 1 && rec.body[1] == 1) report_->txn_decisions.push_back(rec.header.number);
    }
    return;
  }
  apply_(rec, log_offset);
}

void TxnTail::release() {
  for (const HeldRecord& h : held_) {
    RecordView v;
    v.header = h.header;
    v.name = h.name;
    v.body = h.body;
    v.length = h.length;
    v.padded_length = h.padded_length;
    apply_(v, h.log_offset);
  }
  clear();
}

void TxnTail::clear() {
  open_ = false;
  txn_ = 0;
  held_.clear();
}

}  // namespace redcar::log
