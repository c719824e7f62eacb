// Command-line handling the training programs share (CLI11): the common flags, a parse that
// ends the program with CLI11's message on a bad flag, and every flag's value as JSON for
// config.json.
#pragma once
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <nlohmann/json.hpp>
#include "autograd/parallel.h"

namespace dl::cli {

// Flag checks that read the value as a number and name the rule when it fails (CLI11's
// PositiveNumber and NonNegativeNumber print their whole double range instead). Neither lets
// "inf" or "nan" through.
inline CLI::Validator number_at_least(double lo, bool strict, const std::string& name) {
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        double x = 0;
        try {
          size_t used = 0;
          x = std::stod(value, &used);
          if (used != value.size()) throw std::invalid_argument(value);
        } catch (const std::exception&) {
          return "not a number: " + value;
        }
        if (!std::isfinite(x)) return "must be a finite number, got " + value;
        const bool ok = strict ? x > lo : x >= lo;
        return ok ? std::string() : "must be " + name + ", got " + value;
      },
      name == "positive" ? "POSITIVE" : "NONNEGATIVE");
}
inline const CLI::Validator Positive = number_at_least(0, true, "positive");
inline const CLI::Validator NonNegative = number_at_least(0, false, "zero or more");

// Every floating-point flag gets this from parse_or_exit: CLI11 itself reads "inf" and "nan" as
// numbers, and CLI::Range lets nan through (every comparison with it is false).
inline const CLI::Validator Finite(
    [](std::string& value) -> std::string {
      const double x = std::strtod(value.c_str(), nullptr);
      return std::isfinite(x) ? std::string() : "must be a finite number, got " + value;
    },
    "");
// Every unsigned flag gets this from parse_or_exit: CLI11 reads "-1" into a uint64_t as 2^64 - 1.
inline const CLI::Validator NotNegative(
    [](std::string& value) -> std::string {
      const size_t first = value.find_first_not_of(" \t");
      return first != std::string::npos && value[first] == '-' ? "must be zero or more, got " + value : std::string();
    },
    "");

// A path to write a file at: its folder must exist (checked before the program does any work).
inline const CLI::Validator InExistingFolder(
    [](std::string& value) -> std::string {
      const size_t slash = value.rfind('/');
      const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : value.substr(0, slash);
      struct stat st {};
      if (value.empty() || value.back() == '/') return "must be a file path, got '" + value + "'";
      if (stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "folder '" + folder + "' does not exist";
      return std::string();
    },
    "PATH");

struct CommonFlags {
  uint64_t seed = 0;
  int threads = 0;  // 0 keeps the default: DL_NUM_THREADS, else all cores
  int epochs = 10;
  std::string out = "runs/run";
};

// Adds --seed, --threads, --epochs and --out; the values already in flags are the defaults.
inline void add_common_flags(CLI::App& app, CommonFlags& flags) {
  app.add_option("--seed", flags.seed, "random seed")->capture_default_str();
  app.add_option("--threads", flags.threads, "threads (0: DL_NUM_THREADS, else all cores)")
      ->capture_default_str()
      ->check(NonNegative);
  app.add_option("--epochs", flags.epochs, "training epochs")->capture_default_str()->check(Positive);
  app.add_option("--out", flags.out, "run folder for config, metrics and pictures")->capture_default_str();
}

// Adds Finite to every floating-point option of app and NotNegative to every unsigned one (their
// CLI11 type names are FLOAT and UINT, for a vector of them too).
inline void check_number_flags(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    const std::string base = type.substr(0, type.find(':'));
    if (base == "FLOAT") opt->check(Finite);
    if (base == "UINT") opt->check(NotNegative);
  }
}

// Parses the command line (after check_number_flags) and applies --threads. --help prints the
// help and exits 0; a bad flag prints CLI11's message naming the flag and its value (and the
// hint to run --help) and exits non-zero.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  check_number_flags(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
}
inline void parse_or_exit(CLI::App& app, const CommonFlags& flags, int argc, char** argv) {
  parse_or_exit(app, argc, argv);
  if (flags.threads > 0) set_num_threads(flags.threads);
}

// {"seed": 0, "out": "runs/copy", ...}: every option's value as given, else its default;
// numbers and true/false become JSON numbers and booleans.
inline nlohmann::json flags_json(const CLI::App& app) {
  nlohmann::json j = nlohmann::json::object();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty() || opt->get_single_name() == "help") continue;
    std::string text = opt->count() > 0 ? opt->as<std::string>() : opt->get_default_str();
    if (opt->get_expected_min() == 0 && text.empty()) text = opt->count() > 0 ? "true" : "false";
    const std::string& name = opt->get_single_name();
    char *int_end = nullptr, *end = nullptr;
    const long long integer = std::strtoll(text.c_str(), &int_end, 10);
    const double number = std::strtod(text.c_str(), &end);
    if (!text.empty() && *int_end == '\0') j[name] = integer;
    else if (!text.empty() && *end == '\0') j[name] = number;
    else if (text == "true" || text == "false") j[name] = text == "true";
    else j[name] = text;
  }
  return j;
}

}  // namespace dl::cli
