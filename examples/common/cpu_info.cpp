#include "examples/common/cpu_info.h"

#include <fstream>

namespace dl {

namespace {

// The value of the first "key : value" line of /proc/cpuinfo, empty when there is none.
std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos || line.compare(0, key.size(), key) != 0) continue;
    if (line.find_first_not_of(" \t", key.size()) != colon) continue;  // "model" vs "model name"
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? std::string() : line.substr(start);
  }
  return std::string();
}

}  // namespace

std::string cpu_model_name() {
  const std::string name = cpuinfo_field("model name");
  if (name.empty()) return "unknown CPU";
  const std::string family = cpuinfo_field("cpu family"), model = cpuinfo_field("model");
  return family.empty() ? name : name + " (family " + family + " model " + model + ")";
}

std::string compiled_isa() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "AVX2+FMA";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE2__)
  return "SSE2";
#else
  return "scalar";
#endif
}

std::string cpu_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "AVX-512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "AVX2+FMA";
  if (__builtin_cpu_supports("avx")) return "AVX";
  if (__builtin_cpu_supports("sse2")) return "SSE2";
#endif
  return "scalar";
}

std::string cpu_line() {
  return "# cpu: " + cpu_model_name() + "; vector ISA: built for " + compiled_isa() + ", CPU has " + cpu_isa();
}

}  // namespace dl
