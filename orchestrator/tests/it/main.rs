//! The orchestrator's integration tests: a run's plan, reduce and finalize on a local
//! store (`run`), the cloud path on an emulator (`cloud`, on `emulator`), the
//! deployment template against the code (`template`), and IAM as AWS enforces it
//! (`iam`: statically, and on an emulator with enforcement on).

mod calibration;
mod cloud;
mod emulator;
mod iam;
mod run;
mod template;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
