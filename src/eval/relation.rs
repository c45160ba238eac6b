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

/// A frozen one-column [`Index`] is laid out by value when the largest key value is
/// below this many entries per group (plus [`SINGLES_SLACK`]): 32 bytes a group at most,
/// against about 13 for its hash table and group starts.
const FROZEN_BY_VALUE_PER_GROUP: usize = 8;

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

/// An entry of a [`Pairs`] group: a row number, with or without the row's second value.
///
/// Without it a bucket takes 5 bytes instead of 9, but a probe that finds its row (or
/// whose hash tag matches by chance) reads the second value from the relation's rows:
/// one more cache miss when the rows are far larger than the caches. Relations mostly
/// probed for rows that exist (those tested by a negation) therefore keep it.
trait PairEntry: Copy {
    fn new(second: u32, row: u32) -> Self;
    fn row(self) -> u32;
    fn second(self, data: &[ValueId]) -> u32;
}

impl PairEntry for u32 {
    #[inline]
    fn new(_second: u32, row: u32) -> u32 {
        row
    }
    #[inline]
    fn row(self) -> u32 {
        self
    }
    #[inline]
    fn second(self, data: &[ValueId]) -> u32 {
        data[self as usize * 2 + 1].0
    }
}

impl PairEntry for (u32, u32) {
    #[inline]
    fn new(second: u32, row: u32) -> (u32, u32) {
        (second, row)
    }
    #[inline]
    fn row(self) -> u32 {
        self.1
    }
    #[inline]
    fn second(self, _data: &[ValueId]) -> u32 {
        self.0
    }
}

/// Membership of two-column rows as a two-level table: first value to group, then
/// second value to row number within the group. Rules tend to derive many facts with
/// the same first value one after another (all the places one node reaches), and those
/// probes then stay within one small table instead of hitting a large one at random.
/// Group entries are hashed by the second value, which [`PairEntry`] reads.
///
/// Beside the groups, while value ids stay dense enough, each group has a bitset of its
/// second values ([`Bits`]): a membership test then reads one word of a small array
/// instead of probing a group table that may be far out of cache. While the bitsets are
/// kept, the group tables are only needed to find a row's number, which evaluation
/// rarely asks for (a fact's confidence below 1, a fully bound premise, an explanation):
/// they are built on the first such question and kept up to date from then on.
#[derive(Clone, Debug)]
struct Pairs<E> {
    /// First value to group number.
    groups_by_first: HashTable<(u32, u32)>,
    /// Number of groups.
    count: u32,
    /// Per group: its rows. Always built once the bitsets are dropped.
    tables: OnceLock<Vec<HashTable<E>>>,
    /// Per group: its second values as a bitset, if kept.
    bits: Bits,
}

impl<E> Default for Pairs<E> {
    fn default() -> Self {
        Pairs {
            groups_by_first: HashTable::new(),
            count: 0,
            tables: OnceLock::new(),
            bits: Bits::default(),
        }
    }
}

/// Words of bitset a [`Pairs`] may hold beyond [`BITS_PER_ROW`]'s share.
const BITS_SLACK_WORDS: usize = 1 << 16;
/// Rows per bitset word a [`Pairs`] may hold (beyond the slack): the bitsets cost at
/// most 8 bytes per row, about what the group tables they stand in for take (5-byte
/// buckets, at most 7/8 full, doubling as they grow).
const BITS_PER_ROW: usize = 1;

/// The bitset of one group's second values: word `i` of `words` holds values
/// `(base + i) * 64 ..`, so a group whose values lie close together (the nodes a node
/// reaches on a chain) takes words for that stretch only.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupBits {
    base: u32,
    words: Vec<u64>,
}

impl GroupBits {
    /// The words [`GroupBits::insert`] of `value` would add.
    fn words_for(&self, value: u32) -> usize {
        let word = value / 64;
        let (base, len) = (self.base, self.words.len() as u32);
        if len == 0 {
            1
        } else if word < base {
            (base - word.min(base.saturating_sub(len))) as usize
        } else if word - base >= len {
            (word - base + 1 - len) as usize
        } else {
            0
        }
    }

    /// Adds `value`, growing the stretch of words to reach it: downwards by at least
    /// the present length, so that values arriving in descending order cost amortized
    /// constant time.
    fn insert(&mut self, value: u32) {
        let word = value / 64;
        let (base, len) = (self.base, self.words.len() as u32);
        if len == 0 {
            self.base = word;
            self.words.push(0);
        } else if word < base {
            let new_base = word.min(base.saturating_sub(len));
            self.words
                .splice(0..0, std::iter::repeat_n(0, (base - new_base) as usize));
            self.base = new_base;
        } else if word - base >= len {
            self.words.resize((word - base + 1) as usize, 0);
        }
        self.words[(word - self.base) as usize] |= 1 << (value % 64);
    }

    /// Whether `value` is present.
    #[inline]
    fn contains(&self, value: u32) -> bool {
        let word = (value / 64).wrapping_sub(self.base) as usize;
        self.words
            .get(word)
            .is_some_and(|&w| w & (1 << (value % 64)) != 0)
    }

    /// Appends to `out`, ascending, the values present in every set of `sets` (each
    /// given).
    pub(crate) fn intersect(sets: &[Option<&GroupBits>], out: &mut Vec<u32>) {
        let sets = || sets.iter().map(|s| s.expect("every set given"));
        let Some(low) = sets().map(|s| s.base).max() else {
            return;
        };
        let high = sets()
            .map(|s| s.base + s.words.len() as u32)
            .min()
            .unwrap_or(0);
        for word in low..high {
            let mut common = !0u64;
            for set in sets() {
                common &= set.words[(word - set.base) as usize];
            }
            while common != 0 {
                out.push(word * 64 + common.trailing_zeros());
                common &= common - 1;
            }
        }
    }
}

/// Per group of a [`Pairs`], a bitset of its second values (value ids are dense: they
/// are numbered in order of first appearance). Dropped once the words would outgrow
/// [`BITS_SLACK_WORDS`] plus a word per [`BITS_PER_ROW`] rows, so sparse values cost no
/// more than that; rebuilt when the rows have grown by half since and the words fit again (a
/// relation whose first rows spread wide and whose later rows fill the gaps).
#[derive(Clone, Debug)]
struct Bits {
    /// Whether the bitsets are kept (and complete).
    on: bool,
    /// Per group: its bitset.
    groups: Vec<GroupBits>,
    /// Per first value: its group number, `u32::MAX` for none.
    group_of: Vec<u32>,
    /// Words held, over all groups.
    words: usize,
    /// While the bitsets are not kept: the row count at which to try rebuilding them.
    retry_at: usize,
}

