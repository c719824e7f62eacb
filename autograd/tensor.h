// Tensor: an n-dimensional, row-major view onto shared storage, plus the autograd fields.
//
// A Tensor is a cheap handle (a shared_ptr to TensorImpl). Views (reshape of a contiguous tensor,
// transpose, permute, slice) share the storage and differ only in shape, strides and offset.
// Kernels that need dense memory call contiguous(), which copies only when it must.
//
// Autograd fields: a tensor produced by an op while grad mode is on holds grad_fn, the tape Node
// that knows how to send its gradient to the op's inputs. Leaves (parameters, inputs) have no
// grad_fn; backward() accumulates into their grad. Ownership runs one way, output -> Node ->
// inputs, so the graph has no cycles; a Node never holds its own output (see graph.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/storage.h"

namespace dl {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "(2, 3, 4)"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

struct Node;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;       // in elements
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  ~TensorImpl();  // tears long graphs down iteratively (graph.cpp)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (new storage, no grad) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::F32);  // zero-filled
  // Contents unspecified: for kernels that write every element before anything reads it.
  static Tensor uninitialized(const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32) { return empty(shape, dtype); }
  static Tensor ones(const Shape& shape, DType dtype = DType::F32) { return full(shape, 1.0, dtype); }
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
  static Tensor scalar(double value, DType dtype = DType::F32) { return full({}, value, dtype); }
  // values in row-major order; values.size() must equal the shape's element count
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32);
  static Tensor from_ints(const std::vector<int32_t>& values, const Shape& shape);
  static Tensor from_bools(const std::vector<bool>& values, const Shape& shape);
  // a tensor of the same shape and dtype as like, filled with value
  static Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, like.dtype()); }

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  int64_t offset() const { return impl().offset; }
  bool is_contiguous() const;
  std::string str() const;  // "float32(2, 3)"

  // ---- data ----
  // Pointer to element 0 of this view; checks the dtype. Only dense when is_contiguous().
  template <class T> T* data() const {
    DL_CHECK(dtype_of<T>() == impl().dtype, "Tensor::data",
             std::string("requested ") + dtype_name(dtype_of<T>()) + " from a " + str() + " tensor");
    return static_cast<T*>(impl().storage->data) + impl().offset;
  }
  void* raw_data() const;                     // byte pointer to element 0 of this view
  std::vector<double> to_vector() const;      // row-major copy, as double
  double item() const;                        // the value of a one-element tensor
  double at(const std::vector<int64_t>& index) const;

  // ---- copies and conversions (differentiable where it makes sense) ----
  Tensor contiguous() const;  // self when already contiguous, else a dense copy (recorded)
  Tensor clone() const;       // always a dense copy (recorded)
  Tensor to(DType dtype) const;  // float <-> float is recorded; to int/bool is not
  Tensor detach() const;      // same storage, no grad_fn, requires_grad false
  void copy_(const Tensor& src);  // in-place copy of values (same shape); never recorded
  void fill_(double value);        // in-place fill; never recorded

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl().grad); }
  void set_grad(const Tensor& g) const { impl().grad = g.impl_; }
  void zero_grad() const { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  // Reverse-mode backward from this tensor. With no grad_output the tensor must have one element
  // (a loss) and the seed gradient is 1. keep_graph = false frees the tape as it goes.
  void backward(const Tensor& grad_output = Tensor(), bool keep_graph = false) const;

  TensorImpl& impl() const {
    DL_CHECK(impl_ != nullptr, "Tensor", "use of an undefined (default-constructed) tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A view of t's storage with the given shape, strides and offset (no copy, not recorded).
Tensor make_view(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);

// dispatch_float on a tensor's dtype; an error names the tensor's dtype and shape.
template <class F>
decltype(auto) dispatch_float(const Tensor& t, const char* op, F&& f) {
  DL_CHECK(is_floating(t.dtype()), op, "expected a float32 or float64 tensor, got " + t.str());
  return dispatch_float(t.dtype(), op, std::forward<F>(f));
}

}  // namespace dl
