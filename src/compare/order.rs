//! The order p of a weak error in η: the least-squares slope of ln(weak error) on ln η, with
//! its standard error propagated from each point's relative standard error.

use super::report::{ComparePoint, OrderFit};
use crate::experiment::ModelKind;

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
                orders.push(OrderFit { model: kind.name(), quantity, etas: etas.clone(), errors, order, order_se });
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
}
