//! Shared by the integration tests; each test uses what it needs.
#![allow(dead_code)]

pub mod case;
pub mod postgres;
