#include "zero3.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace trainer {
namespace {

// A list over `tensors` (f32, one per parameter) that communicates in
// `comm_dtype`. Capacities and alignment are given in elements' worth of
// the communication dtype, so every dtype gets the same element layout:
// the reducer's gradient shard and the gatherer's parameter shard line up.
tidal_tensor_list_t make_list(tidal_comm_t comm, const std::vector<torch::Tensor>& tensors,
                              size_t bucket_bytes, int comm_dtype) {
  std::vector<tidal_tensor_desc_t> d;
  for (const auto& t : tensors) {
    d.push_back({t.data_ptr<float>(), static_cast<size_t>(t.numel()), TIDAL_F32});
  }
  const size_t bytes_per =
      comm_dtype < 0 ? 4 : tidal_dtype_size(static_cast<tidal_dtype_t>(comm_dtype));
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = bucket_bytes / 4 * bytes_per;
  o.first_bucket_bytes = bucket_bytes / 16 * bytes_per;
  o.align_bytes = 4 * bytes_per;         // 4 elements whatever the dtype
  o.order = TIDAL_BUCKET_ORDER_REVERSE;  // gradients arrive last layer first
  o.comm_dtype = comm_dtype;
  tidal_tensor_list_t list = nullptr;
  check(tidal_tensor_list_create(comm, d.data(), d.size(), &o, &list), "tensor list");
  return list;
}

std::vector<tidal_shard_segment_t> segments(tidal_tensor_list_t list, size_t tensor) {
  size_t n = 0;
  check(tidal_tensor_list_shard_segments(list, tensor, nullptr, 0, &n), "shard segments");
  std::vector<tidal_shard_segment_t> s(n);
  check(tidal_tensor_list_shard_segments(list, tensor, s.data(), n, &n), "shard segments");
  return s;
}

void check_same_layout(tidal_tensor_list_t a, tidal_tensor_list_t b, size_t tensors) {
  size_t ba = 0, bb = 0;
  tidal_tensor_list_shard_bytes(a, &ba);
  tidal_tensor_list_shard_bytes(b, &bb);
  bool same = ba == bb;
  for (size_t t = 0; t < tensors && same; ++t) {
    const auto sa = segments(a, t), sb = segments(b, t);
    same = sa.size() == sb.size();
    for (size_t i = 0; i < sa.size() && same; ++i) {
      same = sa[i].tensor_offset == sb[i].tensor_offset &&
             sa[i].shard_offset == sb[i].shard_offset && sa[i].count == sb[i].count;
    }
  }
  if (!same) throw std::runtime_error("gradient and parameter shards do not line up");
}

}  // namespace

void check(tidal_status_t rc, const char* what) {
  if (rc != TIDAL_SUCCESS) {
    throw std::runtime_error(std::string(what) + ": " + tidal_status_string(rc) + ": " +
                             tidal_last_error());
  }
}

Zero3::Zero3(tidal_comm_t comm, std::vector<torch::Tensor> params,
             std::vector<std::pair<size_t, size_t>> layers, const Zero3Options& options)
    : options_(options), params_(std::move(params)), layers_(std::move(layers)) {
  for (const auto& p : params_) grads_.push_back(torch::zeros_like(p));

  // Gradients: averaged bucket by bucket, launched from the autograd hooks.
  grad_list_ = make_list(comm, grads_, options_.bucket_bytes, -1);
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.op = TIDAL_AVG;
  check(tidal_grad_reducer_create(grad_list_, &ro, &reducer_), "grad reducer");
  void* shard = nullptr;
  size_t shard_bytes = 0;
  check(tidal_grad_reducer_shard(reducer_, &shard, &shard_bytes), "reducer shard");
  grad_shard_ = static_cast<float*>(shard);
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].register_hook([this, i](torch::Tensor g) {
      grads_[i].copy_(g);
      if (options_.overlap) check(tidal_grad_ready(reducer_, i), "tidal_grad_ready");
    });
  }

  // Parameters: the master shard (f32) is what the optimizer steps on; the
  // gatherer writes the gathered values into the model's own memory.
  param_list_ = make_list(comm, params_, options_.bucket_bytes, options_.gather_dtype);
  check_same_layout(grad_list_, param_list_, params_.size());
  master_.assign(shard_bytes / sizeof(float), 0.0f);
  for (size_t t = 0; t < params_.size(); ++t) {
    const float* src = params_[t].data_ptr<float>();
    for (const auto& s : segments(param_list_, t)) {
      std::memcpy(reinterpret_cast<char*>(master_.data()) + s.shard_offset, src + s.tensor_offset,
                  s.count * sizeof(float));
    }
  }
  adamw_ = std::make_unique<ShardedAdamW>(master_.size(), options_.adamw);
  tidal_param_gatherer_options_t go = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  go.depth = 2;
  check(tidal_param_gatherer_create(param_list_, master_.data(), &go, &gatherer_), "gatherer");
  check(tidal_tensor_list_num_buckets(param_list_, &buckets_), "buckets");
  // Each layer's buckets (the list is in reverse order: forward runs from
  // the last bucket to the first).
  for (const auto& [first, last] : layers_) {
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t t = first; t <= last; ++t) {
      size_t a = 0, b = 0;
      check(tidal_tensor_list_buckets_of(param_list_, t, &a, &b), "buckets_of");
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
    layer_buckets_.emplace_back(lo, hi);
  }
}

Zero3::~Zero3() {
  tidal_param_gatherer_destroy(gatherer_);
  tidal_grad_reducer_destroy(reducer_);
  tidal_tensor_list_destroy(param_list_);
  tidal_tensor_list_destroy(grad_list_);
}

void Zero3::prefetch_all() {
  for (size_t b = buckets_; b-- > 0;) check(tidal_param_prefetch(gatherer_, b), "prefetch");
}

void Zero3::wait_layer(size_t first) {
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (layers_[l].first != first) continue;
    for (size_t b = layer_buckets_[l].first; b <= layer_buckets_[l].second; ++b) {
      check(tidal_param_wait(gatherer_, b), "tidal_param_wait");
    }
  }
}

void Zero3::step() {
  if (!options_.overlap) {  // the baseline: every bucket after backward
    for (size_t i = 0; i < params_.size(); ++i) check(tidal_grad_ready(reducer_, i), "ready");
  }
  check(tidal_grad_reducer_wait(reducer_), "tidal_grad_reducer_wait");
  adamw_->step(master_.data(), grad_shard_);
  check(tidal_param_release(gatherer_, SIZE_MAX), "release");
}

void Zero3::gather_all() {
  for (size_t b = 0; b < buckets_; ++b) check(tidal_param_wait(gatherer_, b), "gather");
}

tidal_bucket_counters_t Zero3::gradient_counters() const {
  tidal_bucket_counters_t c{};
  tidal_grad_reducer_get_counters(reducer_, &c);
  return c;
}

tidal_bucket_counters_t Zero3::parameter_counters() const {
  tidal_bucket_counters_t c{};
  tidal_param_gatherer_get_counters(gatherer_, &c);
  return c;
}

}  // namespace trainer
