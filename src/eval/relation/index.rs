//! Indexes of a relation by bound columns: hashed or by value, open or frozen, and
//! sorted by one more column for intersection.

use hashbrown::HashTable;

use super::pairs::{GroupBits, BITS_SLACK_WORDS};
use super::{SINGLES_PER_ROW, SINGLES_SLACK};
use crate::eval::plan::Semijoin;
use crate::value::ValueId;

/// A frozen one-column [`Index`] is laid out by value when the largest key value is
/// below this many entries per group (plus [`SINGLES_SLACK`]): 32 bytes a group at most,
/// against about 13 for its hash table and group starts.
pub(super) const FROZEN_BY_VALUE_PER_GROUP: usize = 8;

/// A hash index over some columns: rows grouped by the values in those columns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    /// The key columns, in key order.
    pub columns: Vec<usize>,
    /// Group numbers, hashed by the key of the group's first row; empty while `direct`
    /// stands in for it.
    pub(super) table: HashTable<u32>,
    /// For a one-column key while value ids stay dense (within [`SINGLES_SLACK`] plus
    /// [`SINGLES_PER_ROW`] entries per row): per value id, its group plus one (0 for
    /// none). A lookup then reads one array entry instead of probing `table` and
    /// comparing against the group's first row.
    pub(super) direct: Option<Vec<u32>>,
    /// Rows of each group, ascending.
    pub(super) groups: Vec<Vec<u32>>,
    /// Rows `0..covered` are indexed.
    pub(super) covered: usize,
    /// When set, only rows passing this semijoin are indexed.
    pub(super) filter: Option<IndexFilter>,
    /// The groups laid out flat, once the relation will not grow: `groups` and
    /// `direct` are then empty. See [`Index::freeze`].
    pub(super) frozen: Option<Frozen>,
}

/// An [`Index`]'s groups in one array, for a relation that is finished: a lookup reads
/// where its group starts and ends, then the rows, where open groups cost a read of the
/// group's own vector more and an allocation each.
#[derive(Clone, Debug)]
pub(super) struct Frozen {
    /// Where each group's rows start in `rows`, and one entry more for the end: per
    /// value id when `by_value` (the index was `direct`), else per group number of
    /// `table`.
    pub(super) starts: Vec<u32>,
    /// The rows of every group, group after group, ascending within a group; when
    /// `paired`, each followed by its value in the column the key leaves.
    pub(super) rows: Vec<u32>,
    /// Whether `starts` is indexed by the key's value id.
    pub(super) by_value: bool,
    /// Whether each row in `rows` is followed by its other value (see [`Group`]).
    pub(super) paired: bool,
}

impl Frozen {
    #[inline]
    pub(super) fn group(&self, at: usize) -> Group<'_> {
        let stride = 1 + usize::from(self.paired);
        match (self.starts.get(at), self.starts.get(at + 1)) {
            (Some(&start), Some(&end)) => Group {
                entries: &self.rows[start as usize * stride..end as usize * stride],
                paired: self.paired,
            },
            _ => Group::default(),
        }
    }

    /// The first row of group `g`.
    fn first_row(&self, g: usize) -> usize {
        self.rows[self.starts[g] as usize * (1 + usize::from(self.paired))] as usize
    }
}

/// The rows of one group of an [`Index`], ascending: row numbers, or for a frozen index
/// of a two-column relation keyed on one, each row with its value in the other column,
/// so that a scan of the group reads nothing else (each row of the relation read
/// instead is a cache miss of its own when the relation is large).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Group<'a> {
    entries: &'a [u32],
    paired: bool,
}

impl<'a> Group<'a> {
    /// A group of plain row numbers.
    pub(crate) fn of_rows(rows: &'a [u32]) -> Group<'a> {
        Group {
            entries: rows,
            paired: false,
        }
    }

    /// Number of rows.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len() >> usize::from(self.paired)
    }

