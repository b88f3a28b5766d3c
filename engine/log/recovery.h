// What recovery does with each kind of bad state it can find, kept as data
// (recovery_rules()) so that the table in FORMAT.md, the code and the tests
// are the same thing. scan_segment() classifies; decide() looks the answer up.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/io/disk.h"
#include "engine/log/record.h"

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

// A folder-level summary, logged at start.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes_scanned = 0;
  uint64_t truncated_bytes = 0;   // torn tail removed
  uint64_t bytes_read = 0;        // read from the segment files: the valid data and what was checked past it
  bool clean_close = false;       // the log ended with a close batch: no tail search, no spare check
  std::string repaired;           // what --repair dropped, if anything
  double seconds = 0;
};

}  // namespace redcar::log
