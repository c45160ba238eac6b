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

use super::args::{WatchArgs, WatchEngine};
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

/// The evaluation a watch keeps up to date.
enum Live {
    /// Differential dataflow, updated from each batch alone.
    Dataflow(Watcher),
    /// The default engine, evaluating the whole input again after each batch: the last
    /// model, and how many values the program held when it was evaluated.
    Again(Box<Model>, usize),
}

/// A fact of a batch, read and checked: where it was written, its sign, its relation
/// and values, and the fact as lowered (annotations and span).
struct Read {
    span: crate::diagnostic::Span,
    sign: Sign,
    predicate: PredId,
    values: Vec<crate::value::Value>,
    fact: crate::program::Fact,
}

/// One change as printed: the fact, its confidence before and after, its tree.
struct Shown {
    relation: String,
    text: String,
    before: Option<f64>,
    after: Option<f64>,
    fact: Option<FactId>,
}

impl Session {
    /// `ascribe watch`.
    pub(super) fn watch(&mut self, args: &WatchArgs, out: &mut Out) -> io::Result<i32> {
        let mut program = match self.load(&args.input.rules, &args.input.facts) {
            Ok(program) => program,
            Err(code) => return Ok(code),
        };
        if !super::known_relations(&program, &args.relations) {
            return Ok(super::EXIT_USAGE);
        }
        let workers = args.workers.unwrap_or_else(crate::eval::available_threads);
        let options = Options {
            workers,
            cluster: None,
        };
        let limits = Limits {
            max_facts: args.max_facts,
            ..Limits::default()
        };
        let on_dataflow = args.engine == WatchEngine::Dataflow;
        if on_dataflow {
            let refused = dataflow::unsupported(&program, &limits, &options);
            if !refused.is_empty() {
                self.report(&refused);
                return Ok(EXIT_INPUT);
            }
        }
        let base = rule_modules(&self.sources);
        let shown: Vec<PredId> = super::output::select(&program, &args.relations, args.all);
        let started = Instant::now();
        let again_limits = super::args::LimitArgs {
            max_facts: args.max_facts,
            ..super::args::LimitArgs::default()
        };
        let mut live = if on_dataflow {
            super::dataflow::quiet_worker_panics();
            match Watcher::start(&program, &options, &limits) {
                Ok(watcher) => Live::Dataflow(watcher),
                Err(error) => return Ok(self.watch_failed(&program, error)),
            }
        } else {
            match self.evaluate(&program, false, &again_limits, Some(workers)) {
                Ok(model) => Live::Again(Box::new(model), program.interner().len()),
                Err(code) => return Ok(code),
            }
        };
        if !self.quiet {
            let (facts, engine) = match &live {
                Live::Dataflow(watcher) => (watcher.len(), "dataflow workers"),
                Live::Again(model, _) => (model.total_facts(), "threads, again after each batch"),
            };
            eprintln!(
                "watching: {} input facts, {} facts in all, evaluated in {:.2} s on {workers} {engine}; give changes on standard input (`+ fact.` adds, `- fact.` retracts, a blank line applies them)",
                super::progress::grouped(program.facts().len()),
                super::progress::grouped(facts),
                started.elapsed().as_secs_f64(),
            );
        }
        if args.initial {
            let model = match &live {
                Live::Dataflow(watcher) => self.watch_model(&mut program, watcher),
                Live::Again(model, _) => (**model).clone(),
            };
            let mut listed = Vec::new();
            for &p in &shown {
                for fact in model.sorted_facts(p) {
                    listed.push(Shown {
                        relation: String::new(),
                        text: explain::fact_text(&program, model.interner(), p, model.tuple(fact)),
                        before: None,
                        after: Some(model.confidence(fact)),
                        fact: Some(fact),
                    });
                }
            }
            let text = self.listing(
                &program,
                model,
                !on_dataflow,
                listed,
                "batch 0: the input as loaded\n".to_string(),
                args.explain,
            );
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
            let Some(read) = self.read_updates(&program, &base, &batch, batches) else {
                out.write(&format!(
                    "batch {batches}: not applied, nothing changed\n\n"
                ))?;
                out.stdout.flush()?;
                continue;
            };
            let reading = began.elapsed();
            let (header, listed, model) = match &mut live {
                Live::Dataflow(watcher) => {
                    let updates: Vec<Update> = read
                        .iter()
                        .map(|r| {
                            let tuple: Vec<_> =
                                r.values.iter().map(|v| watcher.intern(v.clone())).collect();
                            match r.sign {
                                Sign::Add => Update::Add(
                                    r.predicate,
                                    tuple,
                                    program.fact_confidence(&r.fact),
                                ),
                                Sign::Retract => Update::Retract(r.predicate, tuple),
                            }
                        })
                        .collect();
                    let applied = match watcher.apply(&updates) {
                        Ok(applied) => applied,
                        Err(error) => return Ok(self.watch_failed(&program, error)),
                    };
                    self.warn_absent(&program, &read, &applied.absent);
                    if args.explain {
                        keep_in_step(&mut program, &read, &updates, &applied, &self.sources);
                    }
                    let interner = watcher.interner();
                    let listed: Vec<Shown> = applied
                        .changes
                        .iter()
                        .filter(|c| shown.contains(&c.predicate))
                        .map(|c| Shown {
                            relation: program.predicate(c.predicate).name.clone(),
                            text: explain::fact_text(&program, &interner, c.predicate, &c.tuple),
                            before: c.before,
                            after: c.after,
                            fact: None,
                        })
                        .collect();
                    let model = (args.explain && listed.iter().any(|l| l.after.is_some()))
                        .then(|| self.watch_model(&mut program, watcher));
                    let listed = match &model {
                        Some(model) => listed
                            .into_iter()
                            .zip(
                                applied
                                    .changes
                                    .iter()
                                    .filter(|c| shown.contains(&c.predicate)),
                            )
                            .map(|(mut l, c)| {
                                l.fact = model.find(c.predicate, &c.tuple);
                                l
                            })
                            .collect(),
                        None => listed,
                    };
                    ((applied.added, applied.retracted), listed, model)
                }
                Live::Again(model, values) => {
                    let (added, retracted, absent) = apply_to(&mut program, &read, &self.sources);
                    self.warn_absent(&program, &read, &absent);
                    let next = match self.evaluate(&program, false, &again_limits, Some(workers)) {
                        Ok(next) => next,
                        Err(code) => return Ok(code),
                    };
                    let listed = difference(&program, *values, model, &next, &shown);
                    **model = next.clone();
                    *values = program.interner().len();
                    ((added, retracted), listed, Some(next))
                }
            };
            let took = began.elapsed();
            let mut listed = listed;
            listed.sort_by(|a, b| (&a.relation, &a.text).cmp(&(&b.relation, &b.text)));
            let count = |f: fn(&Shown) -> bool| listed.iter().filter(|l| f(l)).count();
            let title = format!(
                "batch {batches}: {} added, {} retracted; {} appeared, {} disappeared, {} changed\n",
                header.0,
                header.1,
                count(|c| c.before.is_none()),
                count(|c| c.after.is_none()),
                count(|c| c.before.is_some() && c.after.is_some()),
            );
            let text = match model {
                Some(model) => {
                    self.listing(&program, model, !on_dataflow, listed, title, args.explain)
                }
                None => listing_text(listed, Vec::new(), title),
            };
            out.write(&text)?;
            out.stdout.flush()?;
            if !self.quiet {
                eprintln!(
                    "batch {batches}: {} change{} applied in {:.1} ms ({:.1} ms reading them, {:.1} ms {})",
                    read.len(),
                    if read.len() == 1 { "" } else { "s" },
                    took.as_secs_f64() * 1000.0,
                    reading.as_secs_f64() * 1000.0,
                    (took - reading).as_secs_f64() * 1000.0,
                    if on_dataflow { "in the dataflow" } else { "evaluating again" }
                );
            }
        }
        if let Live::Dataflow(watcher) = live {
            if let Err(error) = watcher.close() {
                return Ok(self.watch_failed(&program, error));
            }
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
        program: &Program,
        base: &[ast::Module],
        batch: &Batch,
        number: usize,
    ) -> Option<Vec<Read>> {
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
        let mut read = Vec::new();
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
            let mut kept = fact.clone();
            kept.predicate = p;
            read.push(Read {
                span: fact.span,
                sign: sign_at(&batch.signs, fact.span.start as usize).unwrap_or(Sign::Add),
                predicate: p,
                values: fact
                    .tuple
                    .iter()
                    .map(|v| lowered.interner().value(*v).clone())
                    .collect(),
                fact: kept,
            });
        }
        if !unknown.is_empty() {
            self.report(&unknown);
            return None;
        }
        Some(read)
    }

