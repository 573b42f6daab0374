//! Numerical tests of the compiled formulas: the symbolic gradient and HVP against f64
//! central differences, the f32 lane interpreter against the f64 reference, and naga
//! validation of the emitted WGSL in a small kernel.

use super::*;

/// Formulas, their d, and the box random points are drawn from.
fn cases() -> Vec<(&'static str, usize, f64)> {
    vec![
        ("sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)", 4, 2.0),
        ("sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)", 32, 2.0),
        ("0.25*(x0^2 - 1)^2 + 0.1*x0", 1, 2.0),
        ("sum(i, c[i]*cosh(x[i])) + a*x0^-2", 3, 2.0),
        (
            "exp(0.3*x0) + log(1 + x1^2) + sqrt(2 + x2) + sin(x0*x1) + cos(x2) + tanh(x1 - x0) \
             + cosh(0.5*x2) + sinh(0.2*x0) + abs(x1) + min(x0, x2^2) + max(x1, 0.5*x0) \
             + (1 + x0^2)^1.5 + 2^x1 + (1 + x2^2)^a / (3 + x0^4)",
            3,
            1.5,
        ),
    ]
}

fn params(f: &Formula) -> Vec<(String, Vec<f64>)> {
    let d = f.dim();
    vec![("a".into(), vec![2.0]), ("c".into(), (0..d).map(|i| 0.5 + 0.1 * i as f64).collect())]
}

fn compile_case(text: &str, d: usize) -> Formula {
    let decl = [("a".to_string(), ParamShape::Scalar), ("c".to_string(), ParamShape::Vector)];
    Formula::compile(text, Some(d), &decl).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Random points away from the kinks of abs/min/max and from 0 (x^-2).
fn points(d: usize, r: f64, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            (0..d)
                .map(|_| {
                    let v = r * (2.0 * next() - 1.0);
                    if v.abs() < 0.1 { v + 0.3 } else { v }
                })
                .collect()
        })
        .collect()
}

/// Central-difference step, relative to max(1, |x_i|).
const CD_STEP: f64 = 1e-5;
/// CD tolerance relative to 1 + max|expected|: the truncation h²|f‴|/6 with |f‴| ≲ 1e4 at
/// these points (Rosenbrock's 2400·x ≲ 5e3; the function mix's x^4 in a quotient) is ≲ 2e-7,
/// and the rounding ε·|f|/h ≈ 1.1e-16·1e4/1e-5 ≈ 1e-7 (|f| ≲ 1e4 in the box).
const CD_TOL: f64 = 2e-6;

#[test]
fn gradient_and_hvp_match_central_differences() {
    for (text, d, r) in cases() {
        let f = compile_case(text, d);
        let p = f.pack_params_f64(&params(&f)).unwrap();
        for (k, x) in points(d, r, 20, 11).into_iter().enumerate() {
            let g = f.gradient_f64(&x, &p);
            let v: Vec<f64> = points(d, 1.0, 1, 100 + k as u64).remove(0);
            let hv = f.hvp_f64(&x, &v, &p);
            // ∂f/∂x_i by central differences.
            let mut cd_g = vec![0.0; d];
            for i in 0..d {
                let h = CD_STEP * x[i].abs().max(1.0);
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i] += h;
                b[i] -= h;
                cd_g[i] = (f.loss_f64(&a, &p) - f.loss_f64(&b, &p)) / (2.0 * h);
            }
            // H·v by central differences of the gradient along v.
            let h = CD_STEP * x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let a: Vec<f64> = x.iter().zip(&v).map(|(x, v)| x + h * v).collect();
            let b: Vec<f64> = x.iter().zip(&v).map(|(x, v)| x - h * v).collect();
            let (ga, gb) = (f.gradient_f64(&a, &p), f.gradient_f64(&b, &p));
            let cd_hv: Vec<f64> = ga.iter().zip(&gb).map(|(a, b)| (a - b) / (2.0 * h)).collect();
            for (what, actual, expected) in [("gradient", &g, &cd_g), ("hvp", &hv, &cd_hv)] {
                let scale = 1.0 + expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for i in 0..d {
                    let diff = (actual[i] - expected[i]).abs();
                    assert!(
                        diff <= CD_TOL * scale,
                        "{text} (d = {d}) {what}[{i}] at {x:?}: actual {}, central difference {}, difference {diff:e}, tolerance {:e}",
                        actual[i],
                        expected[i],
                        CD_TOL * scale
                    );
                }
            }
        }
    }
}

/// f32 lanes against f64, relative to 1 + max|expected| of each output vector: f32's unit
/// roundoff is 6e-8 and a tape rounds some tens of times along any path from x to an output,
/// relative to intermediates at most ~10× the outputs at these points (Rosenbrock's
/// 100·(x1 − x0²)² cancels in its gradient), so 2e-5 leaves room.
const LANES_TOL: f64 = 2e-5;

