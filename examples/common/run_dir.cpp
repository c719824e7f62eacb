#include "examples/common/run_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
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

// Whether name is a temporary file of a writer that is gone: "<x>.tmp.<pid>" whose pid is not
// running, an unnumbered "<x>.tmp", or the probe file.
bool dead_writer_file(const std::string& name) {
  if (name == ".write_probe") return true;
  const size_t at = name.rfind(".tmp");
  if (at == std::string::npos || at == 0) return false;
  const std::string rest = name.substr(at + 4);
  if (rest.empty()) return true;
  if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return false;
  for (size_t i = 1; i < rest.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return false;
  const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(1)));
  return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

// The pid a lock file records ("?" when unreadable).
std::string lock_holder(const std::string& path) {
  std::ifstream in(path);
  std::string pid;
  return in >> pid ? pid : "?";
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::error_code ec;
  try {
    write_file(tmp, text, std::ios::trunc, "write_file_atomic", path);
  } catch (const Error&) {
    fs::remove(tmp, ec);  // a full disk leaves nothing behind
    throw;
  }
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
  const std::string lock = file(".lock");
  lock_fd_ = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) fail("run_dir", "write", lock, std::strerror(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string why = errno == EWOULDBLOCK ? "" : std::strerror(errno);
    close(lock_fd_);
    lock_fd_ = -1;
    if (!why.empty()) fail("run_dir", "lock", lock, why);
    throw Error("run_dir: the folder '" + folder_ + "' is in use by another run (process " + lock_holder(lock) +
                "); wait for it to end, or give another --out");
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd_, 0) != 0 || pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    fail("run_dir", "write", lock, std::strerror(errno));
  for (const fs::directory_entry& entry : fs::directory_iterator(folder_, ec))
    if (entry.is_regular_file() && dead_writer_file(entry.path().filename().string())) fs::remove(entry.path(), ec);
  // Permissions alone do not tell (root ignores them, a read-only mount does not): try it.
  const std::string probe = file(".write_probe");
  try {
    write_file(probe, "probe\n", std::ios::trunc, "run_dir", probe);
  } catch (const Error&) {
    fs::remove(probe, ec);
    throw;
  }
  fs::remove(probe, ec);
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock; the file stays (removing it would race)
}

std::string RunDir::run_files() const {
  std::string found;
  for (const char* name : {"config.json", "metrics.csv", "summary.json", "checkpoint.safetensors", "last.safetensors"})
    if (fs::exists(file(name))) found += (found.empty() ? "" : ", ") + std::string(name);
  return found;
}

void RunDir::clear_run() const {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder_, ec)) {
    const fs::path& path = entry.path();
    const std::string name = path.filename().string(), ext = path.extension().string();
    const bool run_file = name == "config.json" || name == "metrics.csv" || name == "summary.json" ||
                          ext == ".svg" || ext == ".safetensors";
    if (entry.is_regular_file() && run_file && !fs::remove(path, ec))
      fail("run_dir", "remove", path.string(), ec.message());
  }
  if (ec) fail("run_dir", "list", folder_, ec.message());
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