    /// W0378 for each retraction (by position in `read`) of a tuple that was not an
    /// input fact.
    fn warn_absent(&mut self, program: &Program, read: &[Read], absent: &[usize]) {
        let warnings: Vec<Diagnostic> = absent
            .iter()
            .map(|&position| {
                let r = &read[position];
                let name = &program.predicate(r.predicate).name;
                Diagnostic::warning("W0378", format!("nothing to retract: this `{name}` fact is not an input fact"), r.span)
                    .with_label("not in the input")
                    .with_help("retract facts as they were given (same values); derived facts go when what they rest on does")
            })
            .collect();
        self.warnings += warnings.len();
        self.report(&warnings);
    }

    /// The facts now as a model of `program`, whose values are brought up to date.
    fn watch_model(&self, program: &mut Program, watcher: &Watcher) -> Model {
        *program.interner_mut() = watcher.interner();
        watcher.model(program)
    }

    /// The text of a batch: `title`, then a line per change, each with its tree when
    /// `explain`; the trees read `model`, whose derivations are found again unless it
    /// `recorded` them.
    fn listing(
        &self,
        program: &Program,
        model: Model,
        recorded: bool,
        listed: Vec<Shown>,
        title: String,
        explain: bool,
    ) -> String {
        if !explain {
            return listing_text(listed, Vec::new(), title);
        }
        let roots: Vec<FactId> = listed.iter().filter_map(|l| l.after.and(l.fact)).collect();
        let model = if recorded {
            model
        } else {
            let found = explain::reconstruct::best_derivations(program, &model, &roots);
            model.with_derivations(found)
        };
        let trees = listed
            .iter()
            .map(|l| match l.after.and(l.fact) {
                Some(fact) => {
                    let tree = render::text(&explain::explain(program, &model, fact));
                    tree.lines().map(|line| format!("    {line}\n")).collect()
                }
                None => String::new(),
            })
            .collect();
        listing_text(listed, trees, title)
    }
}

