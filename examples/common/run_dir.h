// A run folder: where a training program leaves config.json, metrics.csv, summary.json and its
// pictures. It fails at start-up, not after an hour of training, when the folder is unusable.
#pragma once
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json_fwd.hpp>

namespace dl {

// Writes text to path through a temporary file and a rename, so a reader never sees half a
// file. Throws dl::Error naming path when it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

class RunDir {
 public:
  // Creates the folder and its parents and writes a probe file into it; throws dl::Error
  // naming the folder if either fails.
  explicit RunDir(std::string folder);

  const std::string& folder() const { return folder_; }
  std::string file(const std::string& name) const;  // folder/name

  // folder/name as indented JSON, written atomically.
  void write_json(const std::string& name, const nlohmann::json& value) const;

  // One row of folder/metrics.csv, e.g. {{"epoch", 3}, {"loss", 0.21}}. The first call of a
  // RunDir (re)creates the file with a header from the names; later rows must use the same
  // names in the same order. Each row is flushed, so a killed run keeps its finished epochs.
  void append_metrics(const std::vector<std::pair<std::string, double>>& row);

 private:
  std::string folder_;
  std::vector<std::string> columns_;  // empty until the first row
};

}  // namespace dl
