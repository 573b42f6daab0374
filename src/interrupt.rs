//! A graceful stop on SIGINT and SIGTERM: the first signal sets a flag that the run polls after
//! every segment (see [`crate::plan::Checkpoint::stop`]); the run then writes a last consistent
//! snapshot and returns [`crate::Error::Interrupted`], and the program exits with
//! 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process
//! killed by it. A second signal, while the stop is under way, exits at once with that status
//! (the last whole snapshot stays readable: snapshots are checked by their manifest).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

/// The installed handlers' shared state.
pub struct StopSignal {
    requested: Arc<AtomicBool>,
}

/// The number of the last stop signal that arrived (0: none), shared by every installed handler.
static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// The signals that ask a run to stop.
#[cfg(unix)]
const SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
#[cfg(not(unix))]
const SIGNALS: [i32; 1] = [signal_hook::consts::SIGINT];

impl StopSignal {
    /// Install the handlers (once per run; later installs add handlers that share nothing).
    pub fn install() -> Result<StopSignal> {
        let requested = Arc::new(AtomicBool::new(false));
        let signal = SIGNAL.get_or_init(|| Arc::new(AtomicUsize::new(0)));
        for sig in SIGNALS {
            let fail = |source| Error::Io {
                action: "cannot install the stop handler of",
                path: format!("signal {sig}").into(),
                source,
            };
            // The shutdown must be registered first: it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&requested)).map_err(fail)?;
            signal_hook::flag::register_usize(sig, Arc::clone(signal), sig as usize).map_err(fail)?;
            signal_hook::flag::register(sig, Arc::clone(&requested)).map_err(fail)?;
        }
        Ok(StopSignal { requested })
    }

    /// The flag the run polls.
    pub fn flag(&self) -> &AtomicBool {
        &self.requested
    }
}

/// The exit status for the stop signal that arrived (128 + its number), if one did.
pub fn exit_status() -> Option<u8> {
    match SIGNAL.get()?.load(Ordering::SeqCst) {
        0 => None,
        s => Some(u8::try_from(128 + s).unwrap_or(u8::MAX)),
    }
}
