//! The landscape f a model runs on ([`Objective`]): the separable quadratic, dense quadratics
//! (a full Hessian, or a spectrum and an eigenbasis), and losses written as formulas. Each is
//! checked here; the kernels get it through `crate::objective`.

use std::ops::Bound::{Included, Unbounded};

use serde::{Deserialize, Serialize};

use super::domain::{Domain, show_reals};
use super::problem::{ANY_REAL, CURVATURE};
use super::run::MAX_LOSS_AT_BOUND;
use crate::error::{Error, Result};
use crate::objective::dense;
use crate::objective::formula::{Formula, ParamShape};
use crate::objective::registry;

/// `objective.hessian` entries and `objective.eigenvalues`: any finite number (an indefinite
/// Hessian is allowed: paths along a negative direction diverge and are counted).
pub const MATRIX_ENTRY: Domain<f64> = Domain::new(Unbounded, Unbounded, "must be a finite number");
/// `objective.basis_seed`.
pub const BASIS_SEED: Domain<i128> = Domain::new(Included(0), Included(i64::MAX as i128), "must be an integer >= 0");
/// `objective.batch`: samples per step of a regression.
pub const BATCH_SAMPLES: Domain<i128> =
    Domain::new(Included(1), Included(1 << 16), "must be an integer >= 1 and <= 65536");
/// Where the divergence bound of a formula objective stops: coordinates beyond it have no f32
/// precision left for any step.
pub const FORMULA_BOUND_LIMIT: f64 = 1e15;

/// f as a function of x in f64 ([`Objective::loss_fn`]).
pub type LossFn<'a> = Box<dyn Fn(&[f64]) -> f64 + 'a>;

/// How a dense quadratic's eigenbasis was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Haar-random, drawn from this seed (`crate::objective::dense::haar_orthogonal`).
    Random { seed: u64 },
    /// The matrix Q written row by row; its columns are the eigenvectors.
    Given { q: Vec<Vec<f64>> },
}

/// A dense quadratic given by its spectrum: H = Q diag(λ) Qᵀ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    pub eigenvalues: Vec<f64>,
    pub basis: Basis,
}

impl Spectrum {
    /// Q, rows as written (drawn for a random basis).
    pub fn q(&self) -> Vec<Vec<f64>> {
        match &self.basis {
            Basis::Random { seed } => dense::haar_orthogonal(self.eigenvalues.len(), *seed),
            Basis::Given { q } => q.clone(),
        }
    }
}

/// The eigenbasis Q of a rotated regression's data covariance K = Q diag(k) Qᵀ, with Q and K
/// computed once (O(d³)) when the objective is built; files and summaries hold the basis only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rotation {
    pub basis: Basis,
    /// Q, rows as written (its columns are K's eigenvectors).
    #[serde(skip)]
    pub q: Vec<Vec<f64>>,
    /// K = Q diag(k) Qᵀ, rows.
    #[serde(skip)]
    pub covariance: Vec<Vec<f64>>,
}

impl PartialEq for Rotation {
    /// Q and K follow from the basis and the spectrum.
    fn eq(&self, other: &Self) -> bool {
        self.basis == other.basis
    }
}

/// A named parameter of a formula: a number, or a vector with one entry per coordinate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormulaParam {
    pub name: String,
    pub values: Vec<f64>,
    pub vector: bool,
}

impl FormulaParam {
    fn shape(&self) -> ParamShape {
        if self.vector { ParamShape::Vector } else { ParamShape::Scalar }
    }
}

