//! `run --engine dataflow`: the hosts file, the backend's refusals and failures as
//! diagnostics, and the evaluation on timely workers.

use std::path::Path;

use super::args::{EngineArgs, EvalArgs};
use super::{limit_diagnostic, Session, EXIT_INPUT, EXIT_USAGE};
use crate::dataflow::{self, Cluster, Options};
use crate::diagnostic::Diagnostic;
use crate::eval::{Limits, Model};
use crate::program::Program;

/// The most processes a hosts file may name.
const MAX_HOSTS: usize = 1024;

impl Session {
    /// Evaluates on differential dataflow: `Ok(None)` on a process that is not the
    /// first of a cluster (the first gathers the model), `Err` with the exit code after
    /// reporting why there is no model.
    pub(super) fn evaluate_dataflow(
        &self,
        program: &Program,
        eval: &EvalArgs,
        engine: &EngineArgs,
    ) -> Result<Option<Model>, i32> {
        let cluster = match (&engine.hosts, engine.process) {
            (Some(path), Some(process)) => match read_hosts(path, process) {
                Ok(addresses) => Some(Cluster { process, addresses }),
                Err(message) => {
                    self.report(&[Diagnostic::error_unplaced("E0374", message).with_help(
                        "write one `host:port` per line, the same file for every process, and give each process its line number from 0 with `--process`",
                    )]);
                    return Err(EXIT_USAGE);
                }
            },
            _ => None,
        };
        let options = Options {
            workers: engine
                .workers
                .or(eval.threads)
                .unwrap_or_else(crate::eval::available_threads),
            cluster,
        };
        let limits = Limits {
            max_facts: eval.limits.max_facts,
            timeout: eval.limits.timeout,
            max_memory: eval
                .limits
                .max_memory
                .map(|mib| mib.saturating_mul(1024 * 1024)),
        };
        let refused = dataflow::unsupported(program, &limits, &options);
        if !refused.is_empty() {
            self.report(&refused);
            return Err(EXIT_INPUT);
        }
        quiet_worker_panics();
        match dataflow::evaluate(program, &options, &limits) {
            Ok(model) => Ok(model),
            Err(dataflow::Error::Limit(stopped)) => {
                self.report(&[limit_diagnostic(program, &stopped)]);
                Err(EXIT_INPUT)
            }
            Err(dataflow::Error::Workers(message)) => {
                self.report(&[Diagnostic::error_unplaced(
                    "E0373",
                    format!("the dataflow workers stopped without a result: {message}"),
                )
                .with_note("with `--hosts`, every process must run until the end: one that exits or loses its connection stops them all")
                .with_help("start every process again; check that each can reach the others' addresses")]);
                Err(EXIT_INPUT)
            }
        }
    }
}

/// Timely's threads report a lost peer by panicking; the evaluation reports it as an
/// error of its own, so their panic messages are not printed.
pub(super) fn quiet_worker_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let timely = std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("timely"))
                || info
                    .location()
                    .is_some_and(|at| at.file().contains("timely"));
            if !timely {
                previous(info);
            }
        }));
    });
}

/// The addresses of a hosts file, checked: one `host:port` a line (blank lines and `#`
/// comments skipped), at least one, and `process` one of them.
fn read_hosts(path: &Path, process: usize) -> Result<Vec<String>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{shown}: cannot read the hosts file: {e}"))?;
    let mut addresses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let column = line.find(entry).map_or(1, |at| at + 1);
        let port = entry
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(_))) if !host.is_empty() && !entry.contains(char::is_whitespace) => {}
            _ => {
                return Err(format!(
                    "{shown}:{}:{column}: `{entry}` is not an address: write `host:port`, e.g. 127.0.0.1:2101",
                    n + 1
                ))
            }
        }
        if addresses.len() == MAX_HOSTS {
            return Err(format!(
                "{shown}:{}:{column}: more than {MAX_HOSTS} processes",
                n + 1
            ));
        }
        addresses.push(entry.to_string());
    }
    if addresses.is_empty() {
        return Err(format!("{shown}:1:1: the hosts file names no process"));
    }
    if process >= addresses.len() {
        return Err(format!(
            "--process {process}: {shown} names {} process{}, numbered from 0",
            addresses.len(),
            if addresses.len() == 1 { "" } else { "es" }
        ));
    }
    Ok(addresses)
}