impl Default for Bits {
    fn default() -> Self {
        Bits {
            on: true,
            groups: Vec::new(),
            group_of: Vec::new(),
            words: 0,
            retry_at: 0,
        }
    }
}

/// The words a bitset of values `low..=high` takes.
fn span_words(low: u32, high: u32) -> usize {
    (high / 64 - low / 64) as usize + 1
}

impl Bits {
    /// Whether group `group` holds `second`; `None` if the bitsets are not kept.
    #[inline]
    fn test(&self, group: u32, second: u32) -> Option<bool> {
        if !self.on {
            return None;
        }
        Some(
            self.groups
                .get(group as usize)
                .is_some_and(|bits| bits.contains(second)),
        )
    }

    /// The group of first value `first`: `None` if the bitsets are not kept, else
    /// whether it has one.
    #[inline]
    fn group(&self, first: u32) -> Option<Option<u32>> {
        if !self.on {
            return None;
        }
        Some(
            self.group_of
                .get(first as usize)
                .copied()
                .filter(|&g| g != u32::MAX),
        )
    }

    /// The most words `rows` rows may keep.
    fn budget(rows: usize) -> usize {
        BITS_SLACK_WORDS + rows / BITS_PER_ROW
    }

    /// Stops keeping the bitsets until the rows have grown by half.
    fn drop_all(&mut self, rows: usize) {
        *self = Bits {
            on: false,
            groups: Vec::new(),
            group_of: Vec::new(),
            words: 0,
            retry_at: rows + rows / 2,
        };
    }

    /// Whether `more` words fit the budget of `rows` rows; drops the bitsets if not.
    fn afford(&mut self, more: usize, rows: usize) -> bool {
        if self.words + more > Bits::budget(rows) {
            self.drop_all(rows);
            return false;
        }
        self.words += more;
        true
    }

    /// Records a new row `(first, second)` of group `group`, which may be a new group;
    /// `rows` counts the rows with this one.
    #[inline]
    fn set(&mut self, first: u32, group: u32, second: u32, rows: usize) {
        if !self.on {
            return;
        }
        if group as usize == self.groups.len() {
            let at = first as usize;
            if at >= self.group_of.len() {
                // Two first values per word.
                if !self.afford((at + 1 - self.group_of.len()).div_ceil(2), rows) {
                    return;
                }
                self.group_of.resize(at + 1, u32::MAX);
            }
            self.group_of[at] = group;
            self.groups.push(GroupBits::default());
        }
        let more = self.groups[group as usize].words_for(second);
        if more > 0 && !self.afford(more, rows) {
            return;
        }
        self.groups[group as usize].insert(second);
    }

    /// Calls `f` with each value of group `group`, ascending.
    fn for_each(&self, group: u32, mut f: impl FnMut(u32)) {
        let bits = &self.groups[group as usize];
        for (i, &word) in bits.words.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let bit = word.trailing_zeros();
                f((bits.base + i as u32) * 64 + bit);
                word &= word - 1;
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.group_of.capacity() * 4
            + self.groups.capacity() * std::mem::size_of::<GroupBits>()
            + self
                .groups
                .iter()
                .map(|g| g.words.capacity() * 8)
                .sum::<usize>()
    }
}

/// What [`Pairs::find_or_insert`] found.
enum Found {
    /// The row, present before.
    Row(u32),
    /// Present before, row not looked up (the caller said it needs none).
    Present,
    /// Absent; now recorded.
    Inserted,
}

#[inline]
fn hash_value(v: u32) -> u64 {
    u64::from(v).wrapping_mul(SPREAD)
}

impl<E: PairEntry> Pairs<E> {
    fn group_number(&self, first: u32) -> Option<u32> {
        if let Some(group) = self.bits.group(first) {
            return group;
        }
        self.groups_by_first
            .find(hash_value(first), |&(f, _)| f == first)
            .map(|&(_, g)| g)
    }

    /// The group tables of the rows in `data`, built from scratch.
    fn build_tables(&self, data: &[ValueId]) -> Vec<HashTable<E>> {
        let mut tables: Vec<HashTable<E>> = Vec::with_capacity(self.count as usize);
        tables.resize_with(self.count as usize, HashTable::new);
        for (row, pair) in data.chunks_exact(2).enumerate() {
            let (first, second) = (pair[0].0, pair[1].0);
            let group = self
                .group_number(first)
                .expect("every row's first value has a group");
            tables[group as usize].insert_unique(
                hash_value(second),
                E::new(second, row as u32),
                |&e| hash_value(e.second(data)),
            );
        }
        tables
    }

    /// Rebuilds the bitsets from the rows in `data` if they fit the budget, and then
    /// lets the group tables go (they are rebuilt if a row number is asked for); else
    /// tries again once the rows have grown by half.
    fn rebuild_bits(&mut self, data: &[ValueId]) {
        let rows = data.len() / 2;
        let count = self.count as usize;
        let mut spans = vec![(u32::MAX, 0u32); count];
        let top_first = self
            .groups_by_first
            .iter()
            .map(|&(first, _)| first as usize + 1)
            .max()
            .unwrap_or(0);
        for pair in data.chunks_exact(2) {
            let group = self
                .group_number(pair[0].0)
                .expect("every row's first value has a group");
            let (low, high) = &mut spans[group as usize];
            *low = (*low).min(pair[1].0);
            *high = (*high).max(pair[1].0);
        }
        let words = top_first.div_ceil(2)
            + spans
                .iter()
                .map(|&(low, high)| span_words(low, high))
                .sum::<usize>();
        if words > Bits::budget(rows) {
            self.bits.retry_at = rows + rows / 2;
            return;
        }
        let mut group_of = vec![u32::MAX; top_first];
        for &(first, group) in &self.groups_by_first {
            group_of[first as usize] = group;
        }
        let mut groups: Vec<GroupBits> = spans
            .iter()
            .map(|&(low, high)| GroupBits {
                base: low / 64,
                words: vec![0; span_words(low, high)],
            })
            .collect();
        for pair in data.chunks_exact(2) {
            let bits = &mut groups[group_of[pair[0].0 as usize] as usize];
            let second = pair[1].0;
            bits.words[(second / 64 - bits.base) as usize] |= 1 << (second % 64);
        }
        self.bits = Bits {
            on: true,
            groups,
            group_of,
            words,
            retry_at: 0,
        };
        self.tables = OnceLock::new();
    }

