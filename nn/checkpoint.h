// Checkpoints in the safetensors format, readable by the `safetensors` Python package:
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section: raw little-endian values]
//   header = {"<name>": {"dtype": "F32" | "F64", "shape": [...], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string>", ...}}
// Offsets are relative to the data section; the tensors tile it exactly (no gaps, no overlaps, no
// trailing bytes). The header is padded with spaces to a multiple of 8 bytes.
//
// A checkpoint holds the module's parameters under their own names (so the file loads straight
// into a PyTorch model of the same structure), the optimizer's state under "optimizer.<name>",
// and in the metadata the training step ("step"), the optimizer's step count
// ("optimizer.step_count"), the state of each of the module's generators (Dropout's) as
// "rng.<name>" (six hex words; so a resumed run draws the same masks), and the caller's strings.
//
// Writes are atomic: the file goes to "<path>.tmp.<pid>", is flushed and fsync'ed, then renamed
// over path. Reads validate everything and throw dl::Error on any malformed or mismatched file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include "nn/module.h"
#include "nn/optim.h"

namespace dl {

struct SafeTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
SafeTensors read_safetensors(const std::string& path);

struct CheckpointInfo {
  int64_t step = 0;
  std::map<std::string, std::string> metadata;  // the caller's strings only
};

void save_checkpoint(const std::string& path, const Module& module, const Optimizer* optimizer,
                     int64_t step, const std::map<std::string, std::string>& metadata = {});
// Loads parameters (and the optimizer's state when optimizer is given; otherwise any saved
// optimizer state is ignored). Nothing is modified unless the whole file matches.
CheckpointInfo load_checkpoint(const std::string& path, Module& module, Optimizer* optimizer = nullptr);

}  // namespace dl