/// The landscape f.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Objective {
    /// f(x) = ½ Σ h_i (x_i − c_i)², diagonal Hessian: the kernels' fast path.
    Quadratic { h: Vec<f64>, center: Vec<f64> },
    /// f(x) = ½ (x − c)ᵀ H (x − c) with a dense symmetric H (rows), given entry by entry
    /// (`spectrum` None) or as Q diag(λ) Qᵀ.
    DenseQuadratic { hessian: Vec<Vec<f64>>, center: Vec<f64>, spectrum: Option<Spectrum> },
    /// A loss written as a formula (`crate::objective::formula`), differentiated by the program,
    /// in dimension `dim` with the named parameters `params`.
    Expression { loss: String, dim: usize, params: Vec<FormulaParam> },
    /// One-pass least squares on Gaussian data (docs/regression.md): each step draws a ~ N(0, K)
    /// and y = aᵀx* + ε and takes the loss ½(aᵀx − y)², averaged over `batch` samples. K is
    /// diag `k`, or Q diag(k) Qᵀ with a `rotation`. Its population gradient is K r and its excess
    /// risk P = ½ rᵀKr with r = x − x*, so the kernels' objective stage is the quadratic with
    /// Hessian K and minimum x* (`target`): the diagonal one, or the dense one when rotated; the
    /// data stage samples the gradient (`shaders/shared/data.wgsl`).
    LinearRegression {
        k: Vec<f64>,
        target: Vec<f64>,
        batch: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rotation: Option<Rotation>,
    },
}

impl Objective {
    /// The quadratic with curvatures `h` > 0 and minimum `center`, of the same length.
    pub fn quadratic(h: Vec<f64>, center: Vec<f64>) -> Result<Objective> {
        let o = Objective::Quadratic { h, center };
        o.check()?;
        Ok(o)
    }

    /// The dense quadratic with Hessian `hessian` (symmetric to [`dense::SYMMETRY_TOL`]) and
    /// minimum `center`.
    pub fn dense(hessian: Vec<Vec<f64>>, center: Vec<f64>) -> Result<Objective> {
        let o = Objective::DenseQuadratic { hessian, center, spectrum: None };
        o.check()?;
        Ok(o)
    }

    /// The dense quadratic H = Q diag(λ) Qᵀ: `eigenvalues` λ and an orthonormal basis Q
    /// (to [`dense::ORTHONORMAL_TOL`]), minimum `center`.
    pub fn spectral(eigenvalues: Vec<f64>, basis: Basis, center: Vec<f64>) -> Result<Objective> {
        MATRIX_ENTRY.check_each("objective.eigenvalues", &eigenvalues)?;
        let spectrum = Spectrum { eigenvalues, basis };
        let d = spectrum.eigenvalues.len();
        if let Basis::Given { q } = &spectrum.basis {
            check_basis(q, d, "objective.eigenvalues")?;
        }
        let hessian = dense::from_spectrum(&spectrum.eigenvalues, &spectrum.q());
        let o = Objective::DenseQuadratic { hessian, center, spectrum: Some(spectrum) };
        o.check()?;
        Ok(o)
    }

