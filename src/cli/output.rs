//! Printing derived facts as text, JSON or TSV, and writing one `.facts` file per
//! relation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{mpsc, Arc, Mutex};

use indexmap::IndexMap;
use serde::Serialize;

use super::args::FactFormat;
use super::output_dir::{OutputError, StagedFile, Staging};
use crate::eval::{FactId, Model, SortedFacts};
use crate::explain::sources::{joined, BestSources};
use crate::explain::{likelihood, render::confidence};
use crate::program::{PredId, Program};
use crate::syntax::format::constant_text;
use crate::value::{write_quoted, Value, ValueId};

/// The relations to print: the named ones, else the derived ones (all with `all`),
/// sorted by name.
pub fn select(program: &Program, names: &[String], all: bool) -> Vec<PredId> {
    let mut selected: Vec<PredId> = program
        .predicates()
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            if names.is_empty() {
                all || p.derived
            } else {
                names.contains(&p.name)
            }
        })
        .map(|(i, _)| PredId(i as u32))
        .collect();
    selected.sort_by(|a, b| program.predicate(*a).name.cmp(&program.predicate(*b).name));
    selected
}

/// Renders values once each: output of large relations repeats the same few values.
struct ValueCache<'m> {
    model: &'m Model,
    text: Vec<Option<String>>,
    /// TSV forms, rendered on first use into `tsv_bytes`: per value id, its start and
    /// length there (`u32::MAX` start for not yet).
    tsv_at: Vec<(u32, u32)>,
    tsv_bytes: Vec<u8>,
}

impl<'m> ValueCache<'m> {
    fn new(model: &'m Model) -> ValueCache<'m> {
        let n = model.interner().len();
        ValueCache {
            model,
            text: vec![None; n],
            tsv_at: vec![(u32::MAX, 0); n],
            tsv_bytes: Vec::new(),
        }
    }

    fn text(&mut self, id: ValueId) -> &str {
        let model = self.model;
        self.text[id.0 as usize].get_or_insert_with(|| model.interner().value(id).to_string())
    }

    /// TSV form: text with tabs, line breaks and backslashes escaped as `\t`, `\n`,
    /// `\r` and `\\`, and a leading `#` as `\#` (the escapes the TSV loader reads, so
    /// every text loads back as itself); other values as written.
    fn tsv(&mut self, id: ValueId) -> &str {
        std::str::from_utf8(self.tsv_bytes(id)).expect("rendered from a str")
    }

    /// [`ValueCache::tsv`] as bytes.
    fn tsv_bytes(&mut self, id: ValueId) -> &[u8] {
        let (start, len) = self.tsv_at[id.0 as usize];
        if start != u32::MAX {
            return &self.tsv_bytes[start as usize..(start + len) as usize];
        }
        let rendered = match self.model.interner().value(id) {
            Value::Text(s) => {
                let mut out = String::with_capacity(s.len());
                for (i, c) in s.chars().enumerate() {
                    match c {
                        // A line starting with `#` would load as a comment.
                        '#' if i == 0 => out.push_str("\\#"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\\' => out.push_str("\\\\"),
                        c => out.push(c),
                    }
                }
                out
            }
            other => other.to_string(),
        };
        let start = self.tsv_bytes.len();
        self.tsv_bytes.extend_from_slice(rendered.as_bytes());
        self.tsv_at[id.0 as usize] = (start as u32, rendered.len() as u32);
        &self.tsv_bytes[start..]
    }
}

/// One fact of JSON output, in the shape the JSON fact loader reads back as the same
/// fact: exact arguments (dates as `{"date": "YYYY-MM-DD"}`), the exact confidence, and
/// the sources of its best derivation as its `source`.
#[derive(Serialize)]
struct JsonFact {
    /// Only for a relation named `facts`, whose rows the loader reads as a list of
    /// fact objects, each naming its relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    relation: Option<&'static str>,
    fact: String,
    args: Vec<serde_json::Value>,
    confidence: f64,
    likelihood: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

fn fact_line(
    program: &Program,
    cache: &mut ValueCache<'_>,
    predicate: PredId,
    tuple: &[ValueId],
) -> String {
    let mut line = program.predicate(predicate).name.clone();
    line.push('(');
    for (i, v) in tuple.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        line.push_str(cache.text(*v));
    }
    line.push(')');
    line
}

/// A value as JSON that loads back as the same value: text as a string, numbers as
/// numbers (floats always with a point or an exponent), dates as `{"date": ...}`.
fn exact_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Date(_) => serde_json::json!({ "date": value.to_string() }),
        other => crate::explain::value_json(other),
    }
}

