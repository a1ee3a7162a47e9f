#include "raftbgp/predict/distribution.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace raftbgp::predict {

struct Distribution::Impl {
  enum class Kind { kConstant, kUniform, kNormal, kExponential, kEmpirical, kSum, kMixture, kAffine, kQuantiles } kind;
  double a = 0, b = 0, c = 0;  // constant: a; uniform: [a, b]; normal: mean a, sd b; exp: mean a; affine: a*x+b, c
  std::vector<double> lower, upper;  // empirical buckets
  std::vector<double> cdf;           // empirical: cumulative probability per bucket
  std::uint64_t samples = 0;         // empirical: total count
  std::vector<Distribution> parts;   // sum, mixture, affine (one part)
};

namespace {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}
}  // namespace

Distribution Distribution::constant(double us) {
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kConstant;
  i->a = std::max(0.0, us);
  return Distribution(i);
}

Distribution Distribution::uniform(double lo, double hi) {
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kUniform;
  i->a = std::max(0.0, std::min(lo, hi));
  i->b = std::max(0.0, std::max(lo, hi));
  return Distribution(i);
}

Distribution Distribution::normal(double mean, double sd) {
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kNormal;
  i->a = mean;
  i->b = std::max(0.0, sd);
  return Distribution(i);
}

Distribution Distribution::exponential(double mean) {
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kExponential;
  i->a = std::max(0.0, mean);
  return Distribution(i);
}

Distribution Distribution::empirical(std::vector<double> upper, std::vector<std::uint64_t> counts, double first_lower) {
  const std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
  if (upper.empty() || upper.size() != counts.size() || total == 0) return constant(0);
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kEmpirical;
  i->samples = total;
  double prev = first_lower;
  std::uint64_t seen = 0;
  for (std::size_t k = 0; k < upper.size(); ++k) {
    if (counts[k] > 0) {
      seen += counts[k];
      i->lower.push_back(prev);
      i->upper.push_back(upper[k]);
      i->cdf.push_back(static_cast<double>(seen) / static_cast<double>(total));
    }
    prev = upper[k];
  }
  i->cdf.back() = 1.0;
  return Distribution(i);
}

Distribution Distribution::sum(std::vector<Distribution> parts) {
  if (parts.size() == 1) return parts.front();
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kSum;
  i->parts = std::move(parts);
  return Distribution(i);
}

Distribution Distribution::mixture(std::vector<Distribution> parts) {
  if (parts.empty()) return constant(0);
  if (parts.size() == 1) return parts.front();
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kMixture;
  i->parts = std::move(parts);
  return Distribution(i);
}

Distribution Distribution::affine(Distribution base, double scale, double offset, double floor) {
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kAffine;
  i->a = scale;
  i->b = offset;
  i->c = floor;
  i->parts.push_back(std::move(base));
  return Distribution(i);
}

Distribution Distribution::quantiles(std::vector<double> q) {
  if (q.empty()) return constant(0);
  std::sort(q.begin(), q.end());
  auto i = std::make_shared<Impl>();
  i->kind = Impl::Kind::kQuantiles;
  i->upper = std::move(q);
  return Distribution(i);
}

Distribution Distribution::half_of(const Distribution& round_trip, double floor_us) {
  return half_of(round_trip, floor_us, constant(0));
}

Distribution Distribution::half_of(const Distribution& round_trip, double floor_us, const Distribution& within,
                                   double rho) {
  constexpr std::size_t kQ = 1024, kN = 50000;
  Rng rng(0x5eed);
  std::vector<double> r(kN), w(kN);
  for (double& v : r) v = round_trip.sample(rng);
  std::sort(r.begin(), r.end());
  for (double& v : w) v = within.sample(rng);
  std::vector<double> w_sorted = w;
  std::sort(w_sorted.begin(), w_sorted.end());
  const double w_median = w_sorted[kN / 2];
  auto at = [](const std::vector<double>& sorted, std::size_t k) {
    return sorted[std::min(sorted.size() - 1, (2 * k + 1) * sorted.size() / (2 * kQ))];
  };
  std::vector<double> target(kQ), x(kQ), sums(kN);
  for (std::size_t k = 0; k < kQ; ++k) x[k] = std::max(floor_us, ((target[k] = at(r, k)) - w_median) / 2);
  std::sort(x.begin(), x.end());
  // The same pairs of draws (and the same draws of `within`) every round (common random numbers), so that the rounds
  // differ only by x.
  std::vector<std::pair<std::size_t, std::size_t>> pairs(kN);
  // A pair's quantiles: independent, or with normal scores that correlate by rho (Gaussian copula).
  rho = std::clamp(rho, 0.0, 0.99);
  std::normal_distribution<double> normal;
  auto quantile_index = [](double z) {
    return std::min(kQ - 1, static_cast<std::size_t>(normal_cdf(z) * static_cast<double>(kQ)));
  };
  for (auto& [i, j] : pairs) {
    if (rho == 0) {
      i = rng() % kQ, j = rng() % kQ;
      continue;
    }
    const double z1 = normal(rng), z2 = rho * z1 + std::sqrt(1 - rho * rho) * normal(rng);
    i = quantile_index(z1), j = quantile_index(z2);
  }
  // Each round moves every quantile of D by a quarter of its sum's miss (a quantile of D1 + D2 moves about twice as
  // far as D's own); the exact answer may not exist on the grid (a round trip's floor, or a `within` whose spread
  // alone is the round trip's), so the round whose sums miss the round trip's quantiles (p5 to p99.5) least is kept.
  std::vector<double> best = x;
  double best_miss = std::numeric_limits<double>::infinity();
  for (int iter = 0; iter < 60; ++iter) {
    for (std::size_t n = 0; n < kN; ++n) sums[n] = x[pairs[n].first] + x[pairs[n].second] + w[n];
    std::sort(sums.begin(), sums.end());
    double miss = 0;
    std::vector<double> next(kQ);
    for (std::size_t k = 0; k < kQ; ++k) {
      const double e = target[k] - at(sums, k);
      if (k >= kQ / 20 && k < kQ - kQ / 200 && target[k] > 0) miss = std::max(miss, std::fabs(e) / target[k]);
      next[k] = std::max(floor_us, x[k] + e / 4);
    }
    if (miss < best_miss) {
      best_miss = miss;
      best = x;
    }
    std::sort(next.begin(), next.end());
    x = std::move(next);
  }
  return quantiles(std::move(best));
}