    /// The eigenvalues (ascending for a `hessian`; as given for `eigenvalues`; h for the
    /// diagonal quadratic) and eigenvectors (columns of Q) of a quadratic's H, for the moments
    /// of Qᵀ(x − c) (`[record] basis = "hessian"`); `None` for a formula.
    pub fn eigenbasis(&self) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
        match self {
            Objective::LinearRegression { k, rotation: Some(r), .. } => Some((k.clone(), r.q.clone())),
            Objective::Quadratic { h, .. } | Objective::LinearRegression { k: h, .. } => {
                let d = h.len();
                Some((h.clone(), (0..d).map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect()).collect()))
            }
            Objective::DenseQuadratic { spectrum: Some(s), .. } => Some((s.eigenvalues.clone(), s.q())),
            Objective::DenseQuadratic { hessian, .. } => Some(dense::symmetric_eigen(hessian)),
            Objective::Expression { .. } => None,
        }
    }

    /// The formula `loss` in dimension `dim` (or the largest index it names + 1) with the
    /// parameters `params`: compiled here, so that an error points into the formula.
    pub fn expression(loss: String, dim: Option<usize>, params: Vec<FormulaParam>) -> Result<Objective> {
        let f = compile(&loss, dim, &params)?;
        let o = Objective::Expression { loss, dim: f.dim(), params };
        o.check()?;
        Ok(o)
    }

    /// The regression problem with data covariance diag `k` (entries > 0), or Q diag(k) Qᵀ with
    /// `basis` Q (orthonormal to [`dense::ORTHONORMAL_TOL`]), target `target` of the same
    /// length and `batch` ≥ 1 samples per step.
    pub fn linear_regression(k: Vec<f64>, target: Vec<f64>, batch: u32, basis: Option<Basis>) -> Result<Objective> {
        CURVATURE.check_each("objective.k", &k)?;
        let rotation = match basis {
            None => None,
            Some(basis) => {
                if let Basis::Given { q } = &basis {
                    check_basis(q, k.len(), "objective.k")?;
                }
                let spectrum = Spectrum { eigenvalues: k.clone(), basis };
                let q = spectrum.q();
                let covariance = dense::from_spectrum(&k, &q);
                Some(Rotation { basis: spectrum.basis, q, covariance })
            }
        };
        let o = Objective::LinearRegression { k, target, batch, rotation };
        o.check()?;
        Ok(o)
    }

    /// A regression's data covariance K as a dense matrix (rows): diag k, or Q diag(k) Qᵀ.
    pub fn data_covariance(&self) -> Option<Vec<Vec<f64>>> {
        let Objective::LinearRegression { k, rotation, .. } = self else { return None };
        Some(match rotation {
            Some(r) => r.covariance.clone(),
            None => {
                let d = k.len();
                (0..d).map(|i| (0..d).map(|j| if i == j { k[i] } else { 0.0 }).collect()).collect()
            }
        })
    }

    /// The separable quadratic the objective's population loss is, as (h, c): the diagonal
    /// quadratic itself, and the excess risk ½ Σ k_i (x_i − x*_i)² of an unrotated regression.
    pub fn separable(&self) -> Option<(&[f64], &[f64])> {
        match self {
            Objective::Quadratic { h, center } => Some((h, center)),
            Objective::LinearRegression { k, target, rotation: None, .. } => Some((k, target)),
            _ => None,
        }
    }

    /// Whether the gradient is sampled from data (its noise depends on the state) rather than
    /// ∇f plus the `[noise]` law.
    pub fn samples_data(&self) -> bool {
        matches!(self, Objective::LinearRegression { .. })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        match self {
            Objective::Quadratic { h, .. } | Objective::LinearRegression { k: h, .. } => h.len(),
            Objective::DenseQuadratic { hessian, .. } => hessian.len(),
            Objective::Expression { dim, .. } => *dim,
        }
    }

    /// A formula objective's compiled formula and its parameter words (f64, in the formula's
    /// layout).
    pub fn formula(&self) -> Option<(std::sync::Arc<Formula>, Vec<f64>)> {
        let Objective::Expression { loss, dim, params } = self else { return None };
        let f = compile(loss, Some(*dim), params).expect("a validated formula compiles");
        let words = f.pack_params_f64(&param_values(params)).expect("validated parameters");
        Some((f, words))
    }

    /// The minimum of a quadratic, and the origin for other objectives: the point the
    /// stationary sums centre the coordinates on.
    pub fn center(&self) -> Vec<f64> {
        match self {
            Objective::Quadratic { center, .. } | Objective::DenseQuadratic { center, .. } => center.clone(),
            Objective::LinearRegression { target, .. } => target.clone(),
            Objective::Expression { dim, .. } => vec![0.0; *dim],
        }
    }

    /// The diagonal quadratic's (h, c), where the closed forms of the separable landscape with
    /// constant noise hold (not a regression: its noise depends on the state).
    pub fn diagonal(&self) -> Option<(&[f64], &[f64])> {
        match self {
            Objective::Quadratic { h, center } => Some((h, center)),
            _ => None,
        }
    }

    /// f(x) in f64.
    pub fn loss(&self, x: &[f64]) -> f64 {
        self.loss_fn()(x)
    }

    /// f in f64 as a function, with a formula compiled (looked up) once: for callers that
    /// evaluate f at many points.
    pub fn loss_fn(&self) -> LossFn<'_> {
        match self {
            Objective::LinearRegression { target, rotation: Some(r), .. } => {
                Box::new(move |x: &[f64]| dense::loss(&r.covariance, target, x))
            }
            Objective::Quadratic { h, center } | Objective::LinearRegression { k: h, target: center, .. } => {
                Box::new(move |x: &[f64]| {
                    0.5 * h.iter().zip(center).zip(x).map(|((h, c), x)| h * (x - c) * (x - c)).sum::<f64>()
                })
            }
            Objective::DenseQuadratic { hessian, center, .. } => {
                Box::new(move |x: &[f64]| dense::loss(hessian, center, x))
            }
            Objective::Expression { .. } => {
                let (f, words) = self.formula().expect("a formula");
                Box::new(move |x: &[f64]| f.loss_f64(x, &words))
            }
        }
    }

    /// Whether f ≥ 0 everywhere (so that a loss histogram can start at 0).
    pub fn is_nonnegative(&self) -> bool {
        match self {
            Objective::Quadratic { .. } | Objective::LinearRegression { .. } => true,
            Objective::DenseQuadratic { spectrum, .. } => {
                spectrum.as_ref().is_some_and(|s| s.eigenvalues.iter().all(|&l| l >= 0.0))
            }
            Objective::Expression { .. } => false,
        }
    }

    /// The loss histogram's range with `range = [lo, hi]` for every coordinate: [0, max over the box]
    /// for the diagonal quadratic (its maximum is at a corner); for other objectives the least and
    /// largest loss at the box's centre, its corners (up to d = 10) and 4096 points drawn uniformly
    /// in it (a fixed stream, so the same range every run), widened by 5% of its width: a state
    /// inside the box whose loss is outside them lands in the underflow or overflow bin.
    pub fn loss_range_over_box(&self, lo: f64, hi: f64) -> (f64, f64) {
        let d = self.dim();
        if let Some((h, center)) = self.separable() {
            let top: f64 = (0..d).map(|i| 0.5 * h[i] * (lo - center[i]).powi(2).max((hi - center[i]).powi(2))).sum();
            return (0.0, if top > 0.0 { top } else { 1.0 });
        }
        let loss = self.loss_fn();
        let mut points = vec![vec![0.5 * (lo + hi); d]];
        if d <= 10 {
            points.extend((0..1usize << d).map(|m| (0..d).map(|i| if m >> i & 1 == 1 { hi } else { lo }).collect()));
        }
        for n in 0..4096u64 {
            let u = |i: usize| {
                let w = crate::rng::block_words(0, crate::rng::STREAM_BASIS, n, i as u64 / 4)[i % 4];
                lo + (hi - lo) * (f64::from(w) + 0.5) / 4_294_967_296.0
            };
            points.push((0..d).map(u).collect());
        }
        let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in &points {
            let f = loss(p);
            if f.is_finite() {
                (a, b) = (a.min(f), b.max(f));
            }
        }
        if a == b {
            return (a - 1.0, a + 1.0);
        }
        if a > b {
            // No finite loss anywhere in the box.
            return (0.0, 1.0);
        }
        let pad = 0.05 * (b - a);
        (if self.is_nonnegative() { a.max(0.0) } else { a - pad }, b + pad)
    }

    /// The loss histogram's range from a pilot's loss mean and standard deviation: [0, mean + 8 sd]
    /// where f ≥ 0, else mean ± 8 sd.
    pub fn auto_loss_range(&self, mean: f64, sd: f64) -> (f64, f64) {
        let top = mean + 8.0 * sd;
        if self.is_nonnegative() {
            return (0.0, if top > 0.0 && top.is_finite() { top } else { 1.0 });
        }
        let bottom = mean - 8.0 * sd;
        if bottom < top && bottom.is_finite() && top.is_finite() { (bottom, top) } else { (mean - 1.0, mean + 1.0) }
    }

    /// The objective's name in files and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Quadratic { .. } | Objective::DenseQuadratic { .. } => "quadratic",
            Objective::Expression { .. } => "expression",
            Objective::LinearRegression { .. } => "linear-regression",
        }
    }

    /// The per-coordinate vectors, named as the file writes them.
    pub fn vectors(&self) -> Vec<(&'static str, &[f64])> {
        match self {
            Objective::Quadratic { h, center } => vec![("objective.h", h), ("objective.center", center)],
            Objective::DenseQuadratic { center, spectrum, .. } => {
                let mut v = vec![("objective.center", &center[..])];
                if let Some(s) = spectrum {
                    v.insert(0, ("objective.eigenvalues", &s.eigenvalues[..]));
                }
                v
            }
            Objective::LinearRegression { k, target, .. } => vec![("objective.k", k), ("objective.target", target)],
            // A vector parameter's length is checked against d by the formula.
            Objective::Expression { .. } => Vec::new(),
        }
    }

    /// The largest divergence bound b whose loss at the far corner stays below
    /// [`MAX_LOSS_AT_BOUND`] (the f32 statistics hold the loss of every live path): ½ Σ h (b +
    /// |c|)² for the diagonal quadratic; ½ ρ d (b + max |c|)² for a dense one, ρ the largest
    /// absolute row sum of H (which bounds its spectral radius).
    pub fn bound_limit(&self) -> f64 {
        let loss_at: Box<dyn Fn(f64) -> f64 + '_> = match self {
            Objective::LinearRegression {
                target: center,
                rotation: Some(Rotation { covariance: hessian, .. }),
                ..
            }
            | Objective::DenseQuadratic { hessian, center, .. } => {
                let rho = dense::row_sum_norm(hessian);
                let c = center.iter().fold(0.0f64, |a, c| a.max(c.abs()));
                let d = hessian.len() as f64;
                Box::new(move |b: f64| 0.5 * rho * d * (b + c).powi(2))
            }
            Objective::Quadratic { h, center } | Objective::LinearRegression { k: h, target: center, .. } => {
                Box::new(move |b: f64| h.iter().zip(center).map(|(h, c)| 0.5 * h * (b + c.abs()).powi(2)).sum())
            }
            Objective::Expression { .. } => return FORMULA_BOUND_LIMIT,
        };
        // Bisection: loss_at is increasing in b.
        let (mut lo, mut hi) = (0.0f64, 1e30f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if loss_at(mid) <= MAX_LOSS_AT_BOUND { lo = mid } else { hi = mid }
        }
        lo
    }

    /// What [`Objective::bound_limit`] keeps below [`MAX_LOSS_AT_BOUND`], for messages.
    pub fn bound_reason(&self) -> &'static str {
        match self {
            Objective::Quadratic { .. } => "the loss 1/2 sum h (bound + |c|)^2",
            Objective::LinearRegression { rotation: None, .. } => "the excess risk 1/2 sum k (bound + |target|)^2",
            Objective::LinearRegression { .. } => {
                "the bound 1/2 rho d (bound + max |target|)^2 on the excess risk (rho: max row sum of |K|)"
            }
            Objective::DenseQuadratic { .. } => {
                "the bound 1/2 rho d (bound + max |c|)^2 on the loss (rho: max row sum of |H|)"
            }
            Objective::Expression { .. } => "the coordinates (no f32 precision is left there)",
        }
    }

    pub(super) fn check(&self) -> Result<()> {
        match self {
            Objective::Quadratic { h, center } => {
                CURVATURE.check_each("objective.h", h)?;
                ANY_REAL.check_each("objective.center", center)?;
            }
            Objective::DenseQuadratic { hessian, center, spectrum } => {
                let field = if spectrum.is_some() { "objective.eigenvalues" } else { "objective.hessian" };
                let d = hessian.len();
                if d == 0 {
                    return Err(Error::invalid(field, "[]", "must not be empty"));
                }
                check_square("objective.hessian", hessian, d, "rows")?;
                for (i, row) in hessian.iter().enumerate() {
                    MATRIX_ENTRY.check_each(&format!("objective.hessian[{i}]"), row)?;
                }
                if let Some((i, j, a, b)) = dense::asymmetry(hessian) {
                    return Err(Error::invalid(
                        "objective.hessian",
                        show_matrix(hessian),
                        format!(
                            "must be symmetric (to {:e} of its largest entry): hessian[{i}][{j}] = {a} but \
                             hessian[{j}][{i}] = {b}",
                            dense::SYMMETRY_TOL
                        ),
                    ));
                }
                ANY_REAL.check_each("objective.center", center)?;
            }
            Objective::LinearRegression { k, target, batch, .. } => {
                CURVATURE.check_each("objective.k", k)?;
                ANY_REAL.check_each("objective.target", target)?;
                BATCH_SAMPLES.check("objective.batch", *batch)?;
                if target.len() != k.len() {
                    return Err(Error::invalid(
                        "objective.target",
                        show_reals(target),
                        format!("has length {} but objective.k gives d = {}; x* has d entries", target.len(), k.len()),
                    ));
                }
            }
            Objective::Expression { loss, dim, params } => {
                let f = compile(loss, Some(*dim), params)?;
                for p in params {
                    let field = format!("objective.params.{}", p.name);
                    ANY_REAL.check_each(&field, &p.values)?;
                    if p.vector && p.values.len() != *dim {
                        return Err(Error::invalid(
                            field,
                            show_reals(&p.values),
                            format!(
                                "has length {} but the formula's dimension is d = {dim}; a vector parameter has d entries (a single number is a scalar parameter)",
                                p.values.len()
                            ),
                        ));
                    }
                }
                if f.dim() != *dim {
                    return Err(Error::invalid(
                        "objective.dim",
                        dim,
                        format!("disagrees with the formula's d = {}", f.dim()),
                    ));
                }
            }
        }
        super::problem::same_lengths(&self.vectors())
    }
}