fn json_fact(
    program: &Program,
    model: &Model,
    cache: &mut ValueCache<'_>,
    sources: &mut BestSources<'_>,
    fact: FactId,
) -> JsonFact {
    let tuple = model.tuple(fact);
    let c = model.confidence(fact);
    let name = &program.predicate(fact.predicate).name;
    JsonFact {
        relation: (name == "facts").then_some("facts"),
        fact: fact_line(program, cache, fact.predicate, tuple),
        args: tuple
            .iter()
            .map(|v| exact_json(model.interner().value(*v)))
            .collect(),
        confidence: c,
        likelihood: likelihood(c),
        source: joined(&sources.of(fact)),
    }
}

/// The facts of the selected relations in `format`.
pub fn facts(program: &Program, model: &Model, selected: &[PredId], format: FactFormat) -> String {
    let mut cache = ValueCache::new(model);
    let mut out = String::new();
    match format {
        FactFormat::Text => {
            for (i, &p) in selected.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let facts = model.sorted_facts(p);
                let _ = writeln!(
                    out,
                    "{} ({})",
                    program.predicate(p).name,
                    count(facts.len())
                );
                for fact in facts {
                    let c = model.confidence(fact);
                    let line = fact_line(program, &mut cache, p, model.tuple(fact));
                    let _ = writeln!(out, "  {line}  [{} {}]", confidence(c), likelihood(c));
                }
            }
        }
        FactFormat::Json => {
            let mut sources = BestSources::new(program, model);
            let mut map: IndexMap<&str, Vec<JsonFact>> = IndexMap::new();
            for &p in selected {
                let facts = model
                    .sorted_facts(p)
                    .into_iter()
                    .map(|f| json_fact(program, model, &mut cache, &mut sources, f))
                    .collect();
                map.insert(&program.predicate(p).name, facts);
            }
            out = serde_json::to_string_pretty(&map).expect("fact lists serialise") + "\n";
        }
        FactFormat::Stix => unreachable!("`run --format stix` exports before facts are printed"),
        FactFormat::Tsv => {
            for &p in selected {
                for fact in model.sorted_facts(p) {
                    out.push_str(&program.predicate(p).name);
                    for v in model.tuple(fact) {
                        out.push('\t');
                        out.push_str(cache.tsv(*v));
                    }
                    let _ = writeln!(out, "\t{}", confidence(model.confidence(fact)));
                }
            }
        }
    }
    out
}

/// `1 fact`, `3 facts`, `no facts`.
fn count(n: usize) -> String {
    match n {
        0 => "no facts".to_string(),
        1 => "1 fact".to_string(),
        n => format!("{n} facts"),
    }
}