    /// The group tables, built now if not yet.
    fn tables(&self, data: &[ValueId]) -> &[HashTable<E>] {
        self.tables.get_or_init(|| self.build_tables(data))
    }

    fn find(&self, data: &[ValueId], first: u32, second: u32) -> Option<u32> {
        let group = self.group_number(first)?;
        if self.bits.test(group, second) == Some(false) {
            return None;
        }
        self.tables(data)[group as usize]
            .find(hash_value(second), |&e| e.second(data) == second)
            .map(|&e| e.row())
    }

    /// Whether `(first, second)` is present.
    #[inline]
    fn contains(&self, data: &[ValueId], first: u32, second: u32) -> bool {
        let Some(group) = self.group_number(first) else {
            return false;
        };
        self.group_contains(data, group, second)
    }

    /// Whether the group of some first value holds `second`.
    #[inline]
    fn group_contains(&self, data: &[ValueId], group: u32, second: u32) -> bool {
        match self.bits.test(group, second) {
            Some(known) => known,
            None => self.tables(data)[group as usize]
                .find(hash_value(second), |&e| e.second(data) == second)
                .is_some(),
        }
    }

    /// The row of `(first, second)`, or `None` after recording it as `row` (which the
    /// caller then appends to `data`).
    ///
    /// With `row_needed` false, a row the bitsets show present is not looked up.
    fn find_or_insert(
        &mut self,
        data: &[ValueId],
        first: u32,
        second: u32,
        row: u32,
        row_needed: bool,
    ) -> Found {
        if !self.bits.on && row as usize >= self.bits.retry_at {
            self.rebuild_bits(data);
        }
        let known = self.bits.group(first).flatten();
        let group = match known {
            Some(group) => group,
            None => match self.groups_by_first.entry(
                hash_value(first),
                |&(f, _)| f == first,
                |&(f, _)| hash_value(f),
            ) {
                Entry::Occupied(found) => found.get().1,
                Entry::Vacant(vacant) => {
                    let next = self.count;
                    vacant.insert((first, next));
                    self.count += 1;
                    if let Some(tables) = self.tables.get_mut() {
                        tables.push(HashTable::new());
                    }
                    next
                }
            },
        };
        match self.bits.test(group, second) {
            Some(false) => {
                let built = match self.tables.get_mut() {
                    Some(tables) => {
                        tables[group as usize].insert_unique(
                            hash_value(second),
                            E::new(second, row),
                            |&e| hash_value(e.second(data)),
                        );
                        true
                    }
                    None => false,
                };
                self.bits.set(first, group, second, row as usize + 1);
                if !self.bits.on && !built {
                    // The bitsets just outgrew their budget: the tables take over.
                    let mut tables = self.build_tables(data);
                    tables[group as usize].insert_unique(
                        hash_value(second),
                        E::new(second, row),
                        |&e| hash_value(e.second(data)),
                    );
                    self.tables = OnceLock::from(tables);
                }
                return Found::Inserted;
            }
            Some(true) if !row_needed => return Found::Present,
            _ => {}
        }
        if self.tables.get().is_none() {
            let tables = self.build_tables(data);
            self.tables = OnceLock::from(tables);
        }
        let tables = self
            .tables
            .get_mut()
            .expect("the group tables were just built");
        match tables[group as usize].entry(
            hash_value(second),
            |&e| e.second(data) == second,
            |&e| hash_value(e.second(data)),
        ) {
            Entry::Occupied(found) => Found::Row(found.get().row()),
            Entry::Vacant(vacant) => {
                vacant.insert(E::new(second, row));
                self.bits.set(first, group, second, row as usize + 1);
                Found::Inserted
            }
        }
    }

    /// Calls `f` with the second value of each row of group `group`.
    fn for_each_second(&self, data: &[ValueId], group: u32, mut f: impl FnMut(u32)) {
        match self.tables.get() {
            Some(tables) => {
                for &e in &tables[group as usize] {
                    f(e.second(data));
                }
            }
            None => self.bits.for_each(group, f),
        }
    }

    fn heap_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<E>() + 1;
        let tables = self.tables.get().map_or(0, |tables| {
            tables.capacity() * std::mem::size_of::<HashTable<E>>()
                + tables.iter().map(|g| g.capacity() * bucket).sum::<usize>()
        });
        self.groups_by_first.capacity() * 9 + self.bits.heap_bytes() + tables
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

/// A hash index over some columns: rows grouped by the values in those columns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    /// The key columns, in key order.
    pub columns: Vec<usize>,
    /// Group numbers, hashed by the key of the group's first row; empty while `direct`
    /// stands in for it.
    table: HashTable<u32>,
    /// For a one-column key while value ids stay dense (within [`SINGLES_SLACK`] plus
    /// [`SINGLES_PER_ROW`] entries per row): per value id, its group plus one (0 for
    /// none). A lookup then reads one array entry instead of probing `table` and
    /// comparing against the group's first row.
    direct: Option<Vec<u32>>,
    /// Rows of each group, ascending.
    groups: Vec<Vec<u32>>,
    /// Rows `0..covered` are indexed.
    covered: usize,
    /// When set, only rows passing this semijoin are indexed.
    filter: Option<IndexFilter>,
    /// The groups laid out flat, once the relation will not grow: `groups` and
    /// `direct` are then empty. See [`Index::freeze`].
    frozen: Option<Frozen>,
}

/// An [`Index`]'s groups in one array, for a relation that is finished: a lookup reads
/// where its group starts and ends, then the rows, where open groups cost a read of the
/// group's own vector more and an allocation each.
#[derive(Clone, Debug)]
struct Frozen {
    /// Where each group's rows start in `rows`, and one entry more for the end: per
    /// value id when `by_value` (the index was `direct`), else per group number of
    /// `table`.
    starts: Vec<u32>,
    /// The rows of every group, group after group, ascending within a group.
    rows: Vec<u32>,
    /// Whether `starts` is indexed by the key's value id.
    by_value: bool,
}

