//! Shared fixtures for the criterion benches live in the bench targets themselves.