/// What `run` prints by default: the conclusions first (the facts of each
/// `@hypothesis` relation, in declaration order, grouped by their first column and most
/// confident first), then the other derived relations (input relations too with `all`)
/// in name order, leaving out relations without facts unless `empty`, and saying how
/// many were left out.
pub fn conclusions(program: &Program, model: &Model, all: bool, empty: bool) -> String {
    let mut cache = ValueCache::new(model);
    let mut out = String::new();
    let hypotheses: Vec<PredId> = (0..program.predicates().len() as u32)
        .map(PredId)
        .filter(|&p| program.predicate(p).hypothesis.is_some())
        .collect();
    let mut left_out = 0;
    let shown = |p: PredId, left_out: &mut usize| {
        let keep = empty || !model.is_empty(p);
        if !keep {
            *left_out += 1;
        }
        keep
    };
    let write_fact = |out: &mut String, cache: &mut ValueCache<'_>, p: PredId, fact: FactId| {
        let c = model.confidence(fact);
        let line = fact_line(program, cache, p, model.tuple(fact));
        let _ = writeln!(out, "  {line}  [{} {}]", confidence(c), likelihood(c));
    };
    let listed: Vec<PredId> = hypotheses
        .iter()
        .copied()
        .filter(|&p| shown(p, &mut left_out))
        .collect();
    if !listed.is_empty() {
        out.push_str("Conclusions (@hypothesis relations, most confident first)\n");
    }
    for &p in &listed {
        let predicate = program.predicate(p);
        let mut facts = model.sorted_facts(p);
        // Sorted by value already; a stable sort keeps that order among equals.
        facts.sort_by(|&a, &b| {
            let (ta, tb) = (model.tuple(a), model.tuple(b));
            let first = match (ta.first(), tb.first()) {
                (Some(x), Some(y)) => model
                    .interner()
                    .value(*x)
                    .sort_cmp(model.interner().value(*y)),
                _ => std::cmp::Ordering::Equal,
            };
            first.then(model.confidence(b).total_cmp(&model.confidence(a)))
        });
        let label = match predicate.hypothesis.as_deref() {
            Some(label) if !label.is_empty() => format!("{label}: "),
            _ => String::new(),
        };
        let _ = writeln!(out, "\n{label}{} ({})", predicate.name, count(facts.len()));
        for fact in facts {
            write_fact(&mut out, &mut cache, p, fact);
        }
    }
    let rest: Vec<PredId> = select(program, &[], all)
        .into_iter()
        .filter(|p| !hypotheses.contains(p))
        .filter(|&p| shown(p, &mut left_out))
        .collect();
    if !rest.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(match (listed.is_empty(), all) {
            (true, false) => "Derived relations\n",
            (true, true) => "Relations\n",
            (false, false) => "Other derived relations\n",
            (false, true) => "Other relations\n",
        });
    }
    for p in rest {
        let facts = model.sorted_facts(p);
        let _ = writeln!(
            out,
            "\n{} ({})",
            program.predicate(p).name,
            count(facts.len())
        );
        for fact in facts {
            write_fact(&mut out, &mut cache, p, fact);
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n({left_out} relation{} without facts not shown; --empty lists {})",
            if left_out == 1 { "" } else { "s" },
            if left_out == 1 { "it" } else { "them" }
        );
    }
    out
}

/// Matching facts of one relation in `format` (text: one per line).
pub fn fact_list(
    program: &Program,
    model: &Model,
    predicate: PredId,
    facts: &[FactId],
    format: FactFormat,
) -> String {
    let mut cache = ValueCache::new(model);
    match format {
        FactFormat::Text => {
            let mut out = String::new();
            for &fact in facts {
                let c = model.confidence(fact);
                let line = fact_line(program, &mut cache, predicate, model.tuple(fact));
                let _ = writeln!(out, "{line}  [{} {}]", confidence(c), likelihood(c));
            }
            if facts.is_empty() {
                out.push_str("no matching facts\n");
            }
            out
        }
        FactFormat::Json => {
            let mut sources = BestSources::new(program, model);
            let list: Vec<JsonFact> = facts
                .iter()
                .map(|f| json_fact(program, model, &mut cache, &mut sources, *f))
                .collect();
            serde_json::to_string_pretty(&list).expect("fact lists serialise") + "\n"
        }
        FactFormat::Stix => unreachable!("`query --format stix` is refused before matching"),
        FactFormat::Tsv => {
            let mut out = String::new();
            for &fact in facts {
                let values: Vec<String> = model
                    .tuple(fact)
                    .iter()
                    .map(|v| cache.tsv(*v).to_string())
                    .collect();
                let _ = writeln!(
                    out,
                    "{}\t{}",
                    values.join("\t"),
                    confidence(model.confidence(fact))
                );
            }
            out
        }
    }
}

