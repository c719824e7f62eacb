// Reading a checkpoint's metadata strings as values, each checked: a missing key, text that is
// not entirely a number ("abc", "3x", ""), a non-finite number ("inf", "nan") or a value outside
// its range is a dl::Error that starts with `where` (the file, or "op: file") and names the key
// and the text:
//
//   const double sd = metadata_double(info.metadata, "input_std", path, 0, /*min_exclusive=*/true);
//   -> runs/a/checkpoint.safetensors: metadata 'input_std' is not a number: "abc"
//   -> runs/a/checkpoint.safetensors: metadata 'input_std' must be above 0: "0"
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>

namespace dl {

using Metadata = std::map<std::string, std::string>;

// The value of key; throws naming the key when there is none.
const std::string& metadata_string(const Metadata& meta, const std::string& key, const std::string& where);

// An integer in [min, max] (base 10, nothing else in the text).
int64_t metadata_int(const Metadata& meta, const std::string& key, const std::string& where,
                     int64_t min = std::numeric_limits<int64_t>::min(),
                     int64_t max = std::numeric_limits<int64_t>::max());

// A finite number (never inf or nan), at least `min`, or above it when min_exclusive.
double metadata_double(const Metadata& meta, const std::string& key, const std::string& where,
                       double min = -std::numeric_limits<double>::max(), bool min_exclusive = false);

}  // namespace dl