/// `title`, a line per change (with its tree from `trees`, if any), a blank line.
fn listing_text(listed: Vec<Shown>, trees: Vec<String>, title: String) -> String {
    let mut text = title;
    let mut trees = trees.into_iter();
    for change in &listed {
        let line = match (change.before, change.after) {
            (None, Some(now)) => format!("+ {}  [{}]\n", change.text, render::confidence(now)),
            (Some(was), None) => format!("- {}  [was {}]\n", change.text, render::confidence(was)),
            (Some(was), Some(now)) => format!(
                "~ {}  [{} -> {}]\n",
                change.text,
                render::confidence(was),
                render::confidence(now)
            ),
            (None, None) => String::new(),
        };
        text.push_str(&line);
        if let Some(tree) = trees.next() {
            text.push_str(&tree);
        }
    }
    text.push('\n');
    text
}

/// Applies a batch to the program's input facts: retractions remove every input fact
/// with the values, additions add a fact unless the same one (values and confidence) is
/// there. (added, retracted, positions of retractions of absent tuples).
fn apply_to(program: &mut Program, read: &[Read], sources: &Sources) -> (usize, usize, Vec<usize>) {
    let mut absent = Vec::new();
    let mut gone: rustc_hash::FxHashSet<(PredId, Vec<crate::value::ValueId>)> =
        rustc_hash::FxHashSet::default();
    let mut retracted = 0;
    // Counted as the dataflow's watcher counts them: an addition retracted later in
    // the same batch is one added and one retracted.
    let mut adds = 0;
    let mut added = Vec::new();
    let mut held: rustc_hash::FxHashMap<(PredId, Vec<crate::value::ValueId>), Vec<u64>> =
        rustc_hash::FxHashMap::default();
    for fact in program.facts() {
        held.entry((fact.predicate, fact.tuple.to_vec()))
            .or_default()
            .push(program.fact_confidence(fact).to_bits());
    }
    for (position, r) in read.iter().enumerate() {
        let tuple: Vec<_> = r
            .values
            .iter()
            .map(|v| program.interner_mut().intern_ref(v))
            .collect();
        let key = (r.predicate, tuple.clone());
        match r.sign {
            Sign::Retract => match held.remove(&key) {
                Some(records) => {
                    retracted += records.len();
                    added.retain(|f: &crate::program::Fact| (f.predicate, f.tuple.to_vec()) != key);
                    gone.insert(key);
                }
                None => absent.push(position),
            },
            Sign::Add => {
                let mut fact = r.fact.clone();
                fact.tuple = tuple.as_slice().into();
                let bits = program.fact_confidence(&fact).to_bits();
                let records = held.entry(key).or_default();
                if !records.contains(&bits) {
                    records.push(bits);
                    added.push(fact);
                    adds += 1;
                }
            }
        }
    }
    if !gone.is_empty() {
        program.retain_facts(|f| !gone.contains(&(f.predicate, f.tuple.to_vec())));
    }
    program.add_facts(added, sources.clone());
    (adds, retracted, absent)
}

