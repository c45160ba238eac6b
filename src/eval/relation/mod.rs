//! Tuple storage for one relation: packed rows, a deduplicating hash table, confidences,
//! derivation records, and hash indexes keyed by bound columns.
//!
//! Rows are append-only and never move, so a row number is a stable [`FactId`] part and
//! "the rows that existed at time t" is the prefix `0..len_at_t`. Each index keeps, per
//! key, the row numbers in ascending order, so a lookup restricted to a prefix is a
//! binary search. A row's confidence and derivation may be replaced by a strictly
//! better one (max-product semiring); its values never change.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::sync::OnceLock;

use crate::eval::plan::Semijoin;
use crate::value::ValueId;

mod index;
mod pairs;
#[cfg(test)]
mod tests;

use index::IndexFilter;
pub(crate) use index::{Index, SortedIndex};
use pairs::{Found, Pairs, PairsRef};
pub(crate) use pairs::{GroupBits, HeldPairs};

/// Marks an input fact in a derivation given to [`Relation::insert`]; the low bits are
/// the fact's index in [`Program::facts`](crate::program::Program::facts).
pub(crate) const INPUT_BIT: u32 = 1 << 31;

/// A row's recorded derivation, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// An input fact: its index in the program's facts.
    Input(u32),
    /// A rule id and the premise rows its [`Layout`](super::provenance::Layout) stores.
    Rule(u32, Vec<u32>),
}

/// Premise row numbers, a fixed number of slots per row: 16 bits each when every
/// premise a rule deriving the relation stores is a row of a finished relation of at
/// most 65,536 rows (see [`Relation::narrow_premises`]), else 32.
#[derive(Clone, Debug)]
enum Slots {
    Narrow(Vec<u16>),
    Full(Vec<u32>),
}

impl Slots {
    /// Appends one row's slots: `premises`, then zeros up to `stride`. Narrow slots
    /// hold every premise given, as [`Relation::narrow_premises`] checked.
    #[inline]
    fn push(&mut self, premises: &[u32], stride: usize) {
        match self {
            Slots::Narrow(slots) => {
                slots.extend(premises.iter().map(|&p| p as u16));
                slots.resize(slots.len() + stride - premises.len(), 0);
            }
            Slots::Full(slots) => {
                push_values(slots, premises);
                slots.resize(slots.len() + stride - premises.len(), 0);
            }
        }
    }

    /// Overwrites the slots starting at `start` with `premises`, then zeros up to
    /// `stride`.
    fn set(&mut self, start: usize, premises: &[u32], stride: usize) {
        match self {
            Slots::Narrow(slots) => {
                let row = &mut slots[start..start + stride];
                for (slot, &p) in row.iter_mut().zip(premises) {
                    *slot = p as u16;
                }
                row[premises.len()..].fill(0);
            }
            Slots::Full(slots) => {
                let row = &mut slots[start..start + stride];
                row[..premises.len()].copy_from_slice(premises);
                row[premises.len()..].fill(0);
            }
        }
    }

    fn get(&self, start: usize, count: usize) -> Vec<u32> {
        match self {
            Slots::Narrow(slots) => slots[start..start + count]
                .iter()
                .map(|&p| u32::from(p))
                .collect(),
            Slots::Full(slots) => slots[start..start + count].to_vec(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Slots::Narrow(slots) => slots.capacity() * 2,
            Slots::Full(slots) => slots.capacity() * 4,
        }
    }
}

/// Per row, which derivation it has: 0 for an input fact, else one more than the rule's
/// position among the rules deriving the relation. As narrow as that count allows
/// (one byte for fewer than 255 rules).
#[derive(Clone, Debug)]
enum Codes {
    Narrow(Vec<u8>),
    Wide(Vec<u16>),
    Full(Vec<u32>),
    /// Every row has `code` (rows taken over by [`Relation::adopt`]); becomes a list of
    /// the width `rules` rules need when a row gets another code.
    Uniform {
        code: u32,
        len: usize,
        rules: usize,
    },
}

impl Codes {
    fn for_rules(count: usize) -> Codes {
        if count < usize::from(u8::MAX) {
            Codes::Narrow(Vec::new())
        } else if count < usize::from(u16::MAX) {
            Codes::Wide(Vec::new())
        } else {
            Codes::Full(Vec::new())
        }
    }

