//! `--format stix` for `run` and `report`: the conclusions as one STIX 2.1 bundle,
//! printed or written all or nothing into an output directory.

use std::path::PathBuf;

use super::output_dir::{OutputError, Staging};
use crate::diagnostic::Diagnostic;
use crate::eval::Model;
use crate::program::Program;
use crate::report::{ReportError, ReportOptions};

/// The file a bundle is written to inside `--output DIR`: a `.json` file, so that
/// `--facts DIR` loads it back as a STIX bundle.
pub const BUNDLE_FILE: &str = "conclusions.stix.json";

/// The bundle of the conclusions `options` select, as of `as_of` (else the latest
/// date of the inputs), or the diagnostic saying why there is none.
pub fn bundle(
    program: &Program,
    model: &Model,
    options: &ReportOptions,
    as_of: Option<i32>,
) -> Result<String, Box<Diagnostic>> {
    let day = as_of.unwrap_or_else(|| crate::export::latest_day(program));
    match crate::export::stix(program, model, options, day) {
        Ok(conclusions) => Ok(crate::io::export::stix::bundle(&conclusions)),
        Err(error @ ReportError::NoHypotheses) => Err(Box::new(Diagnostic::error_unplaced("E0361", format!("cannot export STIX: {error}"))
            .with_note("a STIX bundle holds the attributions: the facts of the `@hypothesis` relations, one `attributed-to` relationship each")
            .with_help("declare the candidate relations with `@hypothesis(\"responsible group\") rel conducted_by(incident: sym, group: sym).`, or name them with `report --hypothesis REL`"))),
        Err(error @ ReportError::NoIncidentColumn(_)) => Err(Box::new(Diagnostic::error_unplaced("E0361", format!("cannot export STIX: {error}"))
            .with_help("a hypothesis relation names the incident in its first column"))),
    }
}

/// Writes `bundle` as [`BUNDLE_FILE`] into the output directory `dir`, all or nothing
/// (see [`super::output_dir`]); `inputs` are the rule and fact paths, never written.
pub fn write(dir: &std::path::Path, inputs: &[PathBuf], bundle: &str) -> Result<(), OutputError> {
    let mut staging = Staging::begin(dir, inputs)?;
    let mut file = staging.create(BUNDLE_FILE)?;
    file.write_all(bundle.as_bytes())?;
    file.finish()?;
    staging.commit()
}

/// A usage error of `--format stix`.
pub fn usage(code: &'static str, message: &str, help: &str) -> Diagnostic {
    Diagnostic::error_unplaced(code, message.to_owned()).with_help(help.to_owned())
}