fn lanes_match_f64<const FMA: bool>() {
    const L: usize = 8;
    let mut regs = Vec::new();
    for (text, d, r) in cases() {
        let f = compile_case(text, d);
        let pv = params(&f);
        let (p32, p64) = (f.pack_params(&pv).unwrap(), f.pack_params_f64(&pv).unwrap());
        let xs = points(d, r, L, 5);
        let vs = points(d, 1.0, L, 6);
        // Round the points to f32 first: both evaluators see the same x.
        let xs: Vec<Vec<f64>> = xs.iter().map(|x| x.iter().map(|v| *v as f32 as f64).collect()).collect();
        let vs: Vec<Vec<f64>> = vs.iter().map(|x| x.iter().map(|v| *v as f32 as f64).collect()).collect();
        let lanes = |pts: &Vec<Vec<f64>>| -> Vec<[f32; L]> {
            (0..d).map(|i| std::array::from_fn(|l| pts[l][i] as f32)).collect()
        };
        let (xl, vl) = (lanes(&xs), lanes(&vs));
        let mut loss = [0.0; L];
        let mut g = vec![[0.0; L]; d];
        let mut hv = vec![[0.0; L]; d];
        f.loss_lanes::<FMA, L>(&xl, &p32, &mut loss, &mut regs);
        f.gradient_lanes::<FMA, L>(&xl, &p32, &mut g, &mut regs);
        f.hvp_lanes::<FMA, L>(&xl, &vl, &p32, &mut hv, &mut regs);
        for l in 0..L {
            let e_loss = vec![f.loss_f64(&xs[l], &p64)];
            let e_g = f.gradient_f64(&xs[l], &p64);
            let e_hv = f.hvp_f64(&xs[l], &vs[l], &p64);
            let a_loss = vec![loss[l] as f64];
            let a_g: Vec<f64> = (0..d).map(|i| g[i][l] as f64).collect();
            let a_hv: Vec<f64> = (0..d).map(|i| hv[i][l] as f64).collect();
            for (what, actual, expected) in [("loss", a_loss, e_loss), ("gradient", a_g, e_g), ("hvp", a_hv, e_hv)] {
                let scale = 1.0 + expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for i in 0..expected.len() {
                    let diff = (actual[i] - expected[i]).abs();
                    assert!(
                        diff <= LANES_TOL * scale,
                        "{text} (FMA = {FMA}) lane {l} {what}[{i}]: actual {}, expected {}, difference {diff:e}, tolerance {:e}",
                        actual[i],
                        expected[i],
                        LANES_TOL * scale
                    );
                }
            }
        }
    }
}

#[test]
fn lanes_match_f64_split() {
    lanes_match_f64::<false>();
}

#[test]
fn lanes_match_f64_fused() {
    lanes_match_f64::<true>();
}

/// The emitted functions in a small module: DIM, a parameter binding and `obj_param`, the
/// shared math files, and an entry point calling all three.
pub fn validation_module(f: &Formula) -> String {
    format!(
        "const DIM: u32 = {}u;\n\
         @group(0) @binding(0) var<storage, read_write> prm: array<f32>;\n\
         fn obj_param(k: u32) -> f32 {{ return prm[k]; }}\n\
         fn fx_opaque_zero() -> u32 {{ return bitcast<u32>(prm[0]) & 0u; }}\n\
         {}\n{}\n{}\n\
         @compute @workgroup_size(1)\n\
         fn main() {{\n\
             var x: array<f32, DIM>;\n\
             var v: array<f32, DIM>;\n\
             var g: array<f32, DIM>;\n\
             var hv: array<f32, DIM>;\n\
             prm[0] = formula_loss(&x);\n\
             formula_gradient(&x, &g);\n\
             formula_hvp(&x, &v, &hv);\n\
             prm[1] = g[0] + hv[0];\n\
         }}\n",
        f.dim(),
        include_str!("../../../shaders/shared/math.wgsl"),
        include_str!("../../../shaders/shared/formula_math.wgsl"),
        f.wgsl()
    )
}

#[test]
fn emitted_wgsl_validates_with_naga() {
    for (text, d, _) in cases() {
        let f = compile_case(text, d);
        let src = validation_module(&f);
        let module =
            naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{text}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{text}: {e:?}"));
    }
}

#[test]
fn wgsl_constants_round_trip() {
    let f = compile_case("0.1*x0 + 1e-3 - 3.4028235e38*x0^0", 1);
    let w = f.wgsl();
    for c in [0.1f32, 1e-3, 3.402_823_5e38] {
        assert!(w.contains(&format!("bitcast<f32>({:#010x}u)", c.to_bits())), "{c} in\n{w}");
    }
    assert!(!w.contains("fma("), "the tapes have no multiply-adds:\n{w}");
}