/// Bytes of output gathered before each write.
const OUTPUT_BUFFER: usize = 1 << 16;

/// Facts per piece of a relation formatted on one thread when `--output` writes on
/// several: large enough that handing pieces out costs little, small enough that a
/// relation of a few hundred thousand facts is shared.
const PIECE_FACTS: usize = 1 << 15;

/// Writes `<relation>.facts` per selected relation into the output directory `staging`
/// stands for, all or nothing (see [`super::output_dir`]): one fact a line in the rule
/// language, sorted by value, with `@confidence(c)` when below 1 (the shortest digits
/// that read back as the same number) and `@source("...")` naming the sources of its
/// best derivation (see [`crate::explain::sources`]). Loaded with `--facts DIR`, every
/// fact comes back with exactly its values, confidence and sources.
///
/// With `threads` above one, each relation's sorted facts are cut into pieces of
/// `PIECE_FACTS` facts that worker threads format; the pieces are written in their order,
/// so the bytes do not depend on `threads`: a line depends only on its fact, and each
/// piece's lines are those of a fixed range of the sorted facts.
pub fn write_dir(
    program: &Program,
    model: &Model,
    selected: &[PredId],
    mut staging: Staging,
    threads: usize,
) -> Result<(), OutputError> {
    if threads <= 1 {
        let texts = Texts::for_output(program, model, selected, 1);
        let mut lines = FactLines::new(program, model, texts.as_ref());
        let mut out: Vec<u8> = Vec::with_capacity(OUTPUT_BUFFER + 256);
        for &p in selected {
            let name = &program.predicate(p).name;
            let mut file = staging.create(&format!("{name}.facts"))?;
            let facts = model.sorted_facts_ranked(p, 1);
            for i in 0..facts.len() {
                lines.push(name, &facts, i, &mut out);
                if out.len() >= OUTPUT_BUFFER {
                    file.write_all(&out)?;
                    out.clear();
                }
            }
            file.write_all(&out)?;
            out.clear();
            file.finish()?;
        }
        return staging.commit();
    }
    write_dir_on_threads(program, model, selected, &mut staging, threads)?;
    staging.commit()
}

/// A piece of a relation to format: its sequence number in its lane, the relation's
/// name and sorted facts, the range of them, and where the lane wants it back.
type Piece = (
    usize,
    Arc<str>,
    Arc<SortedFacts>,
    std::ops::Range<usize>,
    mpsc::Sender<(usize, Vec<u8>)>,
);

/// [`write_dir`] on `threads` worker threads, before the commit. The relations are
/// shared out between up to `threads` lanes, largest first to the lane with the fewest
/// facts so far; each lane writes its files one after another, so that files are written
/// side by side (the kernel's copy of the bytes is a large part of writing), while the
/// workers format the pieces of every lane.
fn write_dir_on_threads(
    program: &Program,
    model: &Model,
    selected: &[PredId],
    staging: &mut Staging,
    threads: usize,
) -> Result<(), OutputError> {
    // Files are created here, in the order given, so the manifest does not depend on
    // which lane finishes first.
    let mut files = Vec::with_capacity(selected.len());
    for &p in selected {
        files.push(Some(
            staging.create(&format!("{}.facts", program.predicate(p).name))?,
        ));
    }
    let n_lanes = threads.min(selected.len()).max(1);
    let mut by_size: Vec<usize> = (0..selected.len()).collect();
    by_size.sort_by_key(|&i| (std::cmp::Reverse(model.len(selected[i])), i));
    let mut lanes: Vec<(usize, Vec<(PredId, StagedFile)>)> =
        (0..n_lanes).map(|_| (0, Vec::new())).collect();
    for i in by_size {
        let lane = (0..n_lanes)
            .min_by_key(|&l| (lanes[l].0, l))
            .expect("at least one lane");
        lanes[lane].0 += model.len(selected[i]);
        let file = files[i].take().expect("each file goes to one lane");
        lanes[lane].1.push((selected[i], file));
    }
    let texts = Texts::for_output(program, model, selected, threads);
    let texts = texts.as_ref();
    let (piece_sender, pieces) = mpsc::channel::<Piece>();
    let pieces = Mutex::new(pieces);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let pieces = &pieces;
            scope.spawn(move || {
                // Each worker remembers sources on its own; what it renders for a fact
                // is the same as any other worker's.
                let mut lines = FactLines::new(program, model, texts);
                loop {
                    let next = pieces.lock().expect("no worker panics holding it").recv();
                    let Ok((seq, name, facts, range, reply)) = next else {
                        return;
                    };
                    let mut out = Vec::with_capacity(range.len() * 48);
                    for i in range {
                        lines.push(&name, &facts, i, &mut out);
                    }
                    // A lane that failed has stopped listening; the others go on.
                    let _ = reply.send((seq, out));
                }
            });
        }
        let writers: Vec<_> = lanes
            .into_iter()
            .map(|(_, relations)| {
                let piece_sender = piece_sender.clone();
                scope.spawn(move || write_lane(program, model, relations, &piece_sender, threads))
            })
            .collect();
        // Dropping the last sender, errors included, stops the workers once the lanes
        // are done.
        drop(piece_sender);
        let mut result = Ok(());
        for writer in writers {
            let written = writer.join().expect("no writer panics");
            if result.is_ok() {
                result = written;
            }
        }
        result
    })
}

