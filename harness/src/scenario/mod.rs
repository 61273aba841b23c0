//! Scenario files: a TOML suite of workloads × sizes × targets × contexts × repetitions,
//! validated against a caller-supplied [`Catalog`], with `file:line:column` errors naming the key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

mod names;
mod parse;
mod validate;
mod vocabulary;

pub use names::*;
pub use parse::*;
pub use vocabulary::*;

#[cfg(test)]
mod tests;
