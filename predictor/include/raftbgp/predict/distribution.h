// Delay distributions for raftbgp-predict (predictor/): what one hop, one link, one fsync or one apply takes, in
// microseconds. Parametric (constant, uniform, normal truncated at 0, exponential), empirical (the buckets of a
// measured histogram, latency_model.h: a bucket is drawn by its count, then a value log-uniformly inside it), a sum
// of parts (a path of hops), a mixture (one part drawn per sample), and an affine map of another distribution
// (max(floor, a * x + b): half a round trip, less the peer's fsync). Immutable and cheap to copy (shared parts).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace raftbgp::predict {

using Rng = std::mt19937_64;

// The standard normal distribution function Phi(z): a normal score's quantile (the Gaussian copula of half_of and of
// the simulator's delays that move together).
double normal_cdf(double z);

class Distribution {
 public:
  Distribution() : Distribution(constant(0)) {}
  static Distribution constant(double us);
  static Distribution uniform(double lo_us, double hi_us);
  static Distribution normal(double mean_us, double sd_us);  // truncated at 0 (redrawn)
  static Distribution exponential(double mean_us);
  // Buckets (lower, upper] in microseconds with their (non-cumulative) counts; empty or all-zero: constant 0.
  static Distribution empirical(std::vector<double> upper_bounds_us, std::vector<std::uint64_t> counts,
                                double first_lower_us);
  static Distribution sum(std::vector<Distribution> parts);
  static Distribution mixture(std::vector<Distribution> parts);
  // max(floor_us, scale * x + offset_us) for x drawn from `base`.
  static Distribution affine(Distribution base, double scale, double offset_us, double floor_us);
  // Equal-probability quantiles (ascending), sampled by interpolating between neighbours.
  static Distribution quantiles(std::vector<double> q_us);
  // The one-way delay D whose two independent draws add up to `round_trip`: D1 + D2 ~ round_trip, at least floor_us.
  // Halving every round trip instead would thin the tail (the mean of two draws has a lighter tail than one).
  // With `within` (the peer's own part of the round trip, e.g. its fsync and work, measured apart and drawn
  // independently): D1 + W + D2 ~ round_trip, so that W's spread is not counted as the network's as well (the
  // simulator draws W again on its own). A fixed-point iteration on 1024 quantiles (sampled with a fixed seed:
  // deterministic). `rho`: the correlation of D1's and D2's normal scores (the way out and the way back move
  // together, Model::co_move); 0: independent. The more they move together, the less spread each half needs.
  static Distribution half_of(const Distribution& round_trip, double floor_us);
  static Distribution half_of(const Distribution& round_trip, double floor_us, const Distribution& within,
                              double rho = 0);

  double sample(Rng& rng) const;
  // `n` draws with a fixed seed, ascending: the distribution's quantile function on a grid, for draws at a given
  // quantile (the simulator's correlated delays).
  std::vector<double> quantile_table(std::size_t n) const;
  // A short human description ("uniform(200, 500) us", "empirical(812 samples, p50 1830 us)", ...).
  std::string describe() const;
  // The q-quantile estimated from `n` samples drawn with a fixed seed (for descriptions and fallbacks).
  double quantile_estimate(double q, int n = 4001) const;

 private:
  struct Impl;
  explicit Distribution(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace raftbgp::predict