    /// Turns [`Codes::Uniform`] into a list.
    #[cold]
    fn materialize(&mut self) {
        if let Codes::Uniform { code, len, rules } = *self {
            *self = Codes::for_rules(rules);
            for _ in 0..len {
                self.push(code);
            }
        }
    }

    // The constructor picked a width that holds every code, so the casts are exact.
    #[inline]
    fn push(&mut self, code: u32) {
        match self {
            Codes::Narrow(codes) => codes.push(code as u8),
            Codes::Wide(codes) => codes.push(code as u16),
            Codes::Full(codes) => codes.push(code),
            Codes::Uniform {
                code: uniform, len, ..
            } if *uniform == code => *len += 1,
            Codes::Uniform { .. } => {
                self.materialize();
                self.push(code);
            }
        }
    }

    #[inline]
    fn set(&mut self, row: usize, code: u32) {
        match self {
            Codes::Narrow(codes) => codes[row] = code as u8,
            Codes::Wide(codes) => codes[row] = code as u16,
            Codes::Full(codes) => codes[row] = code,
            Codes::Uniform { code: uniform, .. } if *uniform == code => {}
            Codes::Uniform { .. } => {
                self.materialize();
                self.set(row, code);
            }
        }
    }

    #[inline]
    fn get(&self, row: usize) -> Option<u32> {
        match self {
            Codes::Narrow(codes) => codes.get(row).map(|&c| u32::from(c)),
            Codes::Wide(codes) => codes.get(row).map(|&c| u32::from(c)),
            Codes::Full(codes) => codes.get(row).copied(),
            Codes::Uniform { code, len, .. } => (row < *len).then_some(*code),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Codes::Narrow(codes) => codes.capacity(),
            Codes::Wide(codes) => codes.capacity() * 2,
            Codes::Full(codes) => codes.capacity() * 4,
            Codes::Uniform { .. } => 0,
        }
    }
}

/// The input fact of each input row: a run of consecutive fact indexes while rows and
/// facts go in step (the rows of one fact file, loaded in order), else a list.
#[derive(Clone, Debug)]
enum Inputs {
    /// Row `r` is fact `first + r`, for rows below `len`.
    Run { first: u32, len: usize },
    /// Row `r` is fact `list[r]`.
    List(Vec<u32>),
}

impl Inputs {
    fn get(&self, r: usize) -> u32 {
        match self {
            Inputs::Run { first, .. } => first + r as u32,
            Inputs::List(list) => list[r],
        }
    }

