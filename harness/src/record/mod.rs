//! Records: one tidy row per case and metric, and every raw sample, written as they are produced.
//! Also the reader, which names the file and line of anything it cannot use.

use crate::stats::{self, Summary};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

mod read;
mod repair;
mod schema;
mod write;

pub use read::*;
pub use repair::*;
pub use schema::*;
pub use write::*;

#[cfg(test)]
mod tests;
