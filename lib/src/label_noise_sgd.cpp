#include "zeroloss/label_noise_sgd.hpp"

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/erf.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/errors.hpp"

namespace zeroloss {
namespace {

// Dot product with a fixed summation order (four interleaved partial sums, then a fixed tree).
// The fused update below accumulates in exactly this order, so recomputing pre-activations from
// saved weights (restore) reproduces the fused values bit for bit.
[[gnu::always_inline]] inline double dot_fixed(const double* __restrict x, const double* __restrict y, int p) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int k = 0;
  for (; k + 4 <= p; k += 4) {
    s0 += x[k] * y[k];
    s1 += x[k + 1] * y[k + 1];
    s2 += x[k + 2] * y[k + 2];
    s3 += x[k + 3] * y[k + 3];
  }
  // Tail in index order into s0, written out (a loop here costs more than the work for small p).
  switch (p - k) {
    case 3:
      s0 += x[k] * y[k];
      s0 += x[k + 1] * y[k + 1];
      s0 += x[k + 2] * y[k + 2];
      break;
    case 2:
      s0 += x[k] * y[k];
      s0 += x[k + 1] * y[k + 1];
      break;
    case 1:
      s0 += x[k] * y[k];
      break;
    default:
      break;
  }
  return (s0 + s1) + (s2 + s3);
}

// b <- b - h z, returning zn . b (new b) in dot_fixed's order.
[[gnu::always_inline]] inline double update_and_dot(double* __restrict b, double h, const double* __restrict z,
                             const double* __restrict zn, int p) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int k = 0;
  for (; k + 4 <= p; k += 4) {
    const double b0 = b[k] - h * z[k];
    const double b1 = b[k + 1] - h * z[k + 1];
    const double b2 = b[k + 2] - h * z[k + 2];
    const double b3 = b[k + 3] - h * z[k + 3];
    b[k] = b0;
    b[k + 1] = b1;
    b[k + 2] = b2;
    b[k + 3] = b3;
    s0 += zn[k] * b0;
    s1 += zn[k + 1] * b1;
    s2 += zn[k + 2] * b2;
    s3 += zn[k + 3] * b3;
  }
  // Tail exactly as in dot_fixed: in index order into s0.
  switch (p - k) {
    case 3: {
      const double b0 = b[k] - h * z[k], b1 = b[k + 1] - h * z[k + 1], b2 = b[k + 2] - h * z[k + 2];
      b[k] = b0;
      b[k + 1] = b1;
      b[k + 2] = b2;
      s0 += zn[k] * b0;
      s0 += zn[k + 1] * b1;
      s0 += zn[k + 2] * b2;
      break;
    }
    case 2: {
      const double b0 = b[k] - h * z[k], b1 = b[k + 1] - h * z[k + 1];
      b[k] = b0;
      b[k + 1] = b1;
      s0 += zn[k] * b0;
      s0 += zn[k + 1] * b1;
      break;
    }
    case 1: {
      const double b0 = b[k] - h * z[k];
      b[k] = b0;
      s0 += zn[k] * b0;
      break;
    }
    default:
      break;
  }
  return (s0 + s1) + (s2 + s3);
}