impl Frozen {
    #[inline]
    fn group(&self, at: usize) -> &[u32] {
        match (self.starts.get(at), self.starts.get(at + 1)) {
            (Some(&start), Some(&end)) => &self.rows[start as usize..end as usize],
            _ => &[],
        }
    }
}

/// The rows a filtered [`Index`] holds: those whose value in a column is in a set.
#[derive(Clone, Debug)]
struct IndexFilter {
    /// The semijoin the set was made for; two filtered indexes on the same columns are
    /// the same only with the same semijoin.
    semijoin: Semijoin,
    /// The values that pass, one bit per value id.
    bits: Vec<u64>,
}

impl IndexFilter {
    #[inline]
    fn passes(&self, value: ValueId) -> bool {
        let v = value.0 as usize;
        self.bits
            .get(v / 64)
            .is_some_and(|word| word >> (v % 64) & 1 == 1)
    }
}

impl Index {
    /// An empty index on `columns`.
    fn new(columns: &[usize]) -> Index {
        Index {
            columns: columns.to_vec(),
            direct: (columns.len() == 1).then(Vec::new),
            ..Index::default()
        }
    }

    /// Switches from `direct` to `table`.
    fn hash_groups(&mut self, data: &[ValueId], arity: usize) {
        self.direct = None;
        for (g, rows) in self.groups.iter().enumerate() {
            let hash = self.key_hash(data, arity, rows[0] as usize);
            let columns = &self.columns;
            let groups = &self.groups;
            self.table.insert_unique(hash, g as u32, |&g| {
                let first = groups[g as usize][0] as usize;
                let mut h: u64 = columns.len() as u64;
                for &c in columns {
                    h = (h.rotate_left(5) ^ u64::from(data[first * arity + c].0))
                        .wrapping_mul(0x517c_c1b7_2722_0a95);
                }
                h
            });
        }
    }

