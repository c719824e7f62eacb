// A run folder: where a training program leaves config.json, metrics.csv, its checkpoints,
// summary.json and its pictures. It fails at start-up, not after an hour of training, when the
// folder is unusable, and one run at a time owns it.
#pragma once
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json_fwd.hpp>

namespace dl {

// Writes text to path through a temporary file ("<path>.tmp.<pid>") and a rename, so a reader
// never sees half a file. Throws dl::Error naming path when it cannot (and removes the temporary).
void write_file_atomic(const std::string& path, const std::string& text);

class RunDir {
 public:
  // Creates the folder and its parents, takes its lock (an flock on folder/.lock, held until
  // this RunDir is destroyed, so also released when the process dies), removes the temporary
  // files of writers that died (`*.tmp.<pid>` of a pid no longer running, `*.tmp`, a stray
  // `.write_probe`), and writes a probe file. Throws dl::Error naming the folder when any of it
  // fails; when another process holds the lock, the message names that process's pid.
  explicit RunDir(std::string folder);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& folder() const { return folder_; }
  std::string file(const std::string& name) const;  // folder/name

  // Whether the folder holds (part of) a run: any of config.json, metrics.csv, summary.json,
  // checkpoint.safetensors, last.safetensors. What it finds, comma-separated, or "".
  std::string run_files() const;
  // Removes what a run leaves: those files, every *.svg and every *.safetensors (not other
  // files, not subfolders).
  void clear_run() const;

  // folder/name as indented JSON, written atomically.
  void write_json(const std::string& name, const nlohmann::json& value) const;

  // One row of folder/metrics.csv, e.g. {{"epoch", 3}, {"loss", 0.21}}. The first call of a
  // RunDir (re)creates the file with a header from the names; later rows must use the same
  // names in the same order. Each row is flushed, so a killed run keeps its finished epochs.
  void append_metrics(const std::vector<std::pair<std::string, double>>& row);

 private:
  std::string folder_;
  int lock_fd_ = -1;
  std::vector<std::string> columns_;  // empty until the first row
};

}  // namespace dl
