// Recovery of one shard's log at open (FORMAT.md, Recovery).
//
// What to do with each kind of bad state is kept as data (recovery_rules()),
// so that the table in FORMAT.md, the code and the tests are the same thing:
// scan_segment() classifies what it finds, decide() looks the answer up, and
// recover() walks the folder in named steps — open the segments, find the
// newest written one, scan and settle each written segment in order, make
// sure there is an active segment, keep one spare — and says where appends
// go on.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/common/types.h"
#include "engine/io/disk.h"
#include "engine/log/log_options.h"
#include "engine/log/record.h"
#include "engine/log/segment_set.h"

namespace redcar::log {

enum class Situation : uint8_t {
  kCleanEnd,                // zeros where the next batch would start
  kNewestTornTail,          // bad batch in the newest segment, no valid batch after it
  kNewestBadThenValid,      // bad batch in the newest segment, a valid batch after it
  kOlderBad,                // bad batch in a segment that is not the newest
  kNewestBadHeader,         // the newest segment's header is damaged
  kOlderBadHeader,          // an older segment's header is damaged
  kMissingSegment,          // a gap between consecutive segments' offsets
};

enum class Decision : uint8_t {
  kEndOfData,   // stop here, nothing to do
  kTruncate,    // zero the log from here: it was never acknowledged
  kRefuse,      // corruption: refuse to open unless --repair
};

struct RecoveryRule {
  Situation situation;
  Decision decision;
  const char* why;
};

const std::array<RecoveryRule, 7>& recovery_rules();
Decision decide(Situation s);
const char* situation_name(Situation s);

// What one segment scan found.
struct SegmentScan {
  Situation end = Situation::kCleanEnd;
  uint64_t valid_end_bytes = 0;   // file offset just past the last valid batch
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t last_seq = 0;          // sequence number of the last valid batch (0: none yet)
  uint64_t torn_batches_after = 0;  // valid but unacknowledged batches past a torn one
  // Newest segment only: its last valid batch is a close batch (FORMAT.md)
  // and only zeros follow, so the tail was not searched for torn flushes.
  bool closed = false;
  uint64_t bytes_read = 0;        // read from the file
  std::string detail;             // why the end is bad, for the error message
};

// Calls `apply(record, file_offset)` for each record of each valid batch of
// `file`, in order, stopping at the first bad or empty position.
using RecordSink = std::function<void(const RecordView& rec, uint64_t file_offset)>;
// `prev_seq` is the last batch sequence number of the previous segment (0:
// unknown), so that sequence gaps across segments are seen too. The file is
// read in chunks of `chunk_bytes`, limits::kRecoveryReadsAhead of them ahead
// of the scan (tests make them small, so that batches straddle them).
Status scan_segment(io::File& file, uint64_t segment_bytes, bool newest, const RecordSink& apply,
                    SegmentScan* out, uint64_t prev_seq = 0,
                    size_t chunk_bytes = limits::kRecoveryChunkBytes);

// What recovery found, folder-wide (common/types.h: it crosses the engine
// boundary for the server's start-up log line).
using RecoveryReport = redcar::RecoveryReport;

// Where recovery left the log, for the writer to go on from.
struct RecoveredTail {
  uint64_t active_first = 0;  // the segment appends go to
  uint64_t end_file = 0;      // file offset past its last valid batch (0 or the header's size: none)
  uint64_t last_seq = 0;      // sequence number of the last valid batch
  bool clean_close = false;   // the log ends with a close batch
  // A transaction committed on the deciding shard whose provisional batches
  // end this log without their commit mark: the writer stages it first.
  uint64_t settle_txn = 0;
};

// Recovers the folder of `segments`: passes each valid record to `apply`
// with its log offset, in log order; truncates a torn tail; refuses
// (kCorruption, naming the file and offset) on damage it may not repair,
// unless options.repair, which drops the log from the bad spot and says so
// in report->repaired. On success the set has its active segment (and a
// spare, if a usable one was found) and *tail says where appends go on.
Status recover(SegmentSet& segments, const LogOptions& options, const RecordSink& apply, RecoveryReport* report,
               RecoveredTail* tail);

}  // namespace redcar::log
