//! Reading the interchange files of a folder into core's parsed form.

use std::path::Path;

use anyhow::Context;
use ledger_core::import::RegistryFiles;
use ledger_core::interchange::{self, InputError};

/// A failure to read the input: the run stops with exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Form(#[from] InputError),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// The bytes of `dir/name`, or `None` when the file does not exist.
pub fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ReadError::Io(anyhow::Error::new(e).context(format!("cannot read {}", path.display())))),
    }
}

fn parse<T>(dir: &Path, name: &str, parse: fn(&[u8]) -> Result<Vec<T>, InputError>) -> Result<Vec<T>, ReadError> {
    Ok(read_optional(dir, name)?.map(|bytes| parse(&bytes)).transpose()?.unwrap_or_default())
}

/// The registry files of `dir` (absent files are empty) and the journal's bytes, if any.
pub fn read_city(dir: &Path) -> Result<(RegistryFiles, Option<Vec<u8>>), ReadError> {
    Ok((read_city_registry(dir)?, read_optional(dir, interchange::JOURNAL_FILE)?))
}

/// The registry files of `dir`; absent files are empty.
pub fn read_city_registry(dir: &Path) -> Result<RegistryFiles, ReadError> {
    if !dir.is_dir() {
        return Err(ReadError::Io(anyhow::anyhow!("{} is not a folder", dir.display())));
    }
    Ok(RegistryFiles {
        estates: parse(dir, interchange::ESTATES_FILE, interchange::read_estates)?,
        buildings: parse(dir, interchange::BUILDINGS_FILE, interchange::read_buildings)?,
        units: parse(dir, interchange::UNITS_FILE, interchange::read_units)?,
    })
}

pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
