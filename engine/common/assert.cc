#include "engine/common/assert.h"

#include <cstdio>
#include <cstdlib>

namespace redcar {

void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "redcar: invariant violated: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace redcar
