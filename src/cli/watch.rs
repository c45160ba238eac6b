//! `ascribe watch`: a dataflow kept alive over the rules and facts given, changed by
//! batches of facts added and retracted on standard input, each batch answered on
//! standard output with the conclusions that appeared, disappeared or changed.
//!
//! A batch is a run of lines ended by a blank line (or the end of input). A line that
//! starts with `+` adds the facts written after it, one that starts with `-` retracts
//! them (by values: every confidence the tuple was given); facts are written as in a
//! `.facts` file, annotations and all, and may go on over several lines. A batch with
//! an error changes nothing and says so.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Instant;

use super::args::WatchArgs;
use super::{Out, Session, EXIT_INPUT, EXIT_OK};
use crate::dataflow::watch::{Applied, Update, Watcher};
use crate::dataflow::{self, Options};
use crate::diagnostic::{Diagnostic, SourceId, Sources};
use crate::eval::{FactId, Limits, Model};
use crate::explain::{self, render};
use crate::program::{PredId, Program};
use crate::syntax::ast;

/// A batch's text may hold at most this many bytes; a longer one is refused whole.
const MAX_BATCH_BYTES: usize = 256 << 20;

/// Whether a change is an addition or a retraction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Add,
    Retract,
}

/// One batch as read: its text with the signs blanked out, and where each sign was.
struct Batch {
    text: String,
    /// Byte offset of each signed line's start in `text`, with its sign, ascending.
    signs: Vec<(usize, Sign)>,
    /// The first stdin line of the batch.
    first_line: usize,
}

