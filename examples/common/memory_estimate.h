// Memory up front: what a run will need, estimated from its configuration before anything is
// allocated, against what the machine can give, so `--layers 100000` is refused in a second
// with the figures and the flags that drive them instead of growing until the OOM killer.
#pragma once
#include <cstdint>
#include <string>
#include "examples/common/run_spec.h"

namespace dl::train {

struct MemoryEstimate {
  double parameters = 0;   // bytes of the weights
  double optimizer = 0;    // gradients, Adam's two moments and the best epoch's copy
  double data = 0;         // every split's inputs and targets
  double activations = 0;  // one training batch's saved forward values and their gradients
  double total() const { return parameters + optimizer + data + activations; }
};

// From the spec and the task's shapes (one tiny instance of the task is generated to read them).
MemoryEstimate estimate_memory(const RunSpec& spec, const tasks::Sizes& sizes);

// Bytes this process may still allocate: /proc/meminfo's MemAvailable, lowered to the cgroup's
// limit minus its usage when a limit is set (v2 memory.max, else v1 memory.limit_in_bytes).
// `source` says which.
double available_memory(std::string* source = nullptr);

// Throws a dl::Error with the estimate, the available memory and the flags that drive it when
// the estimate exceeds what is available.
void check_memory(const RunSpec& spec, const tasks::Sizes& sizes);

}  // namespace dl::train
