// Checkpoints: a module's state in a safetensors file (nn/safetensors.h), so the file loads
// straight into a PyTorch model of the same structure.
//
// A checkpoint holds the module's parameters under their own names, the optimizer's state under
// "optimizer.<name>", and in the metadata the training step ("step"), the optimizer's step count
// ("optimizer.step_count"), the state of each of the module's generators (Dropout's) as
// "rng.<name>" (six hex words; so a resumed run draws the same masks), and the caller's strings.
//
// Loading validates everything before it changes anything: the header, the tensor names, shapes
// and dtypes (before any tensor's bytes are read), the metadata, and every float value, so a
// checkpoint holding a NaN or infinity is refused naming the tensor and the element.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace dl {

struct CheckpointInfo {
  int64_t step = 0;
  Metadata metadata;  // the caller's strings only (read them with nn/metadata.h)
};

void save_checkpoint(const std::string& path, const Module& module, const Optimizer* optimizer,
                     int64_t step, const Metadata& metadata = {});
// Loads parameters (and the optimizer's state when optimizer is given; otherwise any saved
// optimizer state is ignored, and not read). Nothing is modified unless the whole file matches.
CheckpointInfo load_checkpoint(const std::string& path, Module& module, Optimizer* optimizer = nullptr);

}  // namespace dl
