// The safetensors file format, readable and writable by the `safetensors` Python package:
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section: raw little-endian values]
//   header = {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string>", ...}}
// Offsets are relative to the data section; the tensors tile it exactly (no gaps, no overlaps, no
// trailing bytes). The header is padded with spaces to a multiple of 8 bytes, and the writer lays
// the tensors out in the Python package's order (I64, F64, F32, I32, BF16, F16, BOOL, each by
// name), so every tensor starts at a multiple of its element size and the data section is the
// one that package writes for the same tensors. dtypes: nn/safetensors_dtype.h.
//
// Reading checks before it reads: the header length against the file's size, then the whole
// header (every entry, and that the entries tile the data section) before any tensor's bytes, so
// a wrong or huge file costs at most its header. Tensors are then read one at a time. Every fault
// is a dl::Error "read_safetensors: <path>: <what is wrong>".
//
// Writes are atomic: the file goes to "<path>.tmp.<pid>", is flushed and fsync'ed, then renamed
// over path; the temp file is never left behind.
#pragma once
#include <map>
#include <memory>
#include <string>
#include "nn/metadata.h"
#include "nn/safetensors_dtype.h"
#include "nn/state_dict.h"

namespace dl {

// An open safetensors file whose header has been read and validated.
class SafeTensorsReader {
 public:
  explicit SafeTensorsReader(const std::string& path);
  ~SafeTensorsReader();
  SafeTensorsReader(const SafeTensorsReader&) = delete;
  SafeTensorsReader& operator=(const SafeTensorsReader&) = delete;

  const std::string& path() const { return path_; }
  const Metadata& metadata() const { return metadata_; }
  // Each tensor's shape and the dtype it is read as (loaded_dtype of the file's dtype).
  const StateSpec& specs() const { return specs_; }
  Tensor read(const std::string& name) const;  // a tensor named in specs()

  struct Entry;  // one tensor's dtype, shape and place in the file

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t data_start_ = 0;
  Metadata metadata_;
  StateSpec specs_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

struct SafeTensors {
  std::map<std::string, Tensor> tensors;
  Metadata metadata;
};

// stored_as: a file dtype per tensor name (nn/safetensors_dtype.h says which conversions exist);
// a tensor not named there is written in its own dtype.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const Metadata& metadata = {},
                       const std::map<std::string, StoredDType>& stored_as = {});
SafeTensors read_safetensors(const std::string& path);

}  // namespace dl
