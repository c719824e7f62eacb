#include "ops/embedding.h"

#include "ops/shape.h"

namespace dl {

// A lookup is index_select of table rows by the flattened ids; its backward is index_select's
// scatter-add, parallel over disjoint column ranges of C, so repeated ids sum deterministically.
Tensor embedding(const Tensor& table, const Tensor& ids) {
  DL_CHECK(table.dim() == 2 && is_floating(table.dtype()) && ids.dtype() == DType::I32, "embedding",
           "expected a float table (V, C) and int32 ids, got " + table.str() + " and " + ids.str());
  const int64_t V = table.size(0);
  const Tensor flat = reshape(ids, {-1});  // (N)
  const int32_t* pid = flat.data<int32_t>();
  for (int64_t i = 0; i < flat.numel(); ++i)
    DL_CHECK(pid[i] >= 0 && pid[i] < V, "embedding",
             "id " + std::to_string(pid[i]) + " out of range for V = " + std::to_string(V) + " rows of " +
                 table.str());
  Shape shape = ids.shape();
  shape.push_back(table.size(1));
  return reshape(index_select(table, 0, flat), shape);  // ids.shape + (C)
}

}  // namespace dl
