#include "examples/common/tasks.h"

#include <functional>
#include "examples/common/object_tasks.h"
#include "examples/common/relational_games.h"
#include "examples/common/sequence_tasks.h"

namespace dl::tasks {

namespace {

struct Entry {
  std::string name;
  Sizes sizes;
  std::function<TaskData(const Sizes&, uint64_t, Images)> make;
};

Entry relational(RelationalTask task, int64_t train) {
  return {relational_task_name(task), {train, 5000, 10000},
          [task](const Sizes& s, uint64_t seed, Images images) { return relational_games(task, s, seed, {images}); }};
}

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      relational(RelationalTask::Same, 1000),
      relational(RelationalTask::Between, 1000),
      relational(RelationalTask::Occurs, 1000),
      relational(RelationalTask::XOccurs, 2500),
      relational(RelationalTask::MatchPattern, 20000),
      {"sorting", fraction_sizes(100000, 70, 10), [](const Sizes& s, uint64_t seed, Images) { return object_sorting(s, seed); }},
      {"pairwise_order", {496, 148, 348}, [](const Sizes& s, uint64_t seed, Images) { return pairwise_order(s, seed); }},
      {"set", fraction_sizes(10000, 70, 10), [](const Sizes& s, uint64_t seed, Images) { return set_game(s, seed); }},
      {"copy", {10000, 1000, 1000}, [](const Sizes& s, uint64_t seed, Images) { return sequence_task(false, s, seed); }},
      {"reverse", {10000, 1000, 1000}, [](const Sizes& s, uint64_t seed, Images) { return sequence_task(true, s, seed); }},
  };
  return entries;
}

const Entry& find(const std::string& name) {
  for (const Entry& e : registry())
    if (e.name == name) return e;
  std::string known;
  for (const std::string& n : task_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("make_task: unknown task '" + name + "' (known: " + known + ")");
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Entry& e : registry()) v.push_back(e.name);
    return v;
  }();
  return names;
}

Sizes default_sizes(const std::string& name) { return find(name).sizes; }

TaskData make_task(const std::string& name, const Sizes& sizes, uint64_t seed, Images images) {
  return find(name).make(sizes, seed, images);
}

}  // namespace dl::tasks