    /// Makes row `r` fact `fact`: a row already noted, or the next one.
    fn set(&mut self, r: usize, fact: u32) {
        if let Inputs::Run { first, len } = self {
            if r == *len && (*len == 0 || *first + r as u32 == fact) {
                if *len == 0 {
                    *first = fact;
                }
                *len += 1;
                return;
            }
            if r < *len && *first + r as u32 == fact {
                return;
            }
            let (first, len) = (*first, *len);
            *self = Inputs::List((0..len as u32).map(|row| first + row).collect());
        }
        if let Inputs::List(list) = self {
            match list.get_mut(r) {
                Some(slot) => *slot = fact,
                None => {
                    debug_assert_eq!(r, list.len(), "input rows come first");
                    list.push(fact);
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Inputs::Run { .. } => 0,
            Inputs::List(list) => list.capacity() * 4,
        }
    }
}

/// Hashes a row of values (FxHash-style multiply-rotate; deterministic across runs).
///
/// The result is a function of a 32-bit digest ([`digest`]), which the deduplicating
/// table stores beside each row number: growing the table then rehashes from the
/// digests alone, without reading the rows.
#[inline]
pub(crate) fn hash_row(row: &[ValueId]) -> u64 {
    let mut h: u64 = row.len() as u64;
    for v in row {
        h = (h.rotate_left(5) ^ u64::from(v.0)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    spread((h >> 32) as u32 ^ h as u32)
}

/// The 32-bit digest a row hash was spread from.
#[inline]
pub(crate) fn digest(hash: u64) -> u32 {
    hash.wrapping_mul(INVERSE) as u32
}

const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;
/// The multiplicative inverse of `SPREAD` modulo 2^64.
const INVERSE: u64 = 0xf1de_83e1_9937_733d;

/// A full 64-bit hash from a digest: hashbrown uses both the low bits (bucket) and the
/// top bits (tag), so the digest is multiplied by an odd constant to mix it into both.
#[inline]
fn spread(digest: u32) -> u64 {
    u64::from(digest).wrapping_mul(SPREAD)
}

/// Appends `values` to `out`. Rows are a few values long, and copying them one by
/// one is cheaper than the `memcpy` call `extend_from_slice` makes for a length not
/// known at compile time.
#[inline]
pub(crate) fn push_values<T: Copy>(out: &mut Vec<T>, values: &[T]) {
    if values.len() <= 4 {
        out.reserve(values.len());
        for &value in values {
            out.push(value);
        }
    } else {
        out.extend_from_slice(values);
    }
}

/// The deduplicating table of rows `0..len` of `data`, `arity` values each.
fn rows_table(data: &[ValueId], arity: usize, len: usize) -> HashTable<(u32, u32)> {
    let mut table = HashTable::with_capacity(len);
    for r in 0..len {
        let d = digest(hash_row(&data[r * arity..(r + 1) * arity]));
        table.insert_unique(spread(d), (r as u32, d), |&(_, d)| spread(d));
    }
    table
}

/// Entries a [`Dedup::Singles`] array may hold beyond [`SINGLES_PER_ROW`]'s share.
const SINGLES_SLACK: usize = 1 << 16;
/// Entries per row a [`Dedup::Singles`] array may hold (beyond the slack): at most 16
/// bytes per row, about what a hash table of rows and digests takes.
const SINGLES_PER_ROW: usize = 4;

/// The deduplicating table of a relation.
#[derive(Clone, Debug)]
enum Dedup {
    /// Two-column rows, grouped by their first value, groups holding row numbers only
    /// (see [`Pairs`]).
    Pairs(Pairs<u32>),
    /// Two-column rows, grouped by their first value, groups holding each row's second
    /// value beside its row number.
    WidePairs(Pairs<(u32, u32)>),
    /// One-column rows while value ids stay dense: per value id, its row plus one (0
    /// for none). Becomes [`Dedup::Rows`] once the array would outgrow
    /// [`SINGLES_SLACK`] plus [`SINGLES_PER_ROW`] entries per row.
    Singles(Vec<u32>),
    /// Other rows: row numbers with a 32-bit digest of their hash. Not built while rows
    /// are only appended by [`Relation::adopt`] and nothing asks for one.
    Rows(OnceLock<HashTable<(u32, u32)>>),
}

impl Dedup {
    fn heap_bytes(&self) -> usize {
        match self {
            Dedup::Pairs(pairs) => pairs.heap_bytes(),
            Dedup::WidePairs(pairs) => pairs.heap_bytes(),
            Dedup::Singles(rows) => rows.capacity() * 4,
            Dedup::Rows(table) => table.get().map_or(0, |table| table.capacity() * 9),
        }
    }
}

/// What [`Relation::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Merged {
    /// Appended a new row.
    New,
    /// Gave this existing row a better derivation.
    Improved(u32),
    /// The row existed with a confidence at least as high.
    Kept,
}

/// All tuples of one relation with their confidence and best derivation.
#[derive(Clone, Debug)]
pub(crate) struct Relation {
    pub arity: usize,
    /// Rows packed end to end: row `r` is `data[r*arity..(r+1)*arity]`. No duplicates.
    pub data: Vec<ValueId>,
    /// Confidence per row, in [0,1]; empty while every row's confidence is 1 (the
    /// common case of certain inputs and rules), which saves a column.
    confidence: Vec<f64>,
    /// Every row, for deduplication and membership.
    dedup: Dedup,
    /// Indexes by key columns, built on first use.
    pub indexes: Vec<Index>,
    /// Value-sorted indexes, built on first use.
    pub sorted: Vec<SortedIndex>,
    /// The rules deriving this relation, ascending ids.
    rules: Vec<u32>,
    /// Per row: which of `rules` derived it, or that it is an input fact; empty when
    /// derivations are not recorded.
    codes: Codes,
    /// Per input row (input facts come first, so these rows are a prefix): the index of
    /// its input fact, read when its code says input.
    inputs: Inputs,
    /// Premise slots per row: the most premises any rule deriving this relation stores.
    /// Row `r`'s stored premises are `premises[r*stride..]`, as many as its rule stores.
    stride: usize,
    /// Whether derivations are recorded.
    record: bool,
    /// Premise row numbers, `stride` slots per row (unused slots 0), in the order of the
    /// rule's stored premises. A better derivation overwrites the slots in place.
    premises: Slots,
    /// Number of rows; kept apart from `data` because rows of a nullary relation
    /// take no values.
    len: usize,
}

impl Relation {
    /// An empty relation derived by `rules` (ascending ids); `stride` premise slots per
    /// row if `record`. `negated` says whether some rule tests it in a negation: such
    /// relations are probed for rows that exist, and a two-column one then keeps second
    /// values in its deduplicating table (see [`PairEntry`]).
    pub fn new(
        arity: usize,
        rules: Vec<u32>,
        stride: usize,
        record: bool,
        negated: bool,
    ) -> Relation {
        Relation {
            arity,
            data: Vec::new(),
            confidence: Vec::new(),
            dedup: if arity == 2 && negated {
                Dedup::WidePairs(Pairs::default())
            } else if arity == 2 {
                Dedup::Pairs(Pairs::default())
            } else {
                if arity == 1 {
                    Dedup::Singles(Vec::new())
                } else {
                    Dedup::Rows(OnceLock::from(HashTable::new()))
                }
            },
            indexes: Vec::new(),
            sorted: Vec::new(),
            codes: Codes::for_rules(rules.len()),
            rules,
            inputs: Inputs::Run { first: 0, len: 0 },
            stride,
            record,
            premises: Slots::Full(Vec::new()),
            len: 0,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether every row is certain (no confidence is kept per row).
    pub fn all_certain(&self) -> bool {
        self.confidence.is_empty()
    }

    /// The confidence of row `r`.
    #[inline]
    pub fn confidence(&self, r: usize) -> f64 {
        if self.confidence.is_empty() {
            1.0
        } else {
            self.confidence[r]
        }
    }

    /// Appends a confidence for a new row (the row count is not yet increased).
    #[inline]
    fn push_confidence(&mut self, confidence: f64) {
        if self.confidence.is_empty() && confidence == 1.0 {
            return;
        }
        if self.confidence.is_empty() {
            self.confidence = vec![1.0; self.len];
        }
        self.confidence.push(confidence);
    }

    /// The values of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[ValueId] {
        &self.data[r * self.arity..(r + 1) * self.arity]
    }

    /// The hash of `tuple` for [`Relation::find`], [`Relation::contains`],
    /// [`Relation::holds_at_least`] and [`Relation::insert`]: computed only for relations
    /// whose table is keyed by it (others index values directly, and get 0).
    #[inline]
    pub fn hash(&self, tuple: &[ValueId]) -> u64 {
        match self.dedup {
            Dedup::Rows(_) => hash_row(tuple),
            Dedup::Pairs(_) | Dedup::WidePairs(_) | Dedup::Singles(_) => 0,
        }
    }

    /// The row holding exactly `tuple`, if any.
    #[inline]
    pub fn find(&self, tuple: &[ValueId], hash: u64) -> Option<u32> {
        match &self.dedup {
            Dedup::Pairs(pairs) => pairs.find(&self.data, tuple[0].0, tuple[1].0),
            Dedup::WidePairs(pairs) => pairs.find(&self.data, tuple[0].0, tuple[1].0),
            Dedup::Singles(rows) => match rows.get(tuple[0].0 as usize) {
                Some(&row) if row > 0 => Some(row - 1),
                _ => None,
            },
            Dedup::Rows(table) => {
                if self.len == 0 {
                    return None;
                }
                let arity = self.arity;
                let data = &self.data;
                let d = digest(hash);
                table
                    .get_or_init(|| rows_table(data, arity, self.len))
                    .find(hash, |&(r, rd)| {
                        rd == d && &data[r as usize * arity..(r as usize + 1) * arity] == tuple
                    })
                    .map(|&(r, _)| r)
            }
        }
    }

    /// Whether some row holds exactly `tuple`.
    #[inline]
    pub fn contains(&self, tuple: &[ValueId], hash: u64) -> bool {
        match &self.dedup {
            Dedup::Pairs(pairs) => pairs.contains(&self.data, tuple[0].0, tuple[1].0),
            Dedup::WidePairs(pairs) => pairs.contains(&self.data, tuple[0].0, tuple[1].0),
            Dedup::Singles(_) | Dedup::Rows(_) => self.find(tuple, hash).is_some(),
        }
    }

    /// For a two-column relation whose rows are all certain, a way to ask whether it
    /// holds a pair, or `None`. Certain rows hold every candidate of theirs at any
    /// confidence, so [`HeldPairs::holds`] is then [`Relation::holds_at_least`].
    pub fn held_pairs(&self) -> Option<HeldPairs<'_>> {
        if !self.confidence.is_empty() {
            return None;
        }
        let pairs = match &self.dedup {
            Dedup::Pairs(pairs) => PairsRef::Narrow(pairs),
            Dedup::WidePairs(pairs) => PairsRef::Wide(pairs),
            Dedup::Singles(_) | Dedup::Rows(_) => return None,
        };
        Some(HeldPairs {
            pairs,
            data: &self.data,
        })
    }

    /// Whether some row holds exactly `tuple` with a confidence of at least
    /// `confidence`.
    #[inline]
    pub fn holds_at_least(&self, tuple: &[ValueId], hash: u64, confidence: f64) -> bool {
        // While every row's confidence is 1, presence decides (for confidences up to 1).
        if self.confidence.is_empty() && confidence <= 1.0 {
            return self.contains(tuple, hash);
        }
        self.find(tuple, hash)
            .is_some_and(|row| self.confidence(row as usize) >= confidence)
    }

    /// Adds `tuple` if absent, or gives its row a strictly better confidence and
    /// derivation; one hash probe either way.
    pub fn insert(
        &mut self,
        tuple: &[ValueId],
        mut hash: u64,
        confidence: f64,
        rule: u32,
        premises: &[u32],
    ) -> Merged {
        let row = self.len as u32;
        // While every row's confidence is 1, an existing row is kept whatever it is.
        let row_needed = !(self.confidence.is_empty() && confidence <= 1.0);
        let found = match &mut self.dedup {
            Dedup::Pairs(pairs) => {
                Some(pairs.find_or_insert(&self.data, tuple[0].0, tuple[1].0, row, row_needed))
            }
            Dedup::WidePairs(pairs) => {
                Some(pairs.find_or_insert(&self.data, tuple[0].0, tuple[1].0, row, row_needed))
            }
            Dedup::Singles(rows) => {
                let at = tuple[0].0 as usize;
                if at < rows.len() {
                    match rows[at] {
                        0 => {
                            rows[at] = row + 1;
                            Some(Found::Inserted)
                        }
                        existing => Some(Found::Row(existing - 1)),
                    }
                } else if at < SINGLES_SLACK + SINGLES_PER_ROW * (row as usize + 1) {
                    rows.resize(at + 1, 0);
                    rows[at] = row + 1;
                    Some(Found::Inserted)
                } else {
                    // Sparse values: a hash table from now on, keyed by the hash the
                    // caller had no need to compute.
                    self.dedup = Dedup::Rows(OnceLock::new());
                    hash = hash_row(tuple);
                    None
                }
            }
            Dedup::Rows(_) => None,
        };
        let existing = match found {
            Some(Found::Row(existing)) => Some(existing),
            Some(Found::Present) => return Merged::Kept,
            Some(Found::Inserted) => None,
            None => self.find_or_insert_row(tuple, hash, row),
        };
        match existing {
            Some(existing) if self.confidence(existing as usize) < confidence => {
                self.improve(existing, confidence, rule, premises);
                Merged::Improved(existing)
            }
            Some(_) => Merged::Kept,
            None => {
                push_values(&mut self.data, tuple);
                self.push_confidence(confidence);
                self.record_new(rule, premises);
                self.len += 1;
                Merged::New
            }
        }
    }

    /// Whether [`Relation::adopt`] may take rows: the relation is empty and keeps its
    /// rows in a [`Dedup::Rows`] table.
    pub fn can_adopt(&self) -> bool {
        self.len == 0 && self.arity > 0 && matches!(self.dedup, Dedup::Rows(_))
    }

    /// Takes over `count` rows that the caller knows to be distinct, all derived by
    /// `rule`: `tuples` holds `arity` values per row, `confidence` one per row (or none
    /// when every row's is 1), `premises` the rule's `stored` premises per row. The
    /// buffers become the relation's columns without a copy, and the deduplicating
    /// table is built only when a row is looked up. Requires [`Relation::can_adopt`].
    pub fn adopt(
        &mut self,
        tuples: Vec<ValueId>,
        count: usize,
        confidence: Vec<f64>,
        rule: u32,
        premises: Vec<u32>,
        stored: usize,
    ) {
        debug_assert!(self.can_adopt(), "adopting into a relation that has rows");
        debug_assert_eq!(tuples.len(), count * self.arity);
        self.data = tuples;
        self.len = count;
        self.dedup = Dedup::Rows(OnceLock::new());
        if !confidence.is_empty() {
            self.confidence = confidence;
        }
        if self.record {
            let code = self.code(0, rule);
            self.codes = Codes::Uniform {
                code,
                len: count,
                rules: self.rules.len(),
            };
            if matches!(self.premises, Slots::Full(_)) && stored == self.stride {
                self.premises = Slots::Full(premises);
            } else {
                let mut slots = match &self.premises {
                    Slots::Full(_) => Slots::Full(Vec::with_capacity(count * self.stride)),
                    Slots::Narrow(_) => Slots::Narrow(Vec::with_capacity(count * self.stride)),
                };
                for r in 0..count {
                    slots.push(&premises[r * stored..(r + 1) * stored], self.stride);
                }
                self.premises = slots;
            }
        }
    }

    /// In a relation of [`Dedup::Rows`], the row of `tuple`, or `None` after recording
    /// it as `row` (which the caller then appends).
    #[inline]
    fn find_or_insert_row(&mut self, tuple: &[ValueId], hash: u64, row: u32) -> Option<u32> {
        match &mut self.dedup {
            Dedup::Pairs(_) | Dedup::WidePairs(_) | Dedup::Singles(_) => {
                unreachable!("rows kept apart")
            }
            Dedup::Rows(table) => {
                let arity = self.arity;
                let data = &self.data;
                if table.get().is_none() {
                    *table = OnceLock::from(rows_table(data, arity, self.len));
                }
                let table = table.get_mut().expect("the table was just built");
                let d = digest(hash);
                match table.entry(
                    hash,
                    |&(r, rd)| {
                        rd == d && &data[r as usize * arity..(r as usize + 1) * arity] == tuple
                    },
                    |&(_, d)| spread(d),
                ) {
                    Entry::Occupied(found) => Some(found.get().0),
                    Entry::Vacant(vacant) => {
                        vacant.insert((row, d));
                        None
                    }
                }
            }
        }
    }

    /// Replaces row `r`'s confidence and derivation with a better one.
    pub fn improve(&mut self, r: u32, confidence: f64, rule: u32, premises: &[u32]) {
        let r = r as usize;
        if self.confidence.is_empty() {
            self.confidence = vec![1.0; self.len];
        }
        self.confidence[r] = confidence;
        if self.record {
            let code = self.code(r, rule);
            self.codes.set(r, code);
            self.premises.set(r * self.stride, premises, self.stride);
        }
    }

    /// Stores premise rows in 16 bits from now on. The caller guarantees that every
    /// premise recorded from now on is below 65,536: each rule deriving this relation
    /// stores only rows of finished relations that small. Rows recorded so far are input
    /// facts, whose slots are all 0.
    pub fn narrow_premises(&mut self) {
        if let Slots::Full(slots) = &self.premises {
            if slots.iter().all(|&p| p <= u32::from(u16::MAX)) {
                self.premises = Slots::Narrow(slots.iter().map(|&p| p as u16).collect());
            }
        }
    }

    /// Sets row `r`'s confidence, keeping its recorded derivation (a combined fact).
    pub fn set_confidence(&mut self, r: usize, confidence: f64) {
        if self.confidence.is_empty() {
            if confidence == 1.0 {
                return;
            }
            self.confidence = vec![1.0; self.len];
        }
        self.confidence[r] = confidence;
    }

    /// Records the derivation of a row being appended.
    #[inline]
    fn record_new(&mut self, rule: u32, premises: &[u32]) {
        if self.record {
            debug_assert!(
                premises.len() <= self.stride,
                "premise slots fit every rule"
            );
            let code = self.code(self.len, rule);
            self.codes.push(code);
            self.premises.push(premises, self.stride);
        }
    }

    /// For a two-column relation, its rows grouped by first value: each first value with
    /// its group's number for [`Relation::pair_group`], in no particular order.
    pub fn pair_firsts(&self) -> Option<Vec<(ValueId, u32)>> {
        let firsts = match &self.dedup {
            Dedup::Pairs(pairs) => &pairs.groups_by_first,
            Dedup::WidePairs(pairs) => &pairs.groups_by_first,
            Dedup::Singles(_) | Dedup::Rows(_) => return None,
        };
        Some(firsts.iter().map(|&(f, g)| (ValueId(f), g)).collect())
    }

    /// Calls `f` with the second value of each row of group `group` (a number from
    /// [`Relation::pair_firsts`]), in no particular order.
    pub fn pair_group(&self, group: u32, mut f: impl FnMut(ValueId)) {
        let data = &self.data;
        match &self.dedup {
            Dedup::Pairs(pairs) => pairs.for_each_second(data, group, |v| f(ValueId(v))),
            Dedup::WidePairs(pairs) => pairs.for_each_second(data, group, |v| f(ValueId(v))),
            Dedup::Singles(_) | Dedup::Rows(_) => {}
        }
    }

    /// The code of a derivation of row `r` by `rule` (a rule id or `INPUT_BIT | fact`),
    /// noting an input fact's index.
    #[inline]
    fn code(&mut self, r: usize, rule: u32) -> u32 {
        if rule & INPUT_BIT != 0 {
            let fact = rule & !INPUT_BIT;
            self.inputs.set(r, fact);
            return 0;
        }
        match self.rules.as_slice() {
            [only] if *only == rule => 1,
            rules => {
                rules
                    .binary_search(&rule)
                    .expect("a rule deriving a relation is among its rules") as u32
                    + 1
            }
        }
    }

    /// The recorded derivation of row `r`, if derivations are recorded; `stored` is how
    /// many premises a rule stores.
    pub fn recorded(&self, r: usize, stored: impl Fn(u32) -> usize) -> Option<Recorded> {
        let code = self.codes.get(r)?;
        if code == 0 {
            return Some(Recorded::Input(self.inputs.get(r)));
        }
        let rule = self.rules[code as usize - 1];
        let start = r * self.stride;
        Some(Recorded::Rule(rule, self.premises.get(start, stored(rule))))
    }

    /// The slot of the index on `columns`, creating it if needed, brought up to date.
    pub fn ensure_index(&mut self, columns: &[usize]) -> usize {
        let slot = match self
            .indexes
            .iter()
            .position(|i| i.columns == columns && i.filter.is_none())
        {
            Some(slot) => slot,
            None => {
                self.indexes.push(Index::new(columns));
                self.indexes.len() - 1
            }
        };
        let len = self.len;
        self.indexes[slot].extend(&self.data, self.arity, len);
        slot
    }

    /// [`Relation::ensure_index`] for a relation that will not grow: the index is
    /// frozen, and a new one is built frozen at once.
    pub fn ensure_frozen_index(&mut self, columns: &[usize]) -> usize {
        let (data, arity, len) = (&self.data, self.arity, self.len);
        match self
            .indexes
            .iter()
            .position(|i| i.columns == columns && i.filter.is_none())
        {
            Some(slot) => {
                self.indexes[slot].extend(data, arity, len);
                self.indexes[slot].freeze(data, arity);
                slot
            }
            None => {
                let mut index = Index::new(columns);
                index.build_frozen(data, arity, len);
                self.indexes.push(index);
                self.indexes.len() - 1
            }
        }
    }

    /// The slot of the index on `columns`, or with `by` of the value-sorted index on
    /// `columns` sorted by `by`, creating it if needed, brought up to date.
    pub fn ensure_any_index(&mut self, columns: &[usize], by: Option<usize>) -> usize {
        let Some(by) = by else {
            return self.ensure_index(columns);
        };
        let slot = match self
            .sorted
            .iter()
            .position(|i| i.columns == columns && i.by == by)
        {
            Some(slot) => slot,
            None => {
                self.sorted.push(SortedIndex::new(columns, by));
                self.sorted.len() - 1
            }
        };
        let len = self.len;
        self.sorted[slot].extend(&self.data, self.arity, len);
        slot
    }

    /// The slot of the index on `columns` holding only the rows passing `semijoin`, if
    /// it exists, brought up to date.
    pub fn filtered_index(&mut self, columns: &[usize], semijoin: Semijoin) -> Option<usize> {
        let slot = self.indexes.iter().position(|i| {
            i.columns == columns && i.filter.as_ref().is_some_and(|f| f.semijoin == semijoin)
        })?;
        let len = self.len;
        self.indexes[slot].extend(&self.data, self.arity, len);
        Some(slot)
    }

    /// Creates the index on `columns` holding only the rows passing `semijoin`, whose
    /// passing values are `bits` (see [`Relation::column_bits`]), and returns its slot.
    pub fn add_filtered_index(
        &mut self,
        columns: &[usize],
        semijoin: Semijoin,
        bits: Vec<u64>,
    ) -> usize {
        let mut index = Index::new(columns);
        index.filter = Some(IndexFilter { semijoin, bits });
        index.extend(&self.data, self.arity, self.len);
        self.indexes.push(index);
        self.indexes.len() - 1
    }

    /// The values in `column`, one bit per value id.
    pub fn column_bits(&self, column: usize) -> Vec<u64> {
        let mut bits: Vec<u64> = Vec::new();
        for r in 0..self.len {
            let v = self.data[r * self.arity + column].0 as usize;
            if v / 64 >= bits.len() {
                bits.resize(v / 64 + 1, 0);
            }
            bits[v / 64] |= 1 << (v % 64);
        }
        bits
    }

    /// Lets every index go: they serve joins, and a finished model finds facts by value.
    pub fn drop_indexes(&mut self) {
        self.indexes = Vec::new();
        self.sorted = Vec::new();
    }

    /// Lays out the hash index in `slot` for a relation that is finished (see
    /// [`Index::freeze`]); it must be up to date.
    pub fn freeze_index(&mut self, slot: usize) {
        debug_assert_eq!(self.indexes[slot].covered, self.len);
        let (data, arity) = (&self.data, self.arity);
        self.indexes[slot].freeze(data, arity);
    }

    /// Brings every index up to date with the rows and lays out the hash indexes for a
    /// relation that is finished.
    pub fn freeze_indexes(&mut self) {
        self.refresh_indexes();
        for index in &mut self.indexes {
            index.freeze(&self.data, self.arity);
        }
    }

    /// Brings every index up to date with the rows.
    pub fn refresh_indexes(&mut self) {
        let len = self.len;
        for index in &mut self.indexes {
            index.extend(&self.data, self.arity, len);
        }
        for index in &mut self.sorted {
            index.extend(&self.data, self.arity, len);
        }
    }

    /// Bytes held by this relation's storage (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        let index_bytes: usize = self.indexes.iter().map(Index::heap_bytes).sum::<usize>()
            + self
                .sorted
                .iter()
                .map(SortedIndex::heap_bytes)
                .sum::<usize>();
        self.data.capacity() * 4
            + self.confidence.capacity() * 8
            + self.dedup.heap_bytes()
            + self.codes.heap_bytes()
            + self.inputs.heap_bytes()
            + self.premises.heap_bytes()
            + index_bytes
    }
}