    /// Whether the group has no rows.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `i`-th row.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> u32 {
        self.entries[i << usize::from(self.paired)]
    }

    /// Whether the group holds each row's value in the column the key leaves.
    #[inline]
    pub(crate) fn is_paired(&self) -> bool {
        self.paired
    }

    /// The `i`-th row's value in the column the key leaves, when the group holds it.
    #[inline]
    pub(crate) fn other(&self, i: usize) -> Option<ValueId> {
        self.paired.then(|| ValueId(self.entries[2 * i + 1]))
    }

    /// The rows at positions `range`.
    #[inline]
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Group<'a> {
        let shift = usize::from(self.paired);
        Group {
            entries: &self.entries[range.start << shift..range.end << shift],
            paired: self.paired,
        }
    }

    /// The rows below `end`.
    #[inline]
    pub(crate) fn below(&self, end: u32) -> Group<'a> {
        let n = self.len();
        if n == 0 || self.row(n - 1) < end {
            return *self;
        }
        let (mut low, mut high) = (0, n);
        while low < high {
            let mid = (low + high) / 2;
            if self.row(mid) < end {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        self.slice(0..low)
    }

    /// The rows, collected.
    #[cfg(test)]
    pub(crate) fn to_vec(self) -> Vec<u32> {
        self.rows().collect()
    }

    /// The rows, in order.
    pub(crate) fn rows(self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let stride = 1 + usize::from(self.paired);
        self.entries.iter().step_by(stride).copied()
    }
}

/// The rows a filtered [`Index`] holds: those whose value in a column is in a set.
#[derive(Clone, Debug)]
pub(super) struct IndexFilter {
    /// The semijoin the set was made for; two filtered indexes on the same columns are
    /// the same only with the same semijoin.
    pub(super) semijoin: Semijoin,
    /// The values that pass, one bit per value id.
    pub(super) bits: Vec<u64>,
}

impl IndexFilter {
    #[inline]
    pub(super) fn passes(&self, value: ValueId) -> bool {
        let v = value.0 as usize;
        self.bits
            .get(v / 64)
            .is_some_and(|word| word >> (v % 64) & 1 == 1)
    }
}

impl Index {
    /// An empty index on `columns`.
    pub(super) fn new(columns: &[usize]) -> Index {
        Index {
            columns: columns.to_vec(),
            direct: (columns.len() == 1).then(Vec::new),
            ..Index::default()
        }
    }

