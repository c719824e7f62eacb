#include "nn/metadata.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include "autograd/error.h"

namespace dl {

namespace {

Error bad(const std::string& where, const std::string& key, const std::string& text, const std::string& what) {
  return Error(where + ": metadata '" + key + "' " + what + ": \"" + text.substr(0, 80) + "\"");
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

const std::string& metadata_string(const Metadata& meta, const std::string& key, const std::string& where) {
  const auto it = meta.find(key);
  if (it == meta.end()) throw Error(where + ": metadata has no '" + key + "'");
  return it->second;
}

int64_t metadata_int(const Metadata& meta, const std::string& key, const std::string& where, int64_t min,
                     int64_t max) {
  const std::string& text = metadata_string(meta, key, where);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  // strtoll skips leading spaces and takes a '+'; a stored integer has neither
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-') || *end != '\0')
    throw bad(where, key, text, "is not an integer");
  if (errno == ERANGE || v < min || v > max)
    throw bad(where, key, text,
              "is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return v;
}

double metadata_double(const Metadata& meta, const std::string& key, const std::string& where, double min,
                       bool min_exclusive) {
  const std::string& text = metadata_string(meta, key, where);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || *end != '\0')
    throw bad(where, key, text, "is not a number");
  if (!std::isfinite(v)) throw bad(where, key, text, "is not finite");
  if (min_exclusive ? !(v > min) : !(v >= min))
    throw bad(where, key, text, std::string("must be ") + (min_exclusive ? "above " : "at least ") + number_text(min));
  return v;
}

}  // namespace dl