/// A formula's parameters as the formula packs them.
fn param_values(params: &[FormulaParam]) -> Vec<(String, Vec<f64>)> {
    params.iter().map(|p| (p.name.clone(), p.values.clone())).collect()
}

/// `loss` compiled (through the registry); an error names `objective.loss`, the column and
/// what was expected, with a caret under the place.
fn compile(loss: &str, dim: Option<usize>, params: &[FormulaParam]) -> Result<std::sync::Arc<Formula>> {
    let declared: Vec<(String, ParamShape)> = params.iter().map(|p| (p.name.clone(), p.shape())).collect();
    registry::compile(loss, dim, &declared)
        .map_err(|e| Error::invalid("objective.loss", format!("{loss:?}"), format!("is not a valid formula: {e}")))
}

/// That `m` has `d` rows of `d` entries (`against` names what fixed d).
fn check_square(field: &str, m: &[Vec<f64>], d: usize, against: &str) -> Result<()> {
    if m.len() != d {
        return Err(Error::invalid(
            field,
            show_matrix(m),
            format!("has {} rows but {against} gives d = {d}; it must be a d x d matrix", m.len()),
        ));
    }
    match m.iter().enumerate().find(|(_, r)| r.len() != d) {
        Some((i, r)) => Err(Error::invalid(
            format!("{field}[{i}]"),
            show_reals(r),
            format!("has {} entries; every row of a {d} x {d} matrix has {d}", r.len()),
        )),
        None => Ok(()),
    }
}

/// That a given basis `q` is a d × d matrix (`against` names what fixed d) with orthonormal
/// columns, to [`dense::ORTHONORMAL_TOL`].
fn check_basis(q: &[Vec<f64>], d: usize, against: &str) -> Result<()> {
    check_square("objective.basis", q, d, against)?;
    let (err, a, b) = dense::orthonormality_error(q);
    if err > dense::ORTHONORMAL_TOL {
        return Err(Error::invalid(
            "objective.basis",
            show_matrix(q),
            format!(
                "must have orthonormal columns (the eigenvectors): columns {a} and {b} have dot product off by \
                 {err:.3e} (tolerance {:e})",
                dense::ORTHONORMAL_TOL
            ),
        ));
    }
    Ok(())
}

/// A matrix for a message: its first rows.
pub fn show_matrix(m: &[Vec<f64>]) -> String {
    let rows: Vec<String> = m.iter().take(4).map(|r| show_reals(r)).collect();
    let more = if m.len() > 4 { format!(", ... ({} rows)", m.len()) } else { String::new() };
    format!("[{}{more}]", rows.join(", "))
}
