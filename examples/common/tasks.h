// Every toy task by name, with the default configuration of its generator:
//   same, between, occurs, xoccurs, match_pattern   relational_games.h
//   sorting, pairwise_order, set                    object_tasks.h
//   copy, reverse                                   sequence_tasks.h
// Programs that need another configuration (vocabulary, ...) call the generator.
#pragma once
#include <string>
#include <vector>
#include "examples/common/dataset.h"
#include "examples/common/relational_games.h"

namespace dl::tasks {

const std::vector<std::string>& task_names();

// The sizes of the papers' set-ups (docs/tasks.md), e.g. occurs: 1000 / 5000 / 10000.
Sizes default_sizes(const std::string& name);

// The task's data for a seed; `images` is the relational games' image form (other tasks ignore
// it). Throws dl::Error for an unknown name, a size below its minimum (train at least 1) or
// larger than the task allows.
TaskData make_task(const std::string& name, const Sizes& sizes, uint64_t seed, Images images = Images::Original);

}  // namespace dl::tasks