    fn key_hash(&self, data: &[ValueId], arity: usize, row: usize) -> u64 {
        let mut h: u64 = self.columns.len() as u64;
        for &c in &self.columns {
            h = (h.rotate_left(5) ^ u64::from(data[row * arity + c].0))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        h
    }

    /// Hash of a key given as values in key-column order.
    #[inline]
    pub fn hash_key(key: &[ValueId]) -> u64 {
        let mut h: u64 = key.len() as u64;
        for v in key {
            h = (h.rotate_left(5) ^ u64::from(v.0)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        h
    }

    /// Lays the groups out flat ([`Frozen`]) for lookups in a relation that will not
    /// grow; rows added later still work, by undoing this first.
    fn freeze(&mut self, data: &[ValueId], arity: usize) {
        if self.frozen.is_some() {
            return;
        }
        if self.direct.is_none() && self.columns.len() == 1 && !self.groups.is_empty() {
            // A one-column key whose values grew past what `direct` allowed while rows
            // came in may still be dense enough overall to index by value: a lookup
            // then reads no hash table, and a missing key costs one read.
            let key = |rows: &Vec<u32>| data[rows[0] as usize * arity + self.columns[0]].0;
            let max = self.groups.iter().map(key).max().unwrap_or(0) as usize;
            if max < FROZEN_BY_VALUE_PER_GROUP * self.groups.len() + SINGLES_SLACK {
                let mut direct = vec![0u32; max + 1];
                for (g, rows) in self.groups.iter().enumerate() {
                    direct[key(rows) as usize] = g as u32 + 1;
                }
                self.direct = Some(direct);
                self.table = HashTable::new();
            }
        }
        let mut groups = std::mem::take(&mut self.groups);
        let mut rows = Vec::with_capacity(groups.iter().map(Vec::len).sum());
        let mut starts;
        let by_value = match self.direct.take() {
            Some(direct) => {
                starts = Vec::with_capacity(direct.len() + 1);
                for g in direct {
                    starts.push(rows.len() as u32);
                    if g > 0 {
                        rows.extend_from_slice(&std::mem::take(&mut groups[g as usize - 1]));
                    }
                }
                true
            }
            None => {
                starts = Vec::with_capacity(groups.len() + 1);
                for group in &mut groups {
                    starts.push(rows.len() as u32);
                    rows.extend_from_slice(&std::mem::take(group));
                }
                false
            }
        };
        starts.push(rows.len() as u32);
        self.frozen = Some(Frozen {
            starts,
            rows,
            by_value,
        });
    }

    /// Undoes [`Index::freeze`], so that rows can be added.
    fn thaw(&mut self) {
        let Some(frozen) = self.frozen.take() else {
            return;
        };
        let count = frozen.starts.len().saturating_sub(1);
        if frozen.by_value {
            let mut direct = vec![0; count];
            for (v, at) in direct.iter_mut().enumerate() {
                let group = frozen.group(v);
                if !group.is_empty() {
                    self.groups.push(group.to_vec());
                    *at = self.groups.len() as u32;
                }
            }
            self.direct = Some(direct);
        } else {
            self.groups = (0..count).map(|g| frozen.group(g).to_vec()).collect();
        }
    }

    /// Indexes rows `covered..len`.
    fn extend(&mut self, data: &[ValueId], arity: usize, len: usize) {
        if len > self.covered {
            self.thaw();
        }
        for row in self.covered..len {
            if let Some(filter) = &self.filter {
                if !filter.passes(data[row * arity + filter.semijoin.column]) {
                    continue;
                }
            }
            if let Some(direct) = &mut self.direct {
                let at = data[row * arity + self.columns[0]].0 as usize;
                if at >= direct.len() {
                    if at < SINGLES_SLACK + SINGLES_PER_ROW * (row + 1) {
                        direct.resize(at + 1, 0);
                    } else {
                        self.hash_groups(data, arity);
                    }
                }
            }
            if let Some(direct) = &mut self.direct {
                let at = data[row * arity + self.columns[0]].0 as usize;
                match direct[at] {
                    0 => {
                        self.groups.push(vec![row as u32]);
                        direct[at] = self.groups.len() as u32;
                    }
                    g => self.groups[g as usize - 1].push(row as u32),
                }
                continue;
            }
            let hash = self.key_hash(data, arity, row);
            let columns = &self.columns;
            let groups = &self.groups;
            let found = self.table.find(hash, |&g| {
                let first = groups[g as usize][0] as usize;
                columns
                    .iter()
                    .all(|&c| data[first * arity + c] == data[row * arity + c])
            });
            match found {
                Some(&g) => self.groups[g as usize].push(row as u32),
                None => {
                    let g = self.groups.len() as u32;
                    self.groups.push(vec![row as u32]);
                    let columns = &self.columns;
                    let groups = &self.groups;
                    self.table.insert_unique(hash, g, |&g| {
                        let first = groups[g as usize][0] as usize;
                        let mut h: u64 = columns.len() as u64;
                        for &c in columns {
                            h = (h.rotate_left(5) ^ u64::from(data[first * arity + c].0))
                                .wrapping_mul(0x517c_c1b7_2722_0a95);
                        }
                        h
                    });
                }
            }
        }
        self.covered = len;
    }

    /// Rows whose key columns equal `key`, ascending.
    #[inline]
    pub fn lookup(&self, data: &[ValueId], arity: usize, key: &[ValueId], hash: u64) -> &[u32] {
        if let Some(frozen) = &self.frozen {
            if frozen.by_value {
                return frozen.group(key[0].0 as usize);
            }
            let columns = &self.columns;
            return match self.table.find(hash, |&g| {
                let first = frozen.rows[frozen.starts[g as usize] as usize] as usize;
                columns
                    .iter()
                    .zip(key)
                    .all(|(&c, k)| data[first * arity + c] == *k)
            }) {
                Some(&g) => frozen.group(g as usize),
                None => &[],
            };
        }
        if let Some(direct) = &self.direct {
            return match direct.get(key[0].0 as usize) {
                Some(&g) if g > 0 => &self.groups[g as usize - 1],
                _ => &[],
            };
        }
        let columns = &self.columns;
        let groups = &self.groups;
        match self.table.find(hash, |&g| {
            let first = groups[g as usize][0] as usize;
            columns
                .iter()
                .zip(key)
                .all(|(&c, k)| data[first * arity + c] == *k)
        }) {
            Some(&g) => &self.groups[g as usize],
            None => &[],
        }
    }
}

/// An index whose groups are sorted by the value of one more column (`by`), for
/// intersecting groups of several relations on that value (leapfrog). Every key column
/// and `by` together are all the relation's columns, so a group holds each value once.
#[derive(Clone, Debug, Default)]
pub(crate) struct SortedIndex {
    /// The key columns, in key order.
    pub columns: Vec<usize>,
    /// The column groups are sorted by.
    pub by: usize,
    /// Group numbers, hashed by the key of the group's first row.
    table: HashTable<u32>,
    /// Per group: `(value of column by, row)`, ascending values.
    groups: Vec<Vec<(u32, u32)>>,
    /// Per group while value ids stay dense (within [`BITS_SLACK_WORDS`] plus a word
    /// per row): its values as a bitset, for intersecting many values at once.
    bits: Vec<GroupBits>,
    /// Words in `bits`.
    words: usize,
    /// Whether `bits` was dropped for good.
    sparse: bool,
    /// Rows `0..covered` are indexed.
    covered: usize,
}

impl SortedIndex {
    /// Indexes rows `covered..len`, then restores the order of the groups that grew out
    /// of order.
    fn extend(&mut self, data: &[ValueId], arity: usize, len: usize) {
        let key_hash = |columns: &[usize], row: usize| {
            let mut h: u64 = columns.len() as u64;
            for &c in columns {
                h = (h.rotate_left(5) ^ u64::from(data[row * arity + c].0))
                    .wrapping_mul(0x517c_c1b7_2722_0a95);
            }
            h
        };
        let mut unsorted = Vec::new();
        for row in self.covered..len {
            let hash = key_hash(&self.columns, row);
            let columns = &self.columns;
            let groups = &self.groups;
            let found = self.table.find(hash, |&g| {
                let first = groups[g as usize][0].1 as usize;
                columns
                    .iter()
                    .all(|&c| data[first * arity + c] == data[row * arity + c])
            });
            let entry = (data[row * arity + self.by].0, row as u32);
            let g = match found {
                Some(&g) => {
                    let group = &mut self.groups[g as usize];
                    if group.last().is_some_and(|&(v, _)| v > entry.0) {
                        unsorted.push(g);
                    }
                    group.push(entry);
                    g
                }
                None => {
                    let g = self.groups.len() as u32;
                    self.groups.push(vec![entry]);
                    let columns = &self.columns;
                    let groups = &self.groups;
                    self.table.insert_unique(hash, g, |&g| {
                        key_hash(columns, groups[g as usize][0].1 as usize)
                    });
                    g
                }
            };
            if !self.sparse {
                if g as usize == self.bits.len() {
                    self.bits.push(GroupBits::default());
                }
                let bits = &mut self.bits[g as usize];
                self.words += bits.words_for(entry.0);
                if self.words > BITS_SLACK_WORDS + row + 1 {
                    self.sparse = true;
                    self.bits = Vec::new();
                } else {
                    bits.insert(entry.0);
                }
            }
        }
        unsorted.sort_unstable();
        unsorted.dedup();
        for g in unsorted {
            self.groups[g as usize].sort_unstable();
        }
        self.covered = len;
    }

    /// Entries `(value, row)` of the rows whose key columns equal `key`, ascending
    /// values, and their values as a bitset if kept.
    #[inline]
    pub fn lookup(
        &self,
        data: &[ValueId],
        arity: usize,
        key: &[ValueId],
        hash: u64,
    ) -> (&[(u32, u32)], Option<&GroupBits>) {
        let columns = &self.columns;
        let groups = &self.groups;
        match self.table.find(hash, |&g| {
            let first = groups[g as usize][0].1 as usize;
            columns
                .iter()
                .zip(key)
                .all(|(&c, k)| data[first * arity + c] == *k)
        }) {
            Some(&g) => (&self.groups[g as usize], self.bits.get(g as usize)),
            None => (&[], None),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.groups.capacity() * std::mem::size_of::<Vec<(u32, u32)>>()
            + self.groups.iter().map(|g| g.capacity() * 8).sum::<usize>()
            + self.bits.capacity() * std::mem::size_of::<GroupBits>()
            + self.words * 8
    }
}

/// The pairs of a two-column relation whose rows are all certain, asked by first value
/// and then second: a scan whose rows each give one candidate with the same first
/// value finds that value's group once.
#[derive(Clone, Copy)]
pub(crate) struct HeldPairs<'r> {
    pairs: PairsRef<'r>,
    data: &'r [ValueId],
}

#[derive(Clone, Copy)]
enum PairsRef<'r> {
    Narrow(&'r Pairs<u32>),
    Wide(&'r Pairs<(u32, u32)>),
}

impl HeldPairs<'_> {
    /// The group of pairs whose first value is `first`, or `None` when there are none.
    #[inline]
    pub fn group(&self, first: ValueId) -> Option<u32> {
        match self.pairs {
            PairsRef::Narrow(pairs) => pairs.group_number(first.0),
            PairsRef::Wide(pairs) => pairs.group_number(first.0),
        }
    }

    /// Whether `group` (from [`HeldPairs::group`]) holds `second`.
    #[inline]
    pub fn group_holds(&self, group: u32, second: ValueId) -> bool {
        match self.pairs {
            PairsRef::Narrow(pairs) => pairs.group_contains(self.data, group, second.0),
            PairsRef::Wide(pairs) => pairs.group_contains(self.data, group, second.0),
        }
    }

    /// Whether `(first, second)` is held.
    #[inline]
    pub fn holds(&self, first: ValueId, second: ValueId) -> bool {
        self.group(first)
            .is_some_and(|group| self.group_holds(group, second))
    }
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
                self.sorted.push(SortedIndex {
                    columns: columns.to_vec(),
                    by,
                    ..SortedIndex::default()
                });
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
        let index_bytes: usize = self
            .indexes
            .iter()
            .map(|i| {
                i.table.capacity() * 5
                    + i.direct.as_ref().map_or(0, |d| d.capacity() * 4)
                    + i.groups.capacity() * std::mem::size_of::<Vec<u32>>()
                    + i.groups.iter().map(|g| g.capacity() * 4).sum::<usize>()
                    + i.filter.as_ref().map_or(0, |f| f.bits.capacity() * 8)
                    + i.frozen
                        .as_ref()
                        .map_or(0, |f| (f.starts.capacity() + f.rows.capacity()) * 4)
            })
            .sum::<usize>()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[u32]) -> Vec<ValueId> {
        values.iter().map(|&v| ValueId(v)).collect()
    }

    #[test]
    fn rows_deduplicate_and_indexes_group_by_key() {
        let mut relation = Relation::new(2, vec![0], 0, true, false);
        for (a, b) in [(1, 2), (1, 3), (2, 3)] {
            let t = ids(&[a, b]);
            let h = hash_row(&t);
            assert!(relation.find(&t, h).is_none());
            assert_eq!(relation.insert(&t, h, 1.0, 0, &[]), Merged::New);
        }
        let t = ids(&[1, 3]);
        assert_eq!(relation.find(&t, hash_row(&t)), Some(1));
        let slot = relation.ensure_index(&[0]);
        let key = ids(&[1]);
        let index = &relation.indexes[slot];
        assert_eq!(
            index.lookup(&relation.data, 2, &key, Index::hash_key(&key)),
            &[0, 1]
        );
        // Rows added later are indexed on refresh, in ascending order.
        let t = ids(&[1, 9]);
        relation.insert(&t, hash_row(&t), 0.5, 0, &[]);
        relation.refresh_indexes();
        let index = &relation.indexes[slot];
        assert_eq!(
            index.lookup(&relation.data, 2, &key, Index::hash_key(&key)),
            &[0, 1, 3]
        );
        let other = ids(&[7]);
        assert!(index
            .lookup(&relation.data, 2, &other, Index::hash_key(&other))
            .is_empty());
    }

    #[test]
    fn frozen_indexes_find_the_same_rows_and_thaw_when_rows_are_added() {
        // Dense first values (direct) and sparse ones (hashed); a two-column key too.
        for spread in [1u32, 1_000_003] {
            let mut relation = Relation::new(2, vec![0], 0, false, false);
            let rows: Vec<(u32, u32)> = (0..500u32).map(|i| ((i % 37) * spread, i)).collect();
            for &(a, b) in &rows {
                let t = ids(&[a, b]);
                relation.insert(&t, hash_row(&t), 1.0, 0, &[]);
            }
            let one = relation.ensure_index(&[0]);
            let two = relation.ensure_index(&[0, 1]);
            let lookups = |relation: &Relation| -> Vec<Vec<u32>> {
                let mut found = Vec::new();
                for a in 0..40u32 {
                    let key = ids(&[a * spread]);
                    let index = &relation.indexes[one];
                    found.push(
                        index
                            .lookup(&relation.data, 2, &key, Index::hash_key(&key))
                            .to_vec(),
                    );
                    let key = ids(&[a * spread, a + 37]);
                    let index = &relation.indexes[two];
                    found.push(
                        index
                            .lookup(&relation.data, 2, &key, Index::hash_key(&key))
                            .to_vec(),
                    );
                }
                found
            };
            let open = lookups(&relation);
            assert_eq!(open[0], (0..500).step_by(37).collect::<Vec<u32>>());
            assert_eq!(open[2 * 39], Vec::<u32>::new(), "no first value 39");
            relation.freeze_indexes();
            assert!(relation.indexes.iter().all(|i| i.frozen.is_some()));
            assert!(relation.indexes.iter().all(|i| i.groups.is_empty()));
            let by_value = relation.indexes[one].frozen.as_ref().map(|f| f.by_value);
            assert_eq!(by_value, Some(spread == 1), "dense keys index by value");
            assert_eq!(lookups(&relation), open);
            // A row added after freezing: the index thaws and finds it.
            let t = ids(&[3 * spread, 1000]);
            relation.insert(&t, hash_row(&t), 1.0, 0, &[]);
            relation.refresh_indexes();
            assert!(relation.indexes.iter().all(|i| i.frozen.is_none()));
            let key = ids(&[3 * spread]);
            let index = &relation.indexes[one];
            let mut expected: Vec<u32> = (3..500).step_by(37).collect();
            expected.push(500);
            assert_eq!(
                index.lookup(&relation.data, 2, &key, Index::hash_key(&key)),
                expected.as_slice()
            );
            let mut again = open.clone();
            again[6].push(500);
            assert_eq!(lookups(&relation), again);
        }
    }

    #[test]
    fn a_key_hashed_while_rows_came_in_is_frozen_by_value_when_dense_overall() {
        let mut relation = Relation::new(2, vec![0], 0, false, false);
        // The first row's key is past what a direct index allows for one row.
        for v in (100_000..200_000u32).rev() {
            let t = ids(&[v, v % 7]);
            relation.insert(&t, hash_row(&t), 1.0, 0, &[]);
        }
        let slot = relation.ensure_index(&[0]);
        assert!(
            relation.indexes[slot].direct.is_none(),
            "hashed while filled"
        );
        relation.freeze_indexes();
        let frozen = relation.indexes[slot].frozen.as_ref().expect("frozen");
        assert!(frozen.by_value);
        assert_eq!(relation.indexes[slot].table.len(), 0, "no hash table kept");
        let index = &relation.indexes[slot];
        for (v, row) in [(199_999, 0), (150_000, 49_999), (100_000, 99_999)] {
            let key = ids(&[v]);
            assert_eq!(
                index.lookup(&relation.data, 2, &key, Index::hash_key(&key)),
                &[row]
            );
        }
        for v in [0, 99_999, 200_000, 5_000_000] {
            let key = ids(&[v]);
            assert!(index
                .lookup(&relation.data, 2, &key, Index::hash_key(&key))
                .is_empty());
        }
    }

    #[test]
    fn one_column_rows_and_one_column_keys_move_to_hash_tables_when_sparse() {
        let mut relation = Relation::new(1, vec![0], 0, false, false);
        let mut pairs = Relation::new(2, vec![0], 0, false, false);
        let values: Vec<u32> = (0..300).map(|i| i * 1_000_003 % 50_000_000).collect();
        for (n, &v) in values.iter().enumerate() {
            // Hashes as evaluation computes them: none while values index directly.
            let t = ids(&[v]);
            assert_eq!(
                relation.insert(&t, relation.hash(&t), 1.0, 0, &[]),
                Merged::New
            );
            assert_eq!(
                relation.insert(&t, relation.hash(&t), 1.0, 0, &[]),
                Merged::Kept
            );
            assert_eq!(relation.find(&t, relation.hash(&t)), Some(n as u32));
            let t = ids(&[v, 7]);
            pairs.insert(&t, hash_row(&t), 1.0, 0, &[]);
        }
        assert!(matches!(relation.dedup, Dedup::Rows(_)), "sparse values");
        let slot = pairs.ensure_index(&[0]);
        assert!(pairs.indexes[slot].direct.is_none(), "sparse keys");
        for (n, &v) in values.iter().enumerate() {
            let t = ids(&[v]);
            assert!(relation.contains(&t, relation.hash(&t)));
            assert_eq!(relation.find(&t, relation.hash(&t)), Some(n as u32));
            let index = &pairs.indexes[slot];
            assert_eq!(
                index.lookup(&pairs.data, 2, &t, Index::hash_key(&t)),
                &[n as u32]
            );
            let t = ids(&[v + 1]);
            assert!(!relation.contains(&t, hash_row(&t)));
        }
    }

    #[test]
    fn input_rows_remember_their_facts_in_a_run_until_they_leave_step() {
        let mut relation = Relation::new(1, vec![], 0, true, false);
        let stored = |_| 0;
        for (fact, value) in [(5, 10), (6, 11), (7, 12)] {
            let t = ids(&[value]);
            relation.insert(&t, hash_row(&t), 0.5, INPUT_BIT | fact, &[]);
        }
        assert!(matches!(relation.inputs, Inputs::Run { first: 5, len: 3 }));
        // A more confident duplicate of row 1 (fact 9) replaces its record.
        let t = ids(&[11]);
        relation.insert(&t, hash_row(&t), 0.9, INPUT_BIT | 9, &[]);
        // A row whose fact is not next in the run.
        let t = ids(&[13]);
        relation.insert(&t, hash_row(&t), 1.0, INPUT_BIT | 20, &[]);
        let facts: Vec<Option<Recorded>> = (0..4).map(|r| relation.recorded(r, stored)).collect();
        assert_eq!(
            facts,
            [5, 9, 7, 20].map(|f| Some(Recorded::Input(f))).to_vec()
        );
    }

    #[test]
    fn bitsets_over_different_stretches_intersect_to_the_common_values() {
        let a_values: Vec<u32> = (0..400).rev().map(|i| i * 3 + 100).collect();
        let b_values: Vec<u32> = (0..300).map(|i| i * 5 + 700).collect();
        let c_values: Vec<u32> = (0..2000).filter(|v| v % 2 == 0).collect();
        let set = |values: &[u32]| {
            let mut bits = GroupBits::default();
            for &v in values {
                bits.insert(v);
            }
            bits
        };
        let (a, b, c) = (set(&a_values), set(&b_values), set(&c_values));
        assert!(a_values.iter().all(|&v| a.contains(v)) && !a.contains(101));
        let mut out = Vec::new();
        GroupBits::intersect(&[Some(&a), Some(&b), Some(&c)], &mut out);
        let mut expected: Vec<u32> = a_values
            .iter()
            .copied()
            .filter(|v| b_values.contains(v) && c_values.contains(v))
            .collect();
        expected.sort_unstable();
        assert!(!expected.is_empty());
        assert_eq!(out, expected);
        out.clear();
        GroupBits::intersect(&[Some(&set(&[5, 9])), Some(&set(&[900]))], &mut out);
        assert!(out.is_empty(), "stretches that do not overlap");
    }

    #[test]
    fn pair_membership_survives_dropping_the_bitsets() {
        let mut relation = Relation::new(2, vec![0], 0, false, true);
        // Second values far apart: the bitsets outgrow their budget and are dropped.
        let pairs: Vec<(u32, u32)> = (0..200)
            .map(|i| (i % 7, i * 1_000_003 % 40_000_000))
            .collect();
        for (n, &(a, b)) in pairs.iter().enumerate() {
            let t = ids(&[a, b]);
            let h = hash_row(&t);
            assert!(!relation.contains(&t, h));
            assert_eq!(relation.insert(&t, h, 1.0, 0, &[]), Merged::New);
            assert_eq!(relation.insert(&t, h, 1.0, 0, &[]), Merged::Kept);
            assert_eq!(relation.find(&t, h), Some(n as u32));
        }
        for &(a, b) in &pairs {
            let t = ids(&[a, b]);
            assert!(relation.contains(&t, hash_row(&t)));
            let t = ids(&[a, b + 1]);
            assert!(!relation.contains(&t, hash_row(&t)));
        }
        let Dedup::WidePairs(table) = &relation.dedup else {
            panic!("a negated two-column relation keeps wide pairs");
        };
        assert!(!table.bits.on);
    }

    #[test]
    fn rows_are_found_without_group_tables_built_during_inserts() {
        let mut relation = Relation::new(2, vec![0], 0, false, false);
        // Descending second values grow each group's bitset downwards.
        let pairs: Vec<(u32, u32)> = (0..3000).map(|i| (i % 5, 5000 - i)).collect();
        for &(a, b) in &pairs {
            let t = ids(&[a, b]);
            assert_eq!(relation.insert(&t, hash_row(&t), 1.0, 0, &[]), Merged::New);
            assert_eq!(relation.insert(&t, hash_row(&t), 1.0, 0, &[]), Merged::Kept);
        }
        let Dedup::Pairs(table) = &relation.dedup else {
            panic!("a two-column relation keeps pairs");
        };
        assert!(table.bits.on);
        assert!(table.tables.get().is_none(), "no row number was asked for");
        for (n, &(a, b)) in pairs.iter().enumerate() {
            let t = ids(&[a, b]);
            assert_eq!(relation.find(&t, hash_row(&t)), Some(n as u32));
            let t = ids(&[a, b + 5000]);
            assert_eq!(relation.find(&t, hash_row(&t)), None);
        }
        // Once built, the tables follow later inserts.
        let t = ids(&[7, 1]);
        assert_eq!(relation.insert(&t, hash_row(&t), 1.0, 0, &[]), Merged::New);
        assert_eq!(relation.find(&t, hash_row(&t)), Some(3000));
        let mut seconds = Vec::new();
        let firsts = relation.pair_firsts().expect("pairs");
        let (_, group) = firsts
            .iter()
            .find(|(f, _)| f.0 == 2)
            .copied()
            .expect("group");
        relation.pair_group(group, |v| seconds.push(v.0));
        seconds.sort_unstable();
        let mut expected: Vec<u32> = pairs.iter().filter(|p| p.0 == 2).map(|p| p.1).collect();
        expected.sort_unstable();
        assert_eq!(seconds, expected);
    }

    #[test]
    fn bitsets_come_back_when_later_rows_fill_the_gaps() {
        let mut relation = Relation::new(2, vec![0], 0, false, false);
        // A hundred groups, each spanning a thousand words with its first two rows:
        // over budget, so the bitsets are dropped.
        let mut pairs: Vec<(u32, u32)> = (0..100).flat_map(|g| [(g, 0), (g, 63_999)]).collect();
        // Later rows fill the spans until the words fit the rows' budget again.
        pairs.extend((1..400).flat_map(|j| (0..100).map(move |g| (g, j * 160))));
        let bits_on = |relation: &Relation| match &relation.dedup {
            Dedup::Pairs(table) => table.bits.on,
            _ => panic!("a two-column relation keeps pairs"),
        };
        let mut dropped = false;
        for &(a, b) in &pairs {
            let t = ids(&[a, b]);
            assert_eq!(relation.insert(&t, hash_row(&t), 1.0, 0, &[]), Merged::New);
            dropped |= !bits_on(&relation);
        }
        assert!(dropped, "the first rows spread too wide");
        assert!(bits_on(&relation), "the bitsets were rebuilt");
        for (n, &(a, b)) in pairs.iter().enumerate() {
            let t = ids(&[a, b]);
            assert!(relation.contains(&t, hash_row(&t)));
            assert_eq!(relation.find(&t, hash_row(&t)), Some(n as u32));
            let t = ids(&[a, b + 1]);
            assert!(!relation.contains(&t, hash_row(&t)));
            assert_eq!(relation.find(&t, hash_row(&t)), None);
        }
    }

    #[test]
    fn sparse_first_values_drop_the_bitsets() {
        let mut relation = Relation::new(2, vec![0], 0, false, false);
        let pairs: Vec<(u32, u32)> = (0..50).map(|i| (i * 999_983 % 30_000_000, i % 3)).collect();
        for &(a, b) in &pairs {
            let t = ids(&[a, b]);
            assert_eq!(relation.insert(&t, hash_row(&t), 1.0, 0, &[]), Merged::New);
        }
        for &(a, b) in &pairs {
            let t = ids(&[a, b]);
            assert!(relation.contains(&t, hash_row(&t)));
            let t = ids(&[a + 1, b]);
            assert!(!relation.contains(&t, hash_row(&t)));
        }
        let Dedup::Pairs(table) = &relation.dedup else {
            panic!("a two-column relation keeps pairs");
        };
        assert!(!table.bits.on);
    }

    #[test]
    fn a_better_confidence_is_merged_past_the_bitsets() {
        let mut relation = Relation::new(2, vec![0, 1], 1, true, false);
        let t = ids(&[3, 5]);
        let h = hash_row(&t);
        assert_eq!(relation.insert(&t, h, 0.5, 0, &[1]), Merged::New);
        assert!(relation.holds_at_least(&t, h, 0.5));
        assert!(!relation.holds_at_least(&t, h, 0.6));
        assert_eq!(relation.insert(&t, h, 0.9, 1, &[2]), Merged::Improved(0));
        assert_eq!(relation.insert(&t, h, 0.9, 0, &[3]), Merged::Kept);
        assert!(relation.holds_at_least(&t, h, 0.9));
    }

    #[test]
    fn improving_a_row_replaces_its_derivation() {
        let mut relation = Relation::new(1, vec![0, 1, 2], 1, true, false);
        let t = ids(&[4]);
        assert_eq!(relation.insert(&t, hash_row(&t), 0.5, 0, &[7]), Merged::New);
        assert_eq!(
            relation.insert(&t, hash_row(&t), 0.9, 1, &[8]),
            Merged::Improved(0)
        );
        assert_eq!(
            relation.insert(&t, hash_row(&t), 0.7, 2, &[9]),
            Merged::Kept
        );
        assert_eq!(relation.confidence(0), 0.9);
        assert_eq!(
            relation.recorded(0, |_| 1),
            Some(Recorded::Rule(1, vec![8]))
        );
    }
}
