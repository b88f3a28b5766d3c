// Assertions that state what must be true (TigerBeetle's habit). A failed
// one means the in-memory view no longer matches the log: carrying on could
// acknowledge data that is not there or write over data that is, so the
// process stops and says where.
//
// REDCAR_CHECK is always on: for durability invariants, cheap next to the
// I/O around them. REDCAR_DCHECK is for hot loops; it is on wherever
// REDCAR_DEBUG_CHECKS is defined, which the build does for every build type
// but Release (the tests and the sanitizer build run with it).
#pragma once

namespace redcar {
[[noreturn]] void check_failed(const char* expr, const char* file, int line);
}

#define REDCAR_CHECK(cond)                                          \
  do {                                                              \
    if (!(cond)) [[unlikely]]                                       \
      ::redcar::check_failed(#cond, __FILE__, __LINE__);            \
  } while (0)

#ifdef REDCAR_DEBUG_CHECKS
#define REDCAR_DCHECK(cond) REDCAR_CHECK(cond)
#else
#define REDCAR_DCHECK(cond) \
  do {                      \
  } while (0)
#endif