    /// Switches from `direct` to `table`.
    pub(super) fn hash_groups(&mut self, data: &[ValueId], arity: usize) {
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

    pub(super) fn key_hash(&self, data: &[ValueId], arity: usize, row: usize) -> u64 {
        let mut h: u64 = self.columns.len() as u64;
        for &c in &self.columns {
            h = (h.rotate_left(5) ^ u64::from(data[row * arity + c].0))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        h
    }

    /// Bytes held by this index (capacity, not just length).
    pub(super) fn heap_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.direct.as_ref().map_or(0, |d| d.capacity() * 4)
            + self.groups.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.groups.iter().map(|g| g.capacity() * 4).sum::<usize>()
            + self.filter.as_ref().map_or(0, |f| f.bits.capacity() * 8)
            + self
                .frozen
                .as_ref()
                .map_or(0, |f| (f.starts.capacity() + f.rows.capacity()) * 4)
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
    pub(super) fn freeze(&mut self, data: &[ValueId], arity: usize) {
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
        let other = self.other_column(arity);
        let stride = 1 + usize::from(other.is_some());
        let mut rows = Vec::with_capacity(groups.iter().map(Vec::len).sum::<usize>() * stride);
        let place = |rows: &mut Vec<u32>, group: Vec<u32>| match other {
            Some(column) => {
                for row in group {
                    rows.extend([row, data[row as usize * arity + column].0]);
                }
            }
            None => rows.extend_from_slice(&group),
        };
        let mut starts;
        let by_value = match self.direct.take() {
            Some(direct) => {
                starts = Vec::with_capacity(direct.len() + 1);
                for g in direct {
                    starts.push((rows.len() / stride) as u32);
                    if g > 0 {
                        place(&mut rows, std::mem::take(&mut groups[g as usize - 1]));
                    }
                }
                true
            }
            None => {
                starts = Vec::with_capacity(groups.len() + 1);
                for group in &mut groups {
                    starts.push((rows.len() / stride) as u32);
                    place(&mut rows, std::mem::take(group));
                }
                false
            }
        };
        starts.push((rows.len() / stride) as u32);
        self.frozen = Some(Frozen {
            starts,
            rows,
            by_value,
            paired: other.is_some(),
        });
    }

    /// Indexes rows `0..len` of a finished relation straight into the frozen layout
    /// (an unfiltered index), without open groups: the rows are counted by group, then placed, in two passes
    /// over the key columns. The same groups and lookups as [`Index::extend`] then
    /// [`Index::freeze`], for an index that holds no rows yet.
    pub(super) fn build_frozen(&mut self, data: &[ValueId], arity: usize, len: usize) {
        debug_assert!(self.covered == 0 && self.frozen.is_none() && self.groups.is_empty());
        debug_assert!(
            self.filter.is_none(),
            "filtered indexes are built as rows come"
        );
        let rows = || 0..len as u32;
        // Per row, its group: the key's value id, or the group number in `table`.
        let mut group_of: Vec<u32> = Vec::new();
        let (mut counts, by_value, table) = if self.columns.len() == 1 {
            let column = self.columns[0];
            let key = |row: u32| data[row as usize * arity + column].0;
            let max = rows().map(key).max();
            let mut counts = vec![0u32; max.map_or(0, |m| m as usize + 1)];
            for row in rows() {
                counts[key(row) as usize] += 1;
            }
            let groups = counts.iter().filter(|&&n| n > 0).count();
            if counts.len() <= FROZEN_BY_VALUE_PER_GROUP * groups + SINGLES_SLACK {
                group_of.extend(rows().map(key));
                (counts, true, HashTable::new())
            } else {
                (Vec::new(), false, HashTable::new())
            }
        } else {
            (Vec::new(), false, HashTable::new())
        };
        let mut table: HashTable<u32> = table;
        if !by_value {
            let columns = &self.columns;
            let hash_of = |row: u32| {
                let mut h: u64 = columns.len() as u64;
                for &c in columns {
                    h = (h.rotate_left(5) ^ u64::from(data[row as usize * arity + c].0))
                        .wrapping_mul(0x517c_c1b7_2722_0a95);
                }
                h
            };
            let same = |a: u32, b: u32| {
                columns
                    .iter()
                    .all(|&c| data[a as usize * arity + c] == data[b as usize * arity + c])
            };
            // The first row of each group, for comparing keys.
            let mut firsts: Vec<u32> = Vec::new();
            for row in rows() {
                let hash = hash_of(row);
                let g = match table.find(hash, |&g| same(firsts[g as usize], row)) {
                    Some(&g) => g,
                    None => {
                        let g = firsts.len() as u32;
                        firsts.push(row);
                        counts.push(0);
                        table.insert_unique(hash, g, |&g| hash_of(firsts[g as usize]));
                        g
                    }
                };
                counts[g as usize] += 1;
                group_of.push(g);
            }
        }
        // Counts become starts; each row goes to the next place of its group.
        let mut starts = Vec::with_capacity(counts.len() + 1);
        let mut at = 0u32;
        for count in &mut counts {
            starts.push(at);
            at += *count;
            *count = starts[starts.len() - 1];
        }
        starts.push(at);
        let other = self.other_column(arity);
        let stride = 1 + usize::from(other.is_some());
        let mut placed = vec![0u32; at as usize * stride];
        for (row, &g) in rows().zip(&group_of) {
            let at = counts[g as usize] as usize * stride;
            placed[at] = row;
            if let Some(column) = other {
                placed[at + 1] = data[row as usize * arity + column].0;
            }
            counts[g as usize] += 1;
        }
        self.direct = None;
        self.table = table;
        self.covered = len;
        self.frozen = Some(Frozen {
            starts,
            rows: placed,
            by_value,
            paired: other.is_some(),
        });
    }

    /// Undoes [`Index::freeze`], so that rows can be added.
    pub(super) fn thaw(&mut self) {
        let Some(frozen) = self.frozen.take() else {
            return;
        };
        let count = frozen.starts.len().saturating_sub(1);
        if frozen.by_value {
            let mut direct = vec![0; count];
            for (v, at) in direct.iter_mut().enumerate() {
                let group = frozen.group(v);
                if !group.is_empty() {
                    self.groups.push(group.rows().collect());
                    *at = self.groups.len() as u32;
                }
            }
            self.direct = Some(direct);
        } else {
            self.groups = (0..count)
                .map(|g| frozen.group(g).rows().collect())
                .collect();
        }
    }

    /// Indexes rows `covered..len`.
    pub(super) fn extend(&mut self, data: &[ValueId], arity: usize, len: usize) {
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

    /// The column a frozen index keeps beside each row ([`Group::other`]): the one its
    /// key leaves in a two-column relation keyed on one.
    fn other_column(&self, arity: usize) -> Option<usize> {
        match (arity, self.columns.as_slice()) {
            (2, &[key]) => Some(1 - key),
            _ => None,
        }
    }

    /// Whether [`Index::prefetch`] can bring a group's place into the cache ahead of
    /// its lookup: a frozen index laid out by value, where that place is found from the
    /// key alone.
    pub(crate) fn prefetches(&self) -> bool {
        self.frozen.as_ref().is_some_and(|frozen| frozen.by_value)
    }

    /// Hints the cache to fetch what a lookup of the one-column `key` will read, a few
    /// rows of a scan before it comes: with `rows` false, where the key's group starts;
    /// with `rows` true, the group's first entries (reading its start, which an earlier
    /// call should have brought in). Does nothing unless [`Index::prefetches`].
    #[inline]
    pub(crate) fn prefetch(&self, key: ValueId, rows: bool) {
        let Some(frozen) = &self.frozen else { return };
        let at = key.0 as usize;
        if !rows {
            if let Some(start) = frozen.starts.get(at) {
                prefetch(start);
            }
        } else if let Some(&start) = frozen.starts.get(at) {
            let stride = 1 + usize::from(frozen.paired);
            if let Some(entry) = frozen.rows.get(start as usize * stride) {
                prefetch(entry);
            }
        }
    }

    /// Rows whose key columns equal `key`, ascending.
    #[inline]
    pub fn lookup(&self, data: &[ValueId], arity: usize, key: &[ValueId], hash: u64) -> Group<'_> {
        if let Some(frozen) = &self.frozen {
            if frozen.by_value {
                return frozen.group(key[0].0 as usize);
            }
            let columns = &self.columns;
            return match self.table.find(hash, |&g| {
                let first = frozen.first_row(g as usize);
                columns
                    .iter()
                    .zip(key)
                    .all(|(&c, k)| data[first * arity + c] == *k)
            }) {
                Some(&g) => frozen.group(g as usize),
                None => Group::default(),
            };
        }
        if let Some(direct) = &self.direct {
            return match direct.get(key[0].0 as usize) {
                Some(&g) if g > 0 => Group::of_rows(&self.groups[g as usize - 1]),
                _ => Group::default(),
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
            Some(&g) => Group::of_rows(&self.groups[g as usize]),
            None => Group::default(),
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
    /// An empty index on `columns`, its groups sorted by column `by`.
    pub(super) fn new(columns: &[usize], by: usize) -> SortedIndex {
        SortedIndex {
            columns: columns.to_vec(),
            by,
            ..SortedIndex::default()
        }
    }

    /// Indexes rows `covered..len`, then restores the order of the groups that grew out
    /// of order.
    pub(super) fn extend(&mut self, data: &[ValueId], arity: usize, len: usize) {
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

    pub(super) fn heap_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.groups.capacity() * std::mem::size_of::<Vec<(u32, u32)>>()
            + self.groups.iter().map(|g| g.capacity() * 8).sum::<usize>()
            + self.bits.capacity() * std::mem::size_of::<GroupBits>()
            + self.words * 8
    }
}

/// Asks the processor to bring the cache line holding `value` into its caches, without
/// waiting for it: a lookup that follows a few steps later then finds it there instead
/// of stalling on main memory.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault; the address
    // is that of a live reference besides.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (value as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