/// Writes the files of one lane of [`write_dir_on_threads`], piece after piece.
fn write_lane(
    program: &Program,
    model: &Model,
    relations: Vec<(PredId, StagedFile)>,
    piece_sender: &mpsc::Sender<Piece>,
    threads: usize,
) -> Result<(), OutputError> {
    let (done_sender, done) = mpsc::channel::<(usize, Vec<u8>)>();
    let mut seq = 0;
    // Pieces formatted ahead of the one to write next, by sequence number.
    let mut ready: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    for (p, mut file) in relations {
        let name: Arc<str> = Arc::from(program.predicate(p).name.as_str());
        let facts = Arc::new(model.sorted_facts_ranked(p, threads));
        let n_pieces = facts.len().div_ceil(PIECE_FACTS);
        let (mut sent, mut written) = (0, 0);
        while written < n_pieces {
            // At most two pieces a worker are out at once per lane, so that memory
            // holds a few pieces, never a whole formatted relation.
            while sent < n_pieces && sent - written < 2 * threads {
                let start = sent * PIECE_FACTS;
                let end = (start + PIECE_FACTS).min(facts.len());
                let piece = (
                    seq + sent,
                    name.clone(),
                    facts.clone(),
                    start..end,
                    done_sender.clone(),
                );
                piece_sender
                    .send(piece)
                    .expect("workers run until every lane is done");
                sent += 1;
            }
            let out = loop {
                if let Some(out) = ready.remove(&(seq + written)) {
                    break out;
                }
                let (done_seq, out) = done.recv().expect("workers run until every lane is done");
                ready.insert(done_seq, out);
            };
            file.write_all(&out)?;
            written += 1;
        }
        seq += n_pieces;
        file.finish()?;
    }
    Ok(())
}

/// The written text of every value of a model, one after another in output order (by
/// rank), for writing many facts: a fact's values are then read from one shared buffer,
/// and the values of sorted facts mostly from nearby places in it.
struct Texts<'m> {
    /// Each value's rank.
    ranks: &'m [u32],
    /// The texts, by rank.
    bytes: Vec<u8>,
    /// Where the text of each rank ends in `bytes`.
    ends: Vec<u64>,
}

