//! The order p of a weak error in η: the least-squares slope of ln(weak error) on ln η, with
//! its standard error propagated from each point's relative standard error, and whether the
//! Monte Carlo noise lets the fit say anything.
//!
//! **When a fit is resolved.** A fitted p is reported as a result only when both hold:
//! * every weak error of the fit is at least [`RESOLVED_Z`] = 3 of its standard errors from
//!   zero. A weak error is a maximum of |gap| over records, so with no real gap it is the largest
//!   of many noise values and lands near 2–3 SE by itself; below 3 SE the point is mostly noise,
//!   and ln of it (relative error 1/z) carries no information about η.
//! * the order's standard error is at most [`RESOLVED_ORDER_SE`] = 0.25, so p ± 2 SE spans at
//!   most one unit and tells apart the orders a researcher asks about (½, 1, 3/2, 2). A test of
//!   |p| > 2 SE alone would call a well-measured p ≈ 0 (a gap that does not shrink, such as the
//!   P7 SDE's far from its assumptions) unresolved, and a badly measured p = 3 ± 1.2 resolved.
//!
//! Standard errors fall as 1/√paths, so the paths factor that would meet both conditions, were
//! the weak errors what was measured, is max((3/z_min)², (SE(p)/0.25)²); an unresolved fit
//! states it (a lower bound when the errors are noise, whose true values are smaller). Fits
//! without standard errors (the variance gaps) are not judged and not marked resolved.

use super::report::{ComparePoint, OrderFit, RESOLVED_Z};
use crate::experiment::{ModelKind, round_to_15_digits};

/// Largest standard error of a resolved order.
pub const RESOLVED_ORDER_SE: f64 = 0.25;

/// Per SDE of `sdes` (in the order of each point's `sdes`) and quantity (the loss, the largest
/// coordinate's mean, the largest coordinate's variance), the order over `points`; none with
/// fewer than two η.
pub fn fit_orders(sdes: &[ModelKind], points: &[ComparePoint]) -> Vec<OrderFit> {
    let mut orders = Vec::new();
    if points.len() >= 2 {
        for (j, kind) in sdes.iter().enumerate() {
            let etas: Vec<f64> = points.iter().map(|p| p.eta).collect();
            for quantity in ["loss", "mean", "var"] {
                let (errors, ses): (Vec<f64>, Vec<f64>) = points
                    .iter()
                    .map(|p| {
                        let c = &p.sdes[j];
                        match quantity {
                            "loss" => (c.weak_loss, c.weak_loss_se),
                            "mean" => c.weak_mean_peak(),
                            _ => (c.weak_var_max(), f64::NAN),
                        }
                    })
                    .unzip();
                let (order, order_se) = fit_order(&etas, &errors, &ses);
                let (order_resolved, order_note) = judge(&errors, &ses, order, order_se);
                orders.push(OrderFit {
                    model: kind.name(),
                    quantity,
                    etas: etas.clone(),
                    errors,
                    errors_se: ses,
                    order,
                    order_se,
                    order_resolved,
                    order_note,
                });
            }
        }
    }
    orders
}

/// Least-squares slope of ln y on ln x, and its standard error from the relative errors
/// se_i/y_i of the points (NaN when fewer than two points or any y is not positive).
pub fn fit_order(x: &[f64], y: &[f64], se: &[f64]) -> (f64, f64) {
    if x.len() < 2 || y.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return (f64::NAN, f64::NAN);
    }
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    let slope = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / sxx;
    let var: f64 = lx.iter().zip(y).zip(se).map(|((a, v), s)| ((a - mx) / sxx).powi(2) * (s / v).powi(2)).sum();
    (slope, var.sqrt())
}

/// Whether a fit of `order` ± `order_se` to `errors` ± `ses` is resolved (the module docs' rule),
/// and the sentence that says why or why not.
pub fn judge(errors: &[f64], ses: &[f64], order: f64, order_se: f64) -> (bool, String) {
    if !order.is_finite() {
        return (false, "no fit: a weak error is 0 or not finite".into());
    }
    if !(order_se.is_finite() && ses.iter().all(|s| s.is_finite() && *s > 0.0)) {
        return (false, "not judged: these weak errors have no standard error".into());
    }
    let z_min = errors.iter().zip(ses).map(|(e, s)| e / s).fold(f64::INFINITY, f64::min);
    let paths_factor = ((RESOLVED_Z / z_min).powi(2)).max((order_se / RESOLVED_ORDER_SE).powi(2));
    // Rounded first: (3 / 1.5)² is 4, not the 4.000000000000001 of 3e-4 / 1e-4 = 2.9999999999999996.
    let raise = format!("raise --paths (≈ {}× for a resolved fit)", round_to_15_digits(paths_factor).ceil());
    if z_min < RESOLVED_Z {
        (
            false,
            format!(
                "within noise: the weak errors are not resolved from zero at this path count (the smallest is \
                 {z_min:.1} SE, under {RESOLVED_Z}); {raise}"
            ),
        )
    } else if order_se > RESOLVED_ORDER_SE {
        (
            false,
            format!(
                "not determined: SE(p) = {order_se:.2} > {RESOLVED_ORDER_SE} although every weak error is {RESOLVED_Z} \
                 SE or more from zero; {raise}, or spread the etas wider"
            ),
        )
    } else {
        (
            true,
            format!(
                "resolved: every weak error is {z_min:.1} SE or more from zero and SE(p) = {order_se:.3} <= \
                 {RESOLVED_ORDER_SE}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_order_recovers_a_power_law() {
        let x = [4e-3, 2e-3, 1e-3];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(1.5)).collect();
        let (p, se) = fit_order(&x, &y, &[0.0; 3]);
        assert!((p - 1.5).abs() < 1e-12 && se == 0.0, "{p} {se}");
        assert!(fit_order(&x, &[1.0, 0.0, 1.0], &[0.0; 3]).0.is_nan());
    }

    #[test]
    fn judge_needs_resolved_errors_and_a_small_order_se() {
        let (ok, note) = judge(&[4e-3, 2e-3], &[1e-4, 1e-4], 1.0, 0.1);
        assert!(ok && note.starts_with("resolved: every weak error is 20.0 SE"), "{note}");
        // 1.5 SE: (3 / 1.5)² = 4 times the paths.
        let (ok, note) = judge(&[3e-4, 1.5e-4], &[1e-4, 1e-4], 1.0, 0.2);
        assert!(!ok && note.starts_with("within noise") && note.contains("≈ 4×"), "{note}");
        // Resolved errors, SE(p) = 0.5: (0.5 / 0.25)² = 4 times the paths.
        let (ok, note) = judge(&[4e-3, 2e-3], &[1e-4, 1e-4], 1.0, 0.5);
        assert!(!ok && note.starts_with("not determined") && note.contains("≈ 4×"), "{note}");
        assert!(!judge(&[4e-3, 2e-3], &[f64::NAN; 2], 1.0, f64::NAN).0);
        assert!(!judge(&[4e-3, 0.0], &[1e-4; 2], f64::NAN, f64::NAN).0);
    }
}
