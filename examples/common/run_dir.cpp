#include "examples/common/run_dir.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include "autograd/error.h"

namespace dl {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& op, const std::string& what, const std::string& path,
                       const std::string& why) {
  throw Error(op + ": cannot " + what + " '" + path + "': " + why);
}

// Opens path (truncating or appending) and writes text; a failure names shown_path.
void write_file(const std::string& path, const std::string& text, std::ios::openmode mode,
                const std::string& op, const std::string& shown_path) {
  std::ofstream out(path, mode | std::ios::binary);
  if (!out) fail(op, "write", shown_path, std::strerror(errno));
  out << text;
  out.close();
  if (!out) fail(op, "write", shown_path, std::strerror(errno));
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  write_file(tmp, text, std::ios::trunc, "write_file_atomic", path);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("write_file_atomic", "write", path, ec.message());
  }
}

RunDir::RunDir(std::string folder) : folder_(std::move(folder)) {
  DL_CHECK(!folder_.empty(), "run_dir", "empty folder name");
  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) fail("run_dir", "create folder", folder_, ec.message());
  if (!fs::is_directory(folder_, ec)) fail("run_dir", "create folder", folder_, "a file of that name exists");
  // Permissions alone do not tell (root ignores them, a read-only mount does not): try it.
  const std::string probe = file(".write_probe");
  write_file(probe, "probe\n", std::ios::trunc, "run_dir", probe);
  fs::remove(probe, ec);
}

std::string RunDir::file(const std::string& name) const { return (fs::path(folder_) / name).string(); }

void RunDir::write_json(const std::string& name, const nlohmann::json& value) const {
  write_file_atomic(file(name), value.dump(2) + "\n");
}

void RunDir::append_metrics(const std::vector<std::pair<std::string, double>>& row) {
  DL_CHECK(!row.empty(), "run_dir", "a metrics row needs at least one column");
  std::string header, line;
  for (size_t i = 0; i < row.size(); ++i) {
    const std::string& name = row[i].first;
    DL_CHECK(name.find_first_of(",\"\n\r") == std::string::npos, "run_dir",
             "metric name '" + name + "' contains a comma, quote or newline");
    DL_CHECK(columns_.empty() || (i < columns_.size() && columns_[i] == name), "run_dir",
             "metrics row column " + std::to_string(i) + " is '" + name +
                 "', but metrics.csv was started with other columns");
    char number[32];
    std::snprintf(number, sizeof number, "%.9g", row[i].second);
    header += (i ? "," : "") + name;
    line += (i ? "," : "") + std::string(number);
  }
  DL_CHECK(columns_.empty() || row.size() == columns_.size(), "run_dir",
           "metrics row has " + std::to_string(row.size()) + " columns, metrics.csv has " +
               std::to_string(columns_.size()));
  if (columns_.empty()) {
    write_file(file("metrics.csv"), header + "\n" + line + "\n", std::ios::trunc, "run_dir", file("metrics.csv"));
    for (const auto& column : row) columns_.push_back(column.first);
  } else {
    write_file(file("metrics.csv"), line + "\n", std::ios::app, "run_dir", file("metrics.csv"));
  }
}

}  // namespace dl
