//! The orchestrator's integration tests: a run's plan, reduce and finalize on a local
//! store (`run`), the cloud path on an emulator (`cloud`, on `emulator`), and the
//! deployment template against the code (`template`).

mod cloud;
mod emulator;
mod run;
mod template;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
