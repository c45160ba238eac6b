//! Two-column rows grouped by their first value: group tables and per-group bitsets.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::sync::OnceLock;

use super::SPREAD;
use crate::value::ValueId;

/// An entry of a [`Pairs`] group: a row number, with or without the row's second value.
///
/// Without it a bucket takes 5 bytes instead of 9, but a probe that finds its row (or
/// whose hash tag matches by chance) reads the second value from the relation's rows:
/// one more cache miss when the rows are far larger than the caches. Relations mostly
/// probed for rows that exist (those tested by a negation) therefore keep it.
pub(super) trait PairEntry: Copy {
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
pub(super) struct Pairs<E> {
    /// First value to group number.
    pub(super) groups_by_first: HashTable<(u32, u32)>,
    /// Number of groups.
    count: u32,
    /// Per group: its rows. Always built once the bitsets are dropped.
    pub(super) tables: OnceLock<Vec<HashTable<E>>>,
    /// Per group: its second values as a bitset, if kept.
    pub(super) bits: Bits,
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
pub(super) const BITS_SLACK_WORDS: usize = 1 << 16;
/// Rows per bitset word a [`Pairs`] may hold (beyond the slack): the bitsets cost at
/// most 8 bytes per row, about what the group tables they stand in for take (5-byte
/// buckets, at most 7/8 full, doubling as they grow).
pub(super) const BITS_PER_ROW: usize = 1;

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
    pub(super) fn words_for(&self, value: u32) -> usize {
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
    pub(super) fn insert(&mut self, value: u32) {
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
    pub(super) fn contains(&self, value: u32) -> bool {
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
pub(super) struct Bits {
    /// Whether the bitsets are kept (and complete).
    pub(super) on: bool,
    /// Per group: its bitset.
    pub(super) groups: Vec<GroupBits>,
    /// Per first value: its group number, `u32::MAX` for none.
    pub(super) group_of: Vec<u32>,
    /// Words held, over all groups.
    pub(super) words: usize,
    /// While the bitsets are not kept: the row count at which to try rebuilding them.
    pub(super) retry_at: usize,
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
pub(super) fn span_words(low: u32, high: u32) -> usize {
    (high / 64 - low / 64) as usize + 1
}

impl Bits {
    /// Whether group `group` holds `second`; `None` if the bitsets are not kept.
    #[inline]
    pub(super) fn test(&self, group: u32, second: u32) -> Option<bool> {
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
    pub(super) fn group(&self, first: u32) -> Option<Option<u32>> {
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
    pub(super) fn budget(rows: usize) -> usize {
        BITS_SLACK_WORDS + rows / BITS_PER_ROW
    }

    /// Stops keeping the bitsets until the rows have grown by half.
    pub(super) fn drop_all(&mut self, rows: usize) {
        *self = Bits {
            on: false,
            groups: Vec::new(),
            group_of: Vec::new(),
            words: 0,
            retry_at: rows + rows / 2,
        };
    }

    /// Whether `more` words fit the budget of `rows` rows; drops the bitsets if not.
    pub(super) fn afford(&mut self, more: usize, rows: usize) -> bool {
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
    pub(super) fn set(&mut self, first: u32, group: u32, second: u32, rows: usize) {
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
    pub(super) fn for_each(&self, group: u32, mut f: impl FnMut(u32)) {
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

    pub(super) fn heap_bytes(&self) -> usize {
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
pub(super) enum Found {
    /// The row, present before.
    Row(u32),
    /// Present before, row not looked up (the caller said it needs none).
    Present,
    /// Absent; now recorded.
    Inserted,
}

#[inline]
pub(super) fn hash_value(v: u32) -> u64 {
    u64::from(v).wrapping_mul(SPREAD)
}

impl<E: PairEntry> Pairs<E> {
    pub(super) fn group_number(&self, first: u32) -> Option<u32> {
        if let Some(group) = self.bits.group(first) {
            return group;
        }
        self.groups_by_first
            .find(hash_value(first), |&(f, _)| f == first)
            .map(|&(_, g)| g)
    }

    /// The group tables of the rows in `data`, built from scratch.
    pub(super) fn build_tables(&self, data: &[ValueId]) -> Vec<HashTable<E>> {
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
    pub(super) fn rebuild_bits(&mut self, data: &[ValueId]) {
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
    pub(super) fn tables(&self, data: &[ValueId]) -> &[HashTable<E>] {
        self.tables.get_or_init(|| self.build_tables(data))
    }

    pub(super) fn find(&self, data: &[ValueId], first: u32, second: u32) -> Option<u32> {
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
    pub(super) fn contains(&self, data: &[ValueId], first: u32, second: u32) -> bool {
        let Some(group) = self.group_number(first) else {
            return false;
        };
        self.group_contains(data, group, second)
    }

    /// Whether the group of some first value holds `second`.
    #[inline]
    pub(super) fn group_contains(&self, data: &[ValueId], group: u32, second: u32) -> bool {
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
    pub(super) fn find_or_insert(
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
    pub(super) fn for_each_second(&self, data: &[ValueId], group: u32, mut f: impl FnMut(u32)) {
        match self.tables.get() {
            Some(tables) => {
                for &e in &tables[group as usize] {
                    f(e.second(data));
                }
            }
            None => self.bits.for_each(group, f),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<E>() + 1;
        let tables = self.tables.get().map_or(0, |tables| {
            tables.capacity() * std::mem::size_of::<HashTable<E>>()
                + tables.iter().map(|g| g.capacity() * bucket).sum::<usize>()
        });
        self.groups_by_first.capacity() * 9 + self.bits.heap_bytes() + tables
    }
}

/// The pairs of a two-column relation whose rows are all certain, asked by first value
/// and then second: a scan whose rows each give one candidate with the same first
/// value finds that value's group once.
#[derive(Clone, Copy)]
pub(crate) struct HeldPairs<'r> {
    pub(super) pairs: PairsRef<'r>,
    pub(super) data: &'r [ValueId],
}

#[derive(Clone, Copy)]
pub(super) enum PairsRef<'r> {
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
