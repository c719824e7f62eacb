#include "autograd/tensor.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include "autograd/graph.h"
#include "autograd/parallel.h"

namespace dl {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

static void check_shape(const Shape& shape, const char* op) {
  for (int64_t d : shape)
    DL_CHECK(d >= 0, op, "negative dimension in shape " + shape_str(shape));
}

static Tensor allocate(const Shape& shape, DType dtype, bool zero, const char* op) {
  check_shape(shape, op);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), zero);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) { return allocate(shape, dtype, true, "Tensor::empty"); }

Tensor Tensor::uninitialized(const Shape& shape, DType dtype) {
  return allocate(shape, dtype, false, "Tensor::uninitialized");
}

// Writes value (a double) into element i of a dense buffer of dtype dt.
static void store(void* base, DType dt, int64_t i, double value) {
  switch (dt) {
    case DType::F32: static_cast<float*>(base)[i] = static_cast<float>(value); break;
    case DType::F64: static_cast<double*>(base)[i] = value; break;
    case DType::I32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(value); break;
    case DType::Bool: static_cast<bool*>(base)[i] = value != 0.0; break;
  }
}

static double load(const void* base, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::I32: return static_cast<const int32_t*>(base)[i];
    case DType::Bool: return static_cast<const bool*>(base)[i] ? 1.0 : 0.0;
  }
  return 0.0;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  if (value == 0.0) return empty(shape, dtype);
  Tensor t = uninitialized(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  DL_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "Tensor::from_vector",
           std::to_string(values.size()) + " values do not fill shape " + shape_str(shape));
  Tensor t = uninitialized(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) store(t.raw_data(), dtype, i, values[i]);
  return t;
}

Tensor Tensor::from_ints(const std::vector<int32_t>& values, const Shape& shape) {
  return from_vector(std::vector<double>(values.begin(), values.end()), shape, DType::I32);
}

Tensor Tensor::from_bools(const std::vector<bool>& values, const Shape& shape) {
  return from_vector(std::vector<double>(values.begin(), values.end()), shape, DType::Bool);
}

int64_t Tensor::size(int64_t axis) const {
  int64_t n = dim();
  DL_CHECK(axis >= -n && axis < n, "Tensor::size",
           "axis " + std::to_string(axis) + " out of range for shape " + shape_str(shape()));
  return shape()[axis < 0 ? axis + n : axis];
}

bool Tensor::is_contiguous() const {
  const auto& im = impl();
  int64_t expect = 1;
  for (size_t i = im.shape.size(); i-- > 0;) {
    if (im.shape[i] == 1) continue;
    if (im.strides[i] != expect) return false;
    expect *= im.shape[i];
  }
  return true;
}

std::string Tensor::str() const { return std::string(dtype_name(dtype())) + shape_str(shape()); }

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data) + impl().offset * dtype_size(dtype());
}

// Calls f(dense_index, strided_offset) for every element in row-major order.
template <class F>
static void for_each_strided(const Shape& shape, const Shape& strides, F&& f) {
  const int64_t n = shape_numel(shape), nd = static_cast<int64_t>(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(numel());
  const void* base = raw_data();
  for_each_strided(shape(), strides(), [&](int64_t i, int64_t off) { out[i] = load(base, dtype(), off); });
  return out;
}

double Tensor::item() const {
  DL_CHECK(numel() == 1, "Tensor::item", "needs a one-element tensor, got " + str());
  return load(raw_data(), dtype(), 0);
}

double Tensor::at(const std::vector<int64_t>& index) const {
  DL_CHECK(static_cast<int64_t>(index.size()) == dim(), "Tensor::at",
           std::to_string(index.size()) + " indices for a " + str() + " tensor");
  int64_t off = 0;
  for (size_t d = 0; d < index.size(); ++d) {
    DL_CHECK(index[d] >= 0 && index[d] < shape()[d], "Tensor::at",
             "index " + std::to_string(index[d]) + " out of range in axis " + std::to_string(d) +
                 " of " + str());
    off += index[d] * strides()[d];
  }
  return load(raw_data(), dtype(), off);
}

// out[j] = in[j * step] for j < n, on elements of E's size.
template <class E>
static void copy_row(char* out, const char* in, int64_t n, int64_t step) {
  E* o = reinterpret_cast<E*>(out);
  const E* i = reinterpret_cast<const E*>(in);
  for (int64_t j = 0; j < n; ++j) o[j] = i[j * step];
}

// Dense copy of src's values into dst (same shape and dtype, dst contiguous), row by row (rows
// are the last axis), rows in parallel.
static void strided_copy(const Tensor& src, const Tensor& dst) {
  const int64_t es = static_cast<int64_t>(dtype_size(src.dtype())), n = src.numel();
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst.raw_data());
  if (src.is_contiguous()) {
    parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) { std::memcpy(d + i0 * es, s + i0 * es, (i1 - i0) * es); });
    return;
  }
  const Shape &shape = src.shape(), &strides = src.strides();  // rank >= 1: a scalar is contiguous
  const int64_t nd = src.dim(), inner = shape[nd - 1], step = strides[nd - 1];
  if (inner == 0) return;
  parallel_for(0, n / inner, std::max<int64_t>(1, kElementGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0, rest = r;
      for (int64_t k = nd - 2; k >= 0; --k) {
        off += (rest % shape[k]) * strides[k];
        rest /= shape[k];
      }
      char* out = d + r * inner * es;
      const char* in = s + off * es;
      if (step == 1) std::memcpy(out, in, inner * es);
      else if (es == 8) copy_row<uint64_t>(out, in, inner, step);
      else if (es == 4) copy_row<uint32_t>(out, in, inner, step);
      else copy_row<uint8_t>(out, in, inner, step);
    }
  });
}

Tensor Tensor::clone() const {
  Tensor out = uninitialized(shape(), dtype());
  strided_copy(*this, out);
  return record("clone", out, {*this}, [](const Tensor& g, const Needs&) { return Grads{g}; });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = uninitialized(shape(), target);
  std::vector<double> v = to_vector();
  for (size_t i = 0; i < v.size(); ++i) store(out.raw_data(), target, i, v[i]);
  if (!is_floating(dtype()) || !is_floating(target)) return out;
  DType from = dtype();
  return record("to", out, {*this}, [from](const Tensor& g, const Needs&) { return Grads{g.to(from)}; });
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->offset = offset();
  impl->shape = shape();
  impl->strides = strides();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

void Tensor::copy_(const Tensor& src) {
  DL_CHECK(src.shape() == shape() && src.dtype() == dtype(), "Tensor::copy_",
           "source " + src.str() + " does not match destination " + str());
  if (is_contiguous()) {
    strided_copy(src, *this);
    return;
  }
  std::vector<double> v = src.to_vector();
  void* base = raw_data();
  for_each_strided(shape(), strides(), [&](int64_t i, int64_t off) { store(base, dtype(), off, v[i]); });
}

void Tensor::fill_(double value) {
  void* base = raw_data();
  for_each_strided(shape(), strides(), [&](int64_t, int64_t off) { store(base, dtype(), off, value); });
}

Tensor& Tensor::requires_grad_(bool on) {
  DL_CHECK(!on || is_floating(dtype()), "requires_grad_", "only float tensors can require grad, got " + str());
  DL_CHECK(is_leaf() || on, "requires_grad_", "cannot turn off requires_grad on a non-leaf tensor");
  impl().requires_grad = on;
  return *this;
}

Tensor make_view(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl().storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

}  // namespace dl
