// Stationary samples: a sampled state's sums (count, coordinates and loss, squares) and its
// histogram counts, one histogram per quantity (coordinates, then the loss) of BINS bins and an
// underflow and an overflow word. Counted in one of three places: per invocation (PRIV_HIST,
// src/shader/policy.rs private_hist_for; in the workgroup histogram's layout), in workgroup
// memory (USE_LOCAL_HIST), or by atomic adds to the global histogram; the first two are added
// to the next at the end of the dispatch (advance.wgsl). After the quantities' histograms come
// the 2-D histograms of the HIST_PAIRS coordinate pairs (PAIR{p}_I, PAIR{p}_J): PAIR_BINS² bins
// over the two coordinates' histogram box (x slow), then a word for the samples outside it.
// Requires: objective.wgsl, coefs.wgsl, and the kernel's `hist`, `grp`, `g_loss_lo`,
// `g_loss_inv_w`, NQ.

const HIST_STRIDE: u32 = BINS + 2u;
const PAIR_STRIDE: u32 = PAIR_BINS * PAIR_BINS + 1u;
// A group's histogram words (src/kernel/mod.rs KernelConsts::hist_words).
const HIST_WORDS: u32 = NQ * HIST_STRIDE + HIST_PAIRS * PAIR_STRIDE;
const LOCAL_HIST_WORDS: u32 = select(1u, HIST_WORDS, USE_LOCAL_HIST);
const PRIV_WORDS: u32 = select(1u, HIST_WORDS, PRIV_HIST);

var<workgroup> wg_hist: array<atomic<u32>, LOCAL_HIST_WORDS>;
var<private> priv_hist: array<u32, PRIV_WORDS>;

fn bin_of(v: f32, lo: f32, inv_w: f32) -> u32 {
    let u = (v - lo) * inv_w;
    let idx = u32(clamp(u, 0.0, f32(BINS)));
    return select(select(idx, BINS + 1u, u >= f32(BINS)), BINS, u < 0.0);
}

// The bin of (x_i, x_j) in their 2-D histogram: the 1-D bins of each coordinate scaled by
// PAIR_SCALE = PAIR_BINS / BINS; PAIR_BINS² (the outside word) off the box.
fn pair_bin(xi: f32, i: u32, xj: f32, j: u32, m: ptr<function, ModelCoefs>) -> u32 {
    let u = (xi - cf_hist_lo(m, i)) * (cf_hist_inv_w(m, i) * PAIR_SCALE);
    let v = (xj - cf_hist_lo(m, j)) * (cf_hist_inv_w(m, j) * PAIR_SCALE);
    let b = f32(PAIR_BINS);
    let inside = (u >= 0.0) & (u < b) & (v >= 0.0) & (v < b);
    return select(PAIR_BINS * PAIR_BINS, u32(u) * PAIR_BINS + u32(v), inside);
}

fn hist_add(word: u32) {
    if (PRIV_HIST) {
        priv_hist[word] += 1u;
    } else if (USE_LOCAL_HIST) {
        atomicAdd(&wg_hist[word], 1u);
    } else {
        atomicAdd(&hist[grp * HIST_WORDS + word], 1u);
    }
}

// One stationary sample of state x (finite states of live paths only): sums and histogram.
fn sample(x: ptr<function, array<f32, DIM>>, live_path: bool, m: ptr<function, ModelCoefs>,
          s1: ptr<function, array<f32, NQ>>, s2: ptr<function, array<f32, DIM>>, ns: ptr<function, f32>) {
    let loss = loss_of(x, m);
    if (live_path && is_finite_bits(loss)) {
        *ns += 1.0;
        for (var i = 0u; i < DIM; i += 1u) {
            let y = (*x)[i] - cf_c(m, i);
            (*s1)[i] += y;
            (*s2)[i] += y * y;
            hist_add(i * HIST_STRIDE + bin_of((*x)[i], cf_hist_lo(m, i), cf_hist_inv_w(m, i)));
        }
#for p in 0..HIST_PAIRS
        hist_add(NQ * HIST_STRIDE + {p}u * PAIR_STRIDE + pair_bin((*x)[PAIR{p}_I], PAIR{p}_I, (*x)[PAIR{p}_J], PAIR{p}_J, m));
#endfor
        if (CROSS > 0u) {
            cross_add(x, m);
        }
        (*s1)[DIM] += loss;
        hist_add(DIM * HIST_STRIDE + bin_of(loss, g_loss_lo, g_loss_inv_w));
    }
}
