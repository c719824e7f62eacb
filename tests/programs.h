// Running the project's programs from a test: their binaries, as a user runs them.
//
// Programs are tested through their binaries, not only through library calls, because the parts
// a user meets first (flag parsing, exit codes, messages, what is left in the run folder) live in
// main() and in the process around it. The binaries sit in <build>/bin beside the test binary
// (<build>/run_tests), so `make test` and `make sanitize` each test their own build.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace dl::testing {

// The folder holding the program binaries of the build this test binary belongs to.
inline std::string program_dir() {
  std::array<char, 4096> buf{};
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("program_dir: cannot read /proc/self/exe");
  std::string self(buf.data(), static_cast<size_t>(n));
  return self.substr(0, self.rfind('/')) + "/bin";
}

struct ProgramRun {
  int exit_code = -1;  // the process's exit status; 128 + N when killed by signal N
  std::string output;  // stdout and stderr, interleaved as written
};

// Runs the shell command `line` through /bin/sh from the folder `cwd` (empty: the current
// folder), with stdin closed and a time limit (coreutils' timeout sends SIGKILL after `seconds`).
inline ProgramRun run_command(const std::string& line, const std::string& cwd, int seconds) {
  std::string command = "timeout -s KILL " + std::to_string(seconds) + " " + line + " </dev/null 2>&1";
  if (!cwd.empty()) command = "cd '" + cwd + "' && " + command;
  ProgramRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("run_program: popen failed for " + command);
  std::array<char, 4096> chunk{};
  size_t got;
  while ((got = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) run.output.append(chunk.data(), got);
  int status = pclose(pipe);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) run.exit_code = 128 + WTERMSIG(status);
  return run;
}

// Runs `program args` (a binary of this build) as run_command does.
inline ProgramRun run_program(const std::string& program, const std::string& args,
                              const std::string& cwd = "", int seconds = 120) {
  return run_command(program_dir() + "/" + program + " " + args, cwd, seconds);
}

}  // namespace dl::testing