impl<'m> Texts<'m> {
    /// The texts of `model`'s values, made on up to `threads` threads, when `selected`
    /// have more values in all than the model has values; else none, each value's text
    /// then made as it is written.
    fn for_output(
        program: &Program,
        model: &'m Model,
        selected: &[PredId],
        threads: usize,
    ) -> Option<Texts<'m>> {
        let cells: usize = selected
            .iter()
            .map(|&p| model.len(p) * program.predicate(p).arity.max(1))
            .sum();
        let n = model.interner().len();
        if cells < n {
            return None;
        }
        let (ranks, by_rank) = model.value_ranks(threads);
        let chunk = n.div_ceil(threads.max(1)).max(1);
        let render = |values: &[ValueId]| {
            let mut text = String::with_capacity(values.len() * 16);
            let mut lengths = Vec::with_capacity(values.len());
            for &v in values {
                let start = text.len();
                match model.interner().value(v) {
                    float @ Value::Float(_) => text.push_str(&constant_text(float)),
                    other => {
                        let _ = write!(text, "{other}");
                    }
                }
                lengths.push((text.len() - start) as u64);
            }
            (text.into_bytes(), lengths)
        };
        let parts: Vec<(Vec<u8>, Vec<u64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = by_rank
                .chunks(chunk)
                .map(|values| scope.spawn(move || render(values)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut bytes = Vec::with_capacity(parts.iter().map(|(b, _)| b.len()).sum());
        let mut ends = Vec::with_capacity(n);
        for (part, lengths) in parts {
            let mut end = bytes.len() as u64;
            for length in lengths {
                end += length;
                ends.push(end);
            }
            bytes.extend_from_slice(&part);
        }
        Some(Texts { ranks, bytes, ends })
    }

    /// The text of value `v`.
    #[inline]
    fn of(&self, v: ValueId) -> &[u8] {
        self.of_rank(self.ranks[v.0 as usize])
    }

    /// The text of the value of rank `rank`.
    #[inline]
    fn of_rank(&self, rank: u32) -> &[u8] {
        let rank = rank as usize;
        let start = if rank == 0 { 0 } else { self.ends[rank - 1] };
        &self.bytes[start as usize..self.ends[rank] as usize]
    }
}

/// Renders facts as lines of a `.facts` file, remembering the sources of each fact met.
struct FactLines<'m> {
    model: &'m Model,
    /// The texts of all values, when shared.
    texts: Option<&'m Texts<'m>>,
    sources: BestSources<'m>,
}

impl<'m> FactLines<'m> {
    fn new(program: &'m Program, model: &'m Model, texts: Option<&'m Texts<'m>>) -> FactLines<'m> {
        FactLines {
            model,
            texts,
            sources: BestSources::new(program, model),
        }
    }

    /// Appends the line of the `i`-th of `facts`, of the relation `name`, to `out`.
    fn push(&mut self, name: &str, facts: &SortedFacts, i: usize, out: &mut Vec<u8>) {
        let model = self.model;
        let fact = facts.fact(i);
        out.extend_from_slice(name.as_bytes());
        out.push(b'(');
        let mut ranks = [0u32; 4];
        match (self.texts, facts.ranks(i, &mut ranks)) {
            // The sort kept the ranks: the texts are read in output order, without
            // reading the fact's row.
            (Some(texts), Some(ranks)) => {
                for (c, &rank) in ranks.iter().enumerate() {
                    if c > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(texts.of_rank(rank));
                }
            }
            (texts, _) => {
                for (c, v) in model.tuple(fact).iter().enumerate() {
                    if c > 0 {
                        out.extend_from_slice(b", ");
                    }
                    match texts {
                        Some(texts) => out.extend_from_slice(texts.of(*v)),
                        None => out.extend_from_slice(
                            constant_text(model.interner().value(*v)).as_bytes(),
                        ),
                    }
                }
            }
        }
        out.push(b')');
        let c = model.confidence(fact);
        if c < 1.0 {
            out.extend_from_slice(b" @confidence(");
            out.extend_from_slice(constant_text(&Value::Float(c)).as_bytes());
            out.push(b')');
        }
        if let Some(source) = joined(&self.sources.of(fact)) {
            let mut quoted = String::with_capacity(source.len() + 2);
            let _ = write_quoted(&mut quoted, &source);
            out.extend_from_slice(b" @source(");
            out.extend_from_slice(quoted.as_bytes());
            out.push(b')');
        }
        out.extend_from_slice(b".\n");
    }
}