// Activation policies: value and first derivative (the only ones SGD needs).
struct CubicAct {
  static constexpr const char* name = "cubic";
  void operator()(double z, double& v, double& d) const {
    const double z2 = z * z;
    v = z + z * z2 / 3.0;
    d = 1.0 + z2;
  }
};
struct SinhAct {
  static constexpr const char* name = "sinh";
  void operator()(double z, double& v, double& d) const {
    // One expm1: sinh = e1 (e1 + 2) / (2 (e1 + 1)), cosh = sinh + exp(-z), accurate near 0.
    const double e1 = std::expm1(z);
    const double inv = 1.0 / (e1 + 1.0);
    v = 0.5 * e1 * (e1 + 2.0) * inv;
    d = v + inv;
  }
};
struct TanhAct {
  static constexpr const char* name = "tanh";
  void operator()(double z, double& v, double& d) const {
    v = std::tanh(z);
    d = 1.0 - v * v;
  }
};
inline double logistic(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }
struct SigmoidAct {
  static constexpr const char* name = "sigmoid";
  void operator()(double z, double& v, double& d) const {
    v = logistic(z);
    d = v * (1.0 - v);
  }
};
struct SoftplusAct {
  static constexpr const char* name = "softplus";
  void operator()(double z, double& v, double& d) const {
    v = std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
    d = logistic(z);
  }
};
struct GeluAct {
  static constexpr const char* name = "gelu";
  void operator()(double z, double& v, double& d) const {
    const double cdf = 0.5 * boost::math::erfc(-z * boost::math::constants::one_div_root_two<double>());
    const double pdf = std::exp(-0.5 * z * z) * boost::math::constants::one_div_root_two_pi<double>();
    v = z * cdf;
    d = cdf + z * pdf;
  }
};
struct PolynomialAct {
  static constexpr const char* name = "polynomial";
  std::vector<double> c0, c1;  // coefficients of phi and phi', ascending
  explicit PolynomialAct(const std::vector<double>& c) : c0(c) {
    for (size_t k = 1; k < c.size(); ++k) c1.push_back(static_cast<double>(k) * c[k]);
  }
  void operator()(double z, double& v, double& d) const {
    v = 0;
    for (size_t k = c0.size(); k-- > 0;) v = v * z + c0[k];
    d = 0;
    for (size_t k = c1.size(); k-- > 0;) d = d * z + c1[k];
  }
};
struct GenericAct {
  static constexpr const char* name = "generic (virtual call per evaluation)";
  const Activation* phi;
  void operator()(double z, double& v, double& d) const {
    const ActivationDerivatives dv = phi->derivatives(z);
    v = dv.d0;
    d = dv.d1;
  }
};

std::string fmt(double x) {
  std::ostringstream s;
  s.precision(6);
  s << x;
  return s.str();
}

}  // namespace

struct SgdKernelBase {
  virtual ~SgdKernelBase() = default;
  virtual std::uint64_t run(LabelNoiseSgd::Core& core, std::uint64_t steps) = 0;
  virtual const char* name() const = 0;
};

struct LabelNoiseSgd::Core {
  Core(const TwoLayerModel& model_in, const SgdParameters& p) : model(model_in), params(p),
        noise(p.noise, p.seed, 2), index_rng(p.seed, 1) {}

  TwoLayerModel model;
  SgdParameters params;
  StandardNoise noise;
  Xoshiro256pp index_rng;
  int n = 0, m = 0, p = 0, B = 0;
  bool full = false;
  double eta_over_B = 0, s = 0, residual_bound = 0;
  std::vector<double> Z, y, a;  // Z row-major n x p
  std::vector<double> beta;     // row-major m x p
  std::uint64_t step = 0;
  std::vector<int> batch, next_batch, swaps, perm;
  std::vector<double> xi;  // standardized noise of the next step
  std::vector<double> r;   // B x m pre-activations of the next step's batch
  std::vector<double> h;   // B x m: a_j phi'(r_ij) of the current batch
  std::vector<double> coef;  // B: (eta/B) (f_i - y_i - s xi_i)
  std::vector<double> snapshot;
  std::uint64_t snapshot_step = 0;
  SgdDivergence divergence;
  std::unique_ptr<SgdKernelBase> kernel;

  [[gnu::always_inline]] void draw_next() {
    if (full) {
      for (int b = 0; b < B; ++b) next_batch[b] = b;
    } else if (B == 1) {
      next_batch[0] = static_cast<int>(index_rng.below(static_cast<std::uint64_t>(n)));
    } else {
      // Partial Fisher-Yates on the identity permutation, undone afterwards (O(B), no state).
      for (int b = 0; b < B; ++b) {
        const int j = b + static_cast<int>(index_rng.below(static_cast<std::uint64_t>(n - b)));
        std::swap(perm[b], perm[j]);
        next_batch[b] = perm[b];
        swaps[b] = j;
      }
      for (int b = B - 1; b >= 0; --b) std::swap(perm[b], perm[swaps[b]]);
    }
    if (s != 0.0)
      for (int b = 0; b < B; ++b) xi[b] = noise.next();
  }

  void compute_preactivations() {
    for (int b = 0; b < B; ++b) {
      const double* z = Z.data() + static_cast<std::size_t>(next_batch[b]) * p;
      for (int j = 0; j < m; ++j) r[static_cast<std::size_t>(b) * m + j] = dot_fixed(z, beta.data() + static_cast<std::size_t>(j) * p, p);
    }
  }

  bool beta_finite() const {
    for (double v : beta)
      if (!std::isfinite(v)) return false;
    return true;
  }