/// What changed between two models of `program`, in the relations `shown`. Facts are
/// matched by their values: the first `values` value ids (those the program held when
/// `before` was evaluated) are the same in both models; the others (values computed
/// during evaluation, which each numbers in its own order, and values added since) are
/// matched by their text. Only the facts that changed are written out.
fn difference(
    program: &Program,
    values: usize,
    before: &Model,
    after: &Model,
    shown: &[PredId],
) -> Vec<Shown> {
    let base = values as u64;
    let mut computed: rustc_hash::FxHashMap<String, u64> = rustc_hash::FxHashMap::default();
    let mut key = |model: &Model, tuple: &[crate::value::ValueId]| -> Vec<u64> {
        tuple
            .iter()
            .map(|v| {
                if u64::from(v.0) < base {
                    u64::from(v.0)
                } else {
                    let text = model.interner().value(*v).to_string();
                    let next = base + computed.len() as u64;
                    *computed.entry(text).or_insert(next)
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for &p in shown {
        let relation = &program.predicate(p).name;
        let rows =
            |model: &Model| (0..model.len(p) as u32).map(move |row| FactId { predicate: p, row });
        let was: rustc_hash::FxHashMap<Vec<u64>, f64> = rows(before)
            .map(|f| (key(before, before.tuple(f)), before.confidence(f)))
            .collect();
        let mut still = rustc_hash::FxHashSet::default();
        for fact in rows(after) {
            let k = key(after, after.tuple(fact));
            let confidence = after.confidence(fact);
            let earlier = was.get(&k).copied();
            if earlier.is_some() {
                still.insert(k);
            }
            if earlier != Some(confidence) {
                out.push(Shown {
                    relation: relation.clone(),
                    text: explain::fact_text(program, after.interner(), p, after.tuple(fact)),
                    before: earlier,
                    after: Some(confidence),
                    fact: Some(fact),
                });
            }
        }
        for fact in rows(before) {
            let k = key(before, before.tuple(fact));
            if !still.contains(&k) {
                out.push(Shown {
                    relation: relation.clone(),
                    text: explain::fact_text(program, before.interner(), p, before.tuple(fact)),
                    before: Some(before.confidence(fact)),
                    after: None,
                    fact: None,
                });
            }
        }
    }
    out
}

/// Applies the batch to the program too, so that explanations over the dataflow's
/// facts name the input facts as they are now.
fn keep_in_step(
    program: &mut Program,
    read: &[Read],
    updates: &[Update],
    applied: &Applied,
    sources: &Sources,
) {
    let retracted: rustc_hash::FxHashSet<(PredId, Vec<crate::value::ValueId>)> = updates
        .iter()
        .enumerate()
        .filter(|(i, _)| !applied.absent.contains(i))
        .filter_map(|(_, update)| match update {
            Update::Retract(p, tuple) => Some((*p, tuple.clone())),
            Update::Add(..) => None,
        })
        .collect();
    if !retracted.is_empty() {
        program.retain_facts(|f| !retracted.contains(&(f.predicate, f.tuple.to_vec())));
    }
    let added = read
        .iter()
        .zip(updates)
        .filter_map(|(r, update)| match update {
            Update::Add(_, tuple, _) => {
                let mut fact = r.fact.clone();
                fact.tuple = tuple.as_slice().into();
                Some(fact)
            }
            Update::Retract(..) => None,
        });
    program.add_facts(added, sources.clone());
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
