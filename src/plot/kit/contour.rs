//! Contour lines of a function sampled on a grid (marching squares), for landscapes drawn under
//! paths: levels at quantiles of the sampled values, so that any landscape (a quadratic, two
//! wells, a curved valley) gets lines where its values are, and segments per level.

/// A function sampled on the grid `xs × ys`: `values[j * xs.len() + i]` at `(xs[i], ys[j])`.
pub struct Grid {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub values: Vec<f64>,
}

/// A line segment between two points.
pub type Segment = [(f64, f64); 2];

impl Grid {
    /// `f` at `n × n` points spanning `x × y` (n ≥ 2).
    pub fn sample(x: std::ops::Range<f64>, y: std::ops::Range<f64>, n: usize, f: impl Fn(f64, f64) -> f64) -> Grid {
        let n = n.max(2);
        let at = |r: &std::ops::Range<f64>, k: usize| r.start + (r.end - r.start) * k as f64 / (n - 1) as f64;
        let xs: Vec<f64> = (0..n).map(|k| at(&x, k)).collect();
        let ys: Vec<f64> = (0..n).map(|k| at(&y, k)).collect();
        let values = ys.iter().flat_map(|&yv| xs.iter().map(move |&xv| (xv, yv))).map(|(a, b)| f(a, b)).collect();
        Grid { xs, ys, values }
    }

    /// `count` levels at the quantiles (k + ½)/count of the finite values (fewer when values
    /// repeat; none when there are none).
    pub fn quantile_levels(&self, count: usize) -> Vec<f64> {
        let mut v: Vec<f64> = self.values.iter().copied().filter(|v| v.is_finite()).collect();
        if v.is_empty() || count == 0 {
            return Vec::new();
        }
        v.sort_by(f64::total_cmp);
        let mut levels: Vec<f64> =
            (0..count).map(|k| v[(((k as f64 + 0.5) / count as f64) * v.len() as f64) as usize]).collect();
        levels.dedup();
        levels
    }

    /// The segments of the contour `f = level`; cells with a non-finite corner are left out. A
    /// cell whose corners alternate (a saddle) is resolved by the mean of its corners.
    pub fn contour(&self, level: f64) -> Vec<Segment> {
        let (nx, ny) = (self.xs.len(), self.ys.len());
        let mut out = Vec::new();
        for j in 0..ny.saturating_sub(1) {
            for i in 0..nx.saturating_sub(1) {
                // Corners counter-clockwise from the lower left: a, b, c, d.
                let corner =
                    |di: usize, dj: usize| ((self.xs[i + di], self.ys[j + dj]), self.values[(j + dj) * nx + i + di]);
                let cs = [corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)];
                if cs.iter().any(|c| !c.1.is_finite()) {
                    continue;
                }
                // The crossing on each edge (bottom, right, top, left), if the level crosses it.
                let cross = |e: usize| {
                    let ((p, u), (q, w)) = (cs[e], cs[(e + 1) % 4]);
                    ((u < level) != (w < level)).then(|| {
                        let s = (level - u) / (w - u);
                        (p.0 + s * (q.0 - p.0), p.1 + s * (q.1 - p.1))
                    })
                };
                let edges: Vec<(usize, (f64, f64))> = (0..4).filter_map(|e| cross(e).map(|p| (e, p))).collect();
                match edges.len() {
                    2 => out.push([edges[0].1, edges[1].1]),
                    4 => {
                        let mean = cs.iter().map(|c| c.1).sum::<f64>() / 4.0;
                        let p = |e: usize| edges[e].1;
                        if (mean < level) == (cs[0].1 < level) {
                            // a and c joined through the centre: cut off the corners b and d.
                            out.push([p(0), p(1)]);
                            out.push([p(2), p(3)]);
                        } else {
                            // b and d joined: cut off the corners a and c.
                            out.push([p(3), p(0)]);
                            out.push([p(1), p(2)]);
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contours of x² + y² are circles: every segment's ends lie on the circle of the level
    /// to the grid's linear-interpolation error.
    #[test]
    fn circles_come_out_as_circles() {
        let g = Grid::sample(-1.0..1.0, -1.0..1.0, 81, |x, y| x * x + y * y);
        let levels = g.quantile_levels(5);
        assert_eq!(levels.len(), 5);
        assert!(levels.windows(2).all(|w| w[0] < w[1]), "{levels:?}");
        for level in [0.25, 0.5] {
            let segs = g.contour(level);
            assert!(segs.len() > 40, "level {level}: {} segments", segs.len());
            for s in segs {
                for (x, y) in s {
                    let r = (x * x + y * y).sqrt();
                    assert!((r - level.sqrt()).abs() < 2e-3, "level {level}: ({x}, {y}) at radius {r}");
                }
            }
        }
        assert!(g.contour(3.0).is_empty(), "a level above every value has no line");
    }

    /// A saddle cell gives two segments, and non-finite corners drop their cells.
    #[test]
    fn saddles_and_holes() {
        let g = Grid { xs: vec![0.0, 1.0], ys: vec![0.0, 1.0], values: vec![1.0, 0.0, 1.0, 0.0] };
        assert_eq!(g.contour(0.5).len(), 1);
        let g = Grid { xs: vec![0.0, 1.0], ys: vec![0.0, 1.0], values: vec![1.0, 0.0, 0.0, 1.0] };
        assert_eq!(g.contour(0.5).len(), 2);
        let g = Grid { xs: vec![0.0, 1.0], ys: vec![0.0, 1.0], values: vec![1.0, f64::NAN, 0.0, 1.0] };
        assert!(g.contour(0.5).is_empty());
    }
}