  void take_snapshot() {
    if (beta_finite()) {
      snapshot = beta;  // same size: no allocation after the first copy
      snapshot_step = step;
    }
  }

  Eigen::MatrixXd to_matrix(const std::vector<double>& v) const {
    Eigen::MatrixXd out(m, p);
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < p; ++k) out(j, k) = v[static_cast<std::size_t>(j) * p + k];
    return out;
  }
};

namespace {

// P > 0: the reduced dimension p known at compile time (small p: the loops over p unroll and the
// sample vectors stay in registers); P = 0: any p.
template <int P, class Act>
std::uint64_t run_steps(LabelNoiseSgd::Core& c, std::uint64_t steps, const Act& act) {
  const int m = c.m, p = P > 0 ? P : c.p, B = c.B;
  const double* Z = c.Z.data();
  const double* a = c.a.data();
  const double* y = c.y.data();
  double* beta = c.beta.data();
  double* r = c.r.data();
  double* h = c.h.data();
  double* coef = c.coef.data();
  const double eta_over_B = c.eta_over_B, s = c.s, bound = c.residual_bound;
  for (std::uint64_t done = 0; done < steps; ++done) {
    // 1. Outputs of this step's batch (pre-activations were computed by the previous update) and
    //    the coefficients h_bj = a_j phi'(r_ij) * coef_b, coef_b = (eta/B) (f_i - y_i - s xi_i).
    for (int b = 0; b < B; ++b) {
      double* hb = h + static_cast<std::size_t>(b) * m;
      const double* rb = r + static_cast<std::size_t>(b) * m;
      double f = 0;
      for (int j = 0; j < m; ++j) {
        double v, d;
        act(rb[j], v, d);
        f += a[j] * v;
        hb[j] = a[j] * d;
      }
      const int i = c.next_batch[b];
      const double residual = f - y[i];
      if (!(std::abs(residual) <= bound)) {
        c.divergence.diverged = true;
        c.divergence.step = c.step + 1;
        std::ostringstream msg;
        msg << "at step " << c.step + 1 << " the output of sample " << i + 1 << " is " << fmt(f)
            << " (residual f_i - y_i = " << fmt(residual) << ")";
        if (std::isfinite(residual))
          msg << ", so the loss exceeds the divergence bound " << fmt(c.params.max_loss);
        else
          msg << ": the weights overflowed";
        c.divergence.reason = msg.str();
        return done;
      }
      coef[b] = eta_over_B * (residual - s * c.xi[b]);  // h_bj is a_j phi'(r_ij) * coef[b]
    }
    // 2. The batch of the next step (and its noise), drawn ahead so that the update below can
    //    compute its pre-activations in the same pass over the weights.
    c.batch.swap(c.next_batch);
    c.draw_next();
    // 3. Fused update and next pre-activations.
    if (B == 1) {
      const double* z = Z + static_cast<std::size_t>(c.batch[0]) * p;
      const double* zn = Z + static_cast<std::size_t>(c.next_batch[0]) * p;
      const double c0 = coef[0];
      for (int j = 0; j < m; ++j) r[j] = update_and_dot(beta + static_cast<std::size_t>(j) * p, h[j] * c0, z, zn, p);
    } else {
      for (int j = 0; j < m; ++j) {
        double* bj = beta + static_cast<std::size_t>(j) * p;
        for (int b = 0; b < B; ++b) {
          const double hb = h[static_cast<std::size_t>(b) * m + j] * coef[b];
          const double* z = Z + static_cast<std::size_t>(c.batch[b]) * p;
          for (int k = 0; k < p; ++k) bj[k] -= hb * z[k];
        }
        for (int b = 0; b < B; ++b)
          r[static_cast<std::size_t>(b) * m + j] = dot_fixed(Z + static_cast<std::size_t>(c.next_batch[b]) * p, bj, p);
      }
    }
    ++c.step;
  }
  return steps;
}

template <class Act>
struct Kernel final : SgdKernelBase {
  Kernel(Act a, int p) : act(std::move(a)) {
    switch (p) {
      case 1: run_ = &run_steps<1, Act>; break;
      case 2: run_ = &run_steps<2, Act>; break;
      case 3: run_ = &run_steps<3, Act>; break;
      case 4: run_ = &run_steps<4, Act>; break;
      default: run_ = &run_steps<0, Act>; break;
    }
  }
  std::uint64_t run(LabelNoiseSgd::Core& core, std::uint64_t steps) override { return run_(core, steps, act); }
  const char* name() const override { return Act::name; }
  Act act;
  std::uint64_t (*run_)(LabelNoiseSgd::Core&, std::uint64_t, const Act&) = nullptr;
};

std::unique_ptr<SgdKernelBase> make_kernel(const Activation& phi, int p) {
  switch (phi.kind()) {
    case Activation::Kind::Cubic: return std::make_unique<Kernel<CubicAct>>(CubicAct{}, p);
    case Activation::Kind::Sinh: return std::make_unique<Kernel<SinhAct>>(SinhAct{}, p);
    case Activation::Kind::Tanh: return std::make_unique<Kernel<TanhAct>>(TanhAct{}, p);
    case Activation::Kind::Sigmoid: return std::make_unique<Kernel<SigmoidAct>>(SigmoidAct{}, p);
    case Activation::Kind::Softplus: return std::make_unique<Kernel<SoftplusAct>>(SoftplusAct{}, p);
    case Activation::Kind::Gelu: return std::make_unique<Kernel<GeluAct>>(GeluAct{}, p);
    case Activation::Kind::Polynomial:
      return std::make_unique<Kernel<PolynomialAct>>(PolynomialAct(phi.polynomial_coefficients()), p);
    case Activation::Kind::Custom: break;
  }
  return std::make_unique<Kernel<GenericAct>>(GenericAct{&phi}, p);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

}  // namespace

LabelNoiseSgd::LabelNoiseSgd(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                             const SgdParameters& params) {
  model.check_weights(beta0, "starting weights of label-noise SGD");
  require(std::isfinite(params.learning_rate) && params.learning_rate > 0,
          "label-noise SGD: learning rate eta = " + fmt(params.learning_rate) + "; expected a finite number > 0");
  require(std::isfinite(params.label_noise) && params.label_noise >= 0,
          "label-noise SGD: label noise s = " + fmt(params.label_noise) + "; expected a finite number >= 0");
  require(params.batch_size >= 1 && params.batch_size <= model.n(),
          "label-noise SGD: batch size B = " + std::to_string(params.batch_size) + "; expected 1 <= B <= n = " +
              std::to_string(model.n()) + " (or the full batch)");
  require(std::isfinite(params.max_loss), "label-noise SGD: the divergence bound max_loss must be finite");
  core_ = std::make_unique<Core>(model, params);
  Core& c = *core_;
  c.n = model.n();
  c.m = model.m();
  c.p = model.d();
  c.B = params.batch_size;
  c.full = c.B == c.n;
  c.eta_over_B = params.learning_rate / c.B;
  c.s = params.label_noise;
  if (!(c.params.max_loss > 0)) {
    const double loss0 = (network_outputs(model, beta0) - model.y()).squaredNorm() / (2.0 * c.n);
    const double y2 = model.y().squaredNorm() / c.n;
    c.params.max_loss = 1e6 * std::max({1.0, std::isfinite(loss0) ? loss0 : 1.0, y2});
  }
  c.residual_bound = std::sqrt(2.0 * c.n * c.params.max_loss);
  c.Z.resize(static_cast<std::size_t>(c.n) * c.p);
  for (int i = 0; i < c.n; ++i)
    for (int k = 0; k < c.p; ++k) c.Z[static_cast<std::size_t>(i) * c.p + k] = model.X()(i, k);
  c.y.assign(model.y().data(), model.y().data() + c.n);
  c.a.assign(model.a().data(), model.a().data() + c.m);
  c.beta.resize(static_cast<std::size_t>(c.m) * c.p);
  for (int j = 0; j < c.m; ++j)
    for (int k = 0; k < c.p; ++k) c.beta[static_cast<std::size_t>(j) * c.p + k] = beta0(j, k);
  c.batch.assign(c.B, 0);
  c.next_batch.assign(c.B, 0);
  c.swaps.assign(c.B, 0);
  c.perm.resize(c.n);
  for (int i = 0; i < c.n; ++i) c.perm[i] = i;
  c.xi.assign(c.B, 0.0);
  c.r.assign(static_cast<std::size_t>(c.B) * c.m, 0.0);
  c.h.assign(static_cast<std::size_t>(c.B) * c.m, 0.0);
  c.coef.assign(c.B, 0.0);
  c.kernel = make_kernel(c.model.activation(), c.p);
  c.draw_next();
  c.compute_preactivations();
  c.take_snapshot();
}

LabelNoiseSgd::~LabelNoiseSgd() = default;
LabelNoiseSgd::LabelNoiseSgd(LabelNoiseSgd&&) noexcept = default;
LabelNoiseSgd& LabelNoiseSgd::operator=(LabelNoiseSgd&&) noexcept = default;

std::uint64_t LabelNoiseSgd::advance(std::uint64_t steps) {
  Core& c = *core_;
  if (c.divergence.diverged) return 0;
  c.take_snapshot();
  const std::uint64_t done = c.kernel->run(c, steps);
  if (c.divergence.diverged) c.take_snapshot();
  return done;
}

std::uint64_t LabelNoiseSgd::step() const { return core_->step; }
bool LabelNoiseSgd::diverged() const { return core_->divergence.diverged; }
const SgdDivergence& LabelNoiseSgd::divergence() const { return core_->divergence; }
Eigen::MatrixXd LabelNoiseSgd::weights() const { return core_->to_matrix(core_->beta); }
Eigen::MatrixXd LabelNoiseSgd::last_finite_weights() const { return core_->to_matrix(core_->snapshot); }
std::uint64_t LabelNoiseSgd::last_finite_step() const { return core_->snapshot_step; }

double LabelNoiseSgd::time() const {
  const double eta = core_->params.learning_rate;
  return eta * eta * static_cast<double>(core_->step);
}
double LabelNoiseSgd::flow_time_per_step() const {
  const double eta = core_->params.learning_rate, s = core_->params.label_noise;
  return s * s * eta * eta / (4.0 * core_->B);
}
double LabelNoiseSgd::flow_time() const { return flow_time_per_step() * static_cast<double>(core_->step); }

const TwoLayerModel& LabelNoiseSgd::model() const { return core_->model; }
const SgdParameters& LabelNoiseSgd::parameters() const { return core_->params; }
const char* LabelNoiseSgd::kernel_name() const { return core_->kernel->name(); }
const std::vector<int>& LabelNoiseSgd::next_batch() const { return core_->next_batch; }
std::vector<double> LabelNoiseSgd::next_noise() const { return core_->xi; }

SgdState LabelNoiseSgd::state() const {
  const Core& c = *core_;
  SgdState st;
  st.step = c.step;
  st.beta = c.to_matrix(c.beta);
  st.index_generator = c.index_rng.state();
  st.noise_generator = c.noise.state();
  st.next_batch = c.next_batch;
  st.next_noise = c.xi;
  return st;
}

void LabelNoiseSgd::restore(const SgdState& st) {
  Core& c = *core_;
  require(st.beta.rows() == c.m && st.beta.cols() == c.p,
          "SGD state: weights are " + std::to_string(st.beta.rows()) + " x " + std::to_string(st.beta.cols()) +
              "; expected " + std::to_string(c.m) + " x " + std::to_string(c.p));
  require(st.beta.allFinite(), "SGD state: the saved weights are not finite");
  require(static_cast<int>(st.next_batch.size()) == c.B && static_cast<int>(st.next_noise.size()) == c.B,
          "SGD state: the saved batch has " + std::to_string(st.next_batch.size()) + " entries; expected B = " +
              std::to_string(c.B));
  for (int b = 0; b < c.B; ++b) {
    require(st.next_batch[b] >= 0 && st.next_batch[b] < c.n,
            "SGD state: batch index " + std::to_string(st.next_batch[b]) + " is outside [0, n)");
    require(!c.full || st.next_batch[b] == b, "SGD state: a full-batch state must list the samples in order");
    require(std::isfinite(st.next_noise[b]), "SGD state: the saved noise is not finite");
  }
  c.index_rng.restore(st.index_generator);
  c.noise.restore(st.noise_generator);
  c.step = st.step;
  for (int j = 0; j < c.m; ++j)
    for (int k = 0; k < c.p; ++k) c.beta[static_cast<std::size_t>(j) * c.p + k] = st.beta(j, k);
  c.next_batch = st.next_batch;
  c.xi = st.next_noise;
  c.divergence = SgdDivergence{};
  c.compute_preactivations();
  c.take_snapshot();
}

}  // namespace zeroloss