impl Session {
    /// `ascribe watch`.
    pub(super) fn watch(&mut self, args: &WatchArgs, out: &mut Out) -> io::Result<i32> {
        let mut program = match self.load(&args.input.rules, &args.input.facts) {
            Ok(program) => program,
            Err(code) => return Ok(code),
        };
        for name in &args.relations {
            if program.predicate_id(name).is_none() {
                let names = program.predicates().iter().map(|p| p.name.as_str());
                let hint = crate::diagnostic::suggest(name, names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                eprintln!("error: --relation {name}: no such relation{hint}");
                return Ok(super::EXIT_USAGE);
            }
        }
        let options = Options {
            workers: args.workers.unwrap_or_else(crate::eval::available_threads),
            cluster: None,
        };
        let limits = Limits {
            max_facts: args.max_facts,
            ..Limits::default()
        };
        let refused = dataflow::unsupported(&program, &limits, &options);
        if !refused.is_empty() {
            self.report(&refused);
            return Ok(EXIT_INPUT);
        }
        let base = rule_modules(&self.sources);
        let shown: Vec<PredId> = super::output::select(&program, &args.relations, args.all);
        super::dataflow::quiet_worker_panics();
        let started = Instant::now();
        let mut watcher = match Watcher::start(&program, &options, &limits) {
            Ok(watcher) => watcher,
            Err(error) => return Ok(self.watch_failed(&program, error)),
        };
        if !self.quiet {
            eprintln!(
                "watching: {} input facts, {} facts in all, evaluated in {:.2} s on {} worker{}; give changes on standard input (`+ fact.` adds, `- fact.` retracts, a blank line applies them)",
                super::progress::grouped(program.facts().len()),
                super::progress::grouped(watcher.len()),
                started.elapsed().as_secs_f64(),
                options.workers,
                if options.workers == 1 { "" } else { "s" }
            );
        }
        if args.initial {
            let mut text = String::from("batch 0: the input as loaded\n");
            let model = self.watch_model(&mut program, &watcher, args.explain);
            let mut facts: Vec<(String, FactId)> = Vec::new();
            for &p in &shown {
                for fact in model.sorted_facts(p) {
                    let line = format!(
                        "{}  [{}]",
                        explain::fact_text(&program, model.interner(), p, model.tuple(fact)),
                        render::confidence(model.confidence(fact))
                    );
                    facts.push((line, fact));
                }
            }
            let explained = self.explained(&program, model, &facts, args.explain);
            for ((line, _), tree) in facts.iter().zip(explained) {
                text.push_str(&format!("+ {line}\n"));
                text.push_str(&tree);
            }
            text.push('\n');
            out.write(&text)?;
            out.stdout.flush()?;
        }
        let stdin = io::stdin();
        let mut input = stdin.lock();
        let mut line_number = 0usize;
        let mut batches = 0usize;
        loop {
            let batch = match read_batch(&mut input, &mut line_number) {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(message) => {
                    batches += 1;
                    self.report(&[Diagnostic::error_unplaced("E0376", message).with_help(
                        "give changes as UTF-8 text, `+ fact.` or `- fact.` lines, a blank line after each batch",
                    )]);
                    out.write(&format!(
                        "batch {batches}: not applied, nothing changed\n\n"
                    ))?;
                    out.stdout.flush()?;
                    continue;
                }
            };
            batches += 1;
            let began = Instant::now();
            let updates = match self.read_updates(&mut program, &watcher, &base, &batch, batches) {
                Some(updates) => updates,
                None => {
                    out.write(&format!(
                        "batch {batches}: not applied, nothing changed\n\n"
                    ))?;
                    out.stdout.flush()?;
                    continue;
                }
            };
            let read = began.elapsed();
            let applied =
                match watcher.apply(&updates.iter().map(|u| u.1.clone()).collect::<Vec<_>>()) {
                    Ok(applied) => applied,
                    Err(error) => return Ok(self.watch_failed(&program, error)),
                };
            let took = began.elapsed();
            self.warn_absent(&program, &updates, &applied);
            if args.explain {
                self.keep_in_step(&mut program, &updates, &applied);
            }
            let text = self.changes(
                &mut program,
                &watcher,
                &shown,
                &applied,
                batches,
                args.explain,
            );
            out.write(&text)?;
            out.stdout.flush()?;
            if !self.quiet {
                eprintln!(
                    "batch {batches}: {} change{} applied in {:.1} ms ({:.1} ms reading them, {:.1} ms in the dataflow)",
                    updates.len(),
                    if updates.len() == 1 { "" } else { "s" },
                    took.as_secs_f64() * 1000.0,
                    read.as_secs_f64() * 1000.0,
                    (took - read).as_secs_f64() * 1000.0
                );
            }
        }
        if let Err(error) = watcher.close() {
            return Ok(self.watch_failed(&program, error));
        }
        Ok(EXIT_OK)
    }

    /// Reports why the watcher stopped; the exit code.
    fn watch_failed(&self, program: &Program, error: dataflow::Error) -> i32 {
        match error {
            dataflow::Error::Limit(stopped) => {
                self.report(&[super::limit_diagnostic(program, &stopped)]);
            }
            dataflow::Error::Workers(message) => {
                self.report(&[Diagnostic::error_unplaced(
                    "E0373",
                    format!("the dataflow workers stopped: {message}"),
                )
                .with_help("start `ascribe watch` again")]);
            }
        }
        EXIT_INPUT
    }

    /// The batch's facts, checked against the rules' declarations as fact files are,
    /// each with its sign and the span it was written at; `None` after reporting why
    /// the batch is refused.
    fn read_updates(
        &mut self,
        program: &mut Program,
        watcher: &Watcher,
        base: &[ast::Module],
        batch: &Batch,
        number: usize,
    ) -> Option<Vec<(crate::diagnostic::Span, Update, crate::program::Fact)>> {
        let name = format!("<stdin batch {number}, from line {}>", batch.first_line);
        let source: SourceId = self.sources.add(name, batch.text.clone());
        let (module, mut diagnostics) = crate::syntax::parse(source, &batch.text);
        let mut facts = Vec::new();
        for item in &module.items {
            match item {
                ast::Item::Clause(clause) if clause.body.is_empty() && !clause.has_arrow => {
                    facts.push(clause.clone());
                }
                ast::Item::Clause(clause) => diagnostics.push(
                    Diagnostic::error(
                        "E0377",
                        "a batch of changes holds facts, not rules",
                        clause.span,
                    )
                    .with_label("a rule")
                    .with_help("add rules to the rule files and start `ascribe watch` again"),
                ),
                ast::Item::Decl(decl) => diagnostics.push(
                    Diagnostic::error(
                        "E0377",
                        "a batch of changes holds facts, not declarations",
                        decl.span,
                    )
                    .with_label("a declaration")
                    .with_help(
                        "declare relations in the rule files and start `ascribe watch` again",
                    ),
                ),
            }
        }
        for clause in &facts {
            let at = clause.head.predicate.span.start as usize;
            if sign_at(&batch.signs, at).is_none() {
                diagnostics.push(
                    Diagnostic::error(
                        "E0376",
                        "this fact has no `+` or `-` before it",
                        clause.head.predicate.span,
                    )
                    .with_label("neither added nor retracted")
                    .with_help("start the line with `+` to add the fact or `-` to retract it"),
                );
            }
        }
        if diagnostics.iter().any(Diagnostic::is_error) {
            self.report(&diagnostics);
            return None;
        }
        let mut modules = base.to_vec();
        modules.push(ast::Module {
            items: facts.into_iter().map(ast::Item::Clause).collect(),
        });
        let (lowered, diagnostics) = crate::program::lower(&modules, Vec::new(), &self.sources);
        let errors: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        let Some(lowered) = lowered.filter(|_| errors.is_empty()) else {
            self.report(&errors);
            return None;
        };
        let mut updates = Vec::new();
        let mut unknown = Vec::new();
        for fact in lowered.facts() {
            let name = &lowered.predicate(fact.predicate).name;
            let Some(p) = program.predicate_id(name) else {
                unknown.push(
                    Diagnostic::error(
                        "E0376",
                        format!("`{name}` is not a relation of the rules"),
                        fact.span,
                    )
                    .with_label("unknown relation")
                    .with_help("changes go to relations the rules declare or use; check the name"),
                );
                continue;
            };
            let tuple: Vec<crate::value::ValueId> = fact
                .tuple
                .iter()
                .map(|v| watcher.intern(lowered.interner().value(*v).clone()))
                .collect();
            let sign = sign_at(&batch.signs, fact.span.start as usize).unwrap_or(Sign::Add);
            let update = match sign {
                Sign::Add => Update::Add(p, tuple.clone(), lowered.fact_confidence(fact)),
                Sign::Retract => Update::Retract(p, tuple.clone()),
            };
            let mut kept = fact.clone();
            kept.predicate = p;
            kept.tuple = tuple.as_slice().into();
            updates.push((fact.span, update, kept));
        }
        if !unknown.is_empty() {
            self.report(&unknown);
            return None;
        }
        let _ = program;
        Some(updates)
    }

    /// W0378 for each retraction of a tuple that was not an input fact.
    fn warn_absent(
        &mut self,
        program: &Program,
        updates: &[(crate::diagnostic::Span, Update, crate::program::Fact)],
        applied: &Applied,
    ) {
        let mut warnings = Vec::new();
        for &position in &applied.absent {
            let (span, _, fact) = &updates[position];
            let name = &program.predicate(fact.predicate).name;
            warnings.push(
                Diagnostic::warning("W0378", format!("nothing to retract: this `{name}` fact is not an input fact"), *span)
                    .with_label("not in the input")
                    .with_help("retract facts as they were given (same values); derived facts go when what they rest on does"),
            );
        }
        self.warnings += warnings.len();
        self.report(&warnings);
    }

    /// Applies the batch to the program too, so that explanations name the input facts
    /// as they are now.
    fn keep_in_step(
        &self,
        program: &mut Program,
        updates: &[(crate::diagnostic::Span, Update, crate::program::Fact)],
        applied: &Applied,
    ) {
        let retracted: rustc_hash::FxHashSet<(PredId, Vec<crate::value::ValueId>)> = updates
            .iter()
            .enumerate()
            .filter(|(i, _)| !applied.absent.contains(i))
            .filter_map(|(_, (_, update, _))| match update {
                Update::Retract(p, tuple) => Some((*p, tuple.clone())),
                Update::Add(..) => None,
            })
            .collect();
        if !retracted.is_empty() {
            program.retain_facts(|f| !retracted.contains(&(f.predicate, f.tuple.to_vec())));
        }
        let added = updates.iter().filter_map(|(_, update, fact)| match update {
            Update::Add(..) => Some(fact.clone()),
            Update::Retract(..) => None,
        });
        program.add_facts(added, self.sources.clone());
    }

    /// The facts now as a model of `program`, whose values are brought up to date.
    fn watch_model(&self, program: &mut Program, watcher: &Watcher, _explain: bool) -> Model {
        *program.interner_mut() = watcher.interner();
        watcher.model(program)
    }

    /// The explanation tree of each fact, as indented text, or empty strings.
    fn explained(
        &self,
        program: &Program,
        model: Model,
        facts: &[(String, FactId)],
        explain: bool,
    ) -> Vec<String> {
        if !explain {
            return vec![String::new(); facts.len()];
        }
        let roots: Vec<FactId> = facts.iter().map(|(_, f)| *f).collect();
        let found = explain::reconstruct::best_derivations(program, &model, &roots);
        let model = model.with_derivations(found);
        roots
            .iter()
            .map(|&fact| {
                let tree = render::text(&explain::explain(program, &model, fact));
                tree.lines().map(|l| format!("    {l}\n")).collect()
            })
            .collect()
    }

    /// The text of one applied batch: a header line, a line per change, a blank line.
    fn changes(
        &self,
        program: &mut Program,
        watcher: &Watcher,
        shown: &[PredId],
        applied: &Applied,
        number: usize,
        explain: bool,
    ) -> String {
        let interner = watcher.interner();
        let mut lines: Vec<(String, String, &crate::dataflow::watch::Changed)> = applied
            .changes
            .iter()
            .filter(|c| shown.contains(&c.predicate))
            .map(|c| {
                (
                    program.predicate(c.predicate).name.clone(),
                    explain::fact_text(program, &interner, c.predicate, &c.tuple),
                    c,
                )
            })
            .collect();
        lines.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let count = |f: fn(&crate::dataflow::watch::Changed) -> bool| {
            lines.iter().filter(|l| f(l.2)).count()
        };
        let mut text = format!(
            "batch {number}: {} added, {} retracted; {} appeared, {} disappeared, {} changed\n",
            applied.added,
            applied.retracted,
            count(|c| c.before.is_none()),
            count(|c| c.after.is_none()),
            count(|c| c.before.is_some() && c.after.is_some()),
        );
        let explained: Vec<String> = if explain && lines.iter().any(|l| l.2.after.is_some()) {
            let model = self.watch_model(program, watcher, explain);
            let wanted: Vec<(String, FactId)> = lines
                .iter()
                .filter(|l| l.2.after.is_some())
                .filter_map(|l| {
                    model
                        .find(l.2.predicate, &l.2.tuple)
                        .map(|f| (l.1.clone(), f))
                })
                .collect();
            self.explained(program, model, &wanted, true)
        } else {
            Vec::new()
        };
        let mut trees = explained.into_iter();
        for (_, fact, change) in &lines {
            match (change.before, change.after) {
                (None, Some(now)) => {
                    text.push_str(&format!("+ {fact}  [{}]\n", render::confidence(now)));
                }
                (Some(was), None) => {
                    text.push_str(&format!("- {fact}  [was {}]\n", render::confidence(was)));
                }
                (Some(was), Some(now)) => {
                    text.push_str(&format!(
                        "~ {fact}  [{} -> {}]\n",
                        render::confidence(was),
                        render::confidence(now)
                    ));
                }
                (None, None) => continue,
            }
            if change.after.is_some() {
                if let Some(tree) = trees.next() {
                    text.push_str(&tree);
                }
            }
        }
        text.push('\n');
        text
    }
}

/// The sign of the change that the byte at `at` belongs to: the last signed line that
/// starts at or before it.
fn sign_at(signs: &[(usize, Sign)], at: usize) -> Option<Sign> {
    let k = signs.partition_point(|(start, _)| *start <= at);
    k.checked_sub(1).map(|k| signs[k].1)
}

/// The declarations and rules of the rule-language texts loaded (not their facts): what
/// a batch is checked against.
fn rule_modules(sources: &Sources) -> Vec<ast::Module> {
    let mut modules = Vec::new();
    for (id, name, text) in sources.iter() {
        if !crate::load::is_rule_file(Path::new(name)) {
            continue;
        }
        let (mut module, _) = crate::syntax::parse(id, text);
        module.items.retain(|item| match item {
            ast::Item::Clause(clause) => !clause.body.is_empty() || clause.has_arrow,
            _ => true,
        });
        modules.push(module);
    }
    modules
}

/// The next batch of standard input: lines up to a blank line or the end; `Ok(None)` at
/// the end with nothing read.
fn read_batch(input: &mut impl BufRead, line_number: &mut usize) -> Result<Option<Batch>, String> {
    let mut batch = Batch {
        text: String::new(),
        signs: Vec::new(),
        first_line: *line_number + 1,
    };
    let mut bytes = Vec::new();
    let mut any = false;
    loop {
        bytes.clear();
        let read = input
            .read_until(b'\n', &mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        if read == 0 {
            return Ok(any.then_some(batch));
        }
        *line_number += 1;
        let Ok(line) = std::str::from_utf8(&bytes) else {
            let at = *line_number;
            skip_rest(input, line_number);
            return Err(format!("standard input, line {at}: not UTF-8 text"));
        };
        if line.trim().is_empty() {
            if any {
                return Ok(Some(batch));
            }
            batch.first_line = *line_number + 1;
            continue;
        }
        if batch.text.len() + line.len() > MAX_BATCH_BYTES {
            let at = *line_number;
            skip_rest(input, line_number);
            return Err(format!(
                "standard input, line {at}: a batch of more than {} MiB; split it with blank lines",
                MAX_BATCH_BYTES >> 20
            ));
        }
        any = true;
        let start = batch.text.len();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let sign = match trimmed.as_bytes().first() {
            Some(b'+') => Some(Sign::Add),
            Some(b'-') => Some(Sign::Retract),
            _ => None,
        };
        if let Some(sign) = sign {
            batch.signs.push((start, sign));
            batch.text.push_str(&line[..indent]);
            batch.text.push(' ');
            batch.text.push_str(&line[indent + 1..]);
        } else {
            batch.text.push_str(line);
        }
        if !batch.text.ends_with('\n') {
            batch.text.push('\n');
        }
    }
}

/// Reads and drops the rest of a refused batch, up to its blank line, so that the next
/// batch starts clean.
fn skip_rest(input: &mut impl BufRead, line_number: &mut usize) {
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes).unwrap_or(0) == 0 {
            return;
        }
        *line_number += 1;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_end_at_blank_lines_and_keep_their_signs_columns() {
        let text = "+ a(x).\n- b(y)\n   @confidence(0.5).\n\n\n+ c(z).";
        let mut input = io::Cursor::new(text.as_bytes());
        let mut line = 0;
        let first = read_batch(&mut input, &mut line).unwrap().unwrap();
        assert_eq!(first.text, "  a(x).\n  b(y)\n   @confidence(0.5).\n");
        assert_eq!(first.first_line, 1);
        let signs: Vec<_> = first
            .signs
            .iter()
            .map(|(at, s)| (*at, *s == Sign::Add))
            .collect();
        assert_eq!(signs, vec![(0, true), (8, false)]);
        assert!(sign_at(&first.signs, 30) == Some(Sign::Retract));
        let second = read_batch(&mut input, &mut line).unwrap().unwrap();
        assert_eq!(second.text, "  c(z).\n");
        assert_eq!(second.first_line, 6);
        assert!(read_batch(&mut input, &mut line).unwrap().is_none());
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_its_line() {
        let mut input = io::Cursor::new(b"+ a(x).\n+ b(\xff).\n+ c(x).\n\n+ d(y).\n".to_vec());
        let mut line = 0;
        let error = read_batch(&mut input, &mut line).err().unwrap();
        assert_eq!(error, "standard input, line 2: not UTF-8 text");
        // The rest of the refused batch is skipped; the next one reads whole.
        let next = read_batch(&mut input, &mut line).unwrap().unwrap();
        assert_eq!((next.text.as_str(), next.first_line), ("  d(y).\n", 5));
    }
}