std::vector<double> Distribution::quantile_table(std::size_t n) const {
  Rng rng(0x7ab1e);
  std::vector<double> v(n);
  for (double& x : v) x = sample(rng);
  std::sort(v.begin(), v.end());
  return v;
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double Distribution::sample(Rng& rng) const {
  const Impl& i = *impl_;
  switch (i.kind) {
    case Impl::Kind::kConstant: return i.a;
    case Impl::Kind::kUniform: return std::uniform_real_distribution<double>(i.a, i.b)(rng);
    case Impl::Kind::kNormal: {
      std::normal_distribution<double> d(i.a, i.b);
      for (int tries = 0; tries < 64; ++tries)
        if (const double v = d(rng); v >= 0) return v;
      return 0;
    }
    case Impl::Kind::kExponential: return i.a == 0 ? 0 : std::exponential_distribution<double>(1.0 / i.a)(rng);
    case Impl::Kind::kEmpirical: {
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      const std::size_t k = static_cast<std::size_t>(std::lower_bound(i.cdf.begin(), i.cdf.end(), u) - i.cdf.begin());
      const double lo = i.lower[std::min(k, i.lower.size() - 1)], hi = i.upper[std::min(k, i.upper.size() - 1)];
      const double v = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      // Log-uniform inside the bucket (the buckets are log-spaced); linear from 0 for the first.
      return lo > 0 ? lo * std::pow(hi / lo, v) : hi * v;
    }
    case Impl::Kind::kSum: {
      double s = 0;
      for (const Distribution& p : i.parts) s += p.sample(rng);
      return s;
    }
    case Impl::Kind::kMixture: return i.parts[rng() % i.parts.size()].sample(rng);
    case Impl::Kind::kAffine: return std::max(i.c, i.a * i.parts[0].sample(rng) + i.b);
    case Impl::Kind::kQuantiles: {
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng) * static_cast<double>(i.upper.size() - 1);
      const std::size_t k = std::min(static_cast<std::size_t>(u), i.upper.size() - 1);
      const double hi = i.upper[std::min(k + 1, i.upper.size() - 1)];
      return i.upper[k] + (hi - i.upper[k]) * (u - static_cast<double>(k));
    }
  }
  return 0;
}

double Distribution::quantile_estimate(double q, int n) const {
  Rng rng(12345);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = sample(rng);
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * (n - 1))];
}

std::string Distribution::describe() const {
  const Impl& i = *impl_;
  switch (i.kind) {
    case Impl::Kind::kConstant: return fmt(i.a) + " us";
    case Impl::Kind::kUniform: return "uniform(" + fmt(i.a) + ", " + fmt(i.b) + ") us";
    case Impl::Kind::kNormal: return "normal(" + fmt(i.a) + ", sd " + fmt(i.b) + ") us";
    case Impl::Kind::kExponential: return "exponential(mean " + fmt(i.a) + ") us";
    case Impl::Kind::kEmpirical:
      return "measured(" + std::to_string(i.samples) + " samples, p50 " + fmt(quantile_estimate(0.5)) + " us, p99 " +
             fmt(quantile_estimate(0.99)) + " us)";
    case Impl::Kind::kSum: {
      std::string s = "sum(";
      for (std::size_t k = 0; k < i.parts.size(); ++k) s += (k ? " + " : "") + i.parts[k].describe();
      return s + ")";
    }
    case Impl::Kind::kMixture:
      return "mixture of " + std::to_string(i.parts.size()) + " (p50 " + fmt(quantile_estimate(0.5)) + " us)";
    case Impl::Kind::kQuantiles:
      return "one way(p50 " + fmt(quantile_estimate(0.5)) + " us, p99 " + fmt(quantile_estimate(0.99)) + " us)";
    case Impl::Kind::kAffine:
      return "max(" + fmt(i.c) + ", " + std::to_string(i.a).substr(0, 4) + " x " + i.parts[0].describe() +
             (i.b < 0 ? " - " : " + ") + fmt(std::fabs(i.b)) + ") us (p50 " + fmt(quantile_estimate(0.5)) + " us)";
  }
  return "?";
}

}  // namespace raftbgp::predict
