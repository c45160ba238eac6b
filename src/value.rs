//! Constants and their interned ids, shared by fact loading, the program and evaluation.
//!
//! A [`Value`] is a constant a user can write: text (symbols and strings are the same
//! kind of value and differ only in how they are written), integers, floats and dates.
//! Evaluation never touches `Value`s in its joins: every constant is interned once into a
//! [`ValueId`], and tuples are rows of ids. Two values are equal exactly when their ids
//! are equal, so joins compare `u32`s.

use std::cmp::Ordering;
use std::fmt;

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

/// A constant.
#[derive(Clone, Debug)]
pub enum Value {
    /// A symbol (`apt40`) or string (`"APT 40"`): the same kind, told apart only when printed.
    Text(Box<str>),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float; never NaN (arithmetic that would produce NaN yields no value).
    /// `-0.0` equals `0.0` and is interned as `0.0`.
    Float(f64),
    /// A calendar date, as days since 1970-01-01.
    Date(i32),
}

/// The kinds of values, as named in `rel` declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `sym` or `str`: text.
    Text,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `date`.
    Date,
}

impl Kind {
    /// The name used in declarations and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Date => "date",
        }
    }
}

impl Value {
    /// The kind of this value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Text(_) => Kind::Text,
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Date(_) => Kind::Date,
        }
    }

    /// A text value.
    pub fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// The value as a float, for numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The order used by `<`, `<=`, `>`, `>=`: numbers (integers and floats compared by
    /// value, so `2 < 2.5` and `6.0 >= 6`), then dates, then text (by bytes). It is a
    /// total preorder: `6` and `6.0` compare equal here although they are different
    /// values (`6 = 6.0` is false); [`Value::sort_cmp`] breaks such ties.
    pub fn order(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Int(_) | Value::Float(_) => 0,
                Value::Date(_) => 1,
                Value::Text(_) => 2,
            }
        }
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            (a, b) if rank(a) == 0 && rank(b) == 0 => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }

    /// A total order for sorting output: [`Value::order`], with an integer before the
    /// float of the same value.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        self.order(other)
            .then_with(|| matches!(other, Value::Int(_)).cmp(&matches!(self, Value::Int(_))))
    }

    /// A number that never decreases along [`Value::sort_cmp`]: values with different
    /// keys compare as their keys, so a sort compares keys first and the values
    /// themselves only on a tie. Numbers map to the high bits of their float's total
    /// order, dates to their day, texts to their first seven bytes.
    pub fn sort_key(&self) -> u64 {
        const DATES: u64 = 1 << 62;
        const TEXTS: u64 = 2 << 62;
        match self {
            Value::Int(_) | Value::Float(_) => {
                let bits = self.as_f64().unwrap_or(0.0).to_bits();
                let ordered = if bits >> 63 == 1 {
                    !bits
                } else {
                    bits | 1 << 63
                };
                ordered >> 2
            }
            Value::Date(days) => DATES | (i64::from(*days) - i64::from(i32::MIN)) as u64,
            Value::Text(text) => {
                let mut first = [0u8; 8];
                let n = text.len().min(7);
                first[1..=n].copy_from_slice(&text.as_bytes()[..n]);
                TEXTS | u64::from_be_bytes(first)
            }
        }
    }

    /// The date `days` after 1970-01-01, if it lies in 0000-01-01..=9999-12-31, the days
    /// `YYYY-MM-DD` can write (and [`Value::parse_date`] read).
    pub fn date(days: i64) -> Option<Value> {
        let first = days_from_civil(0, 1, 1);
        let last = days_from_civil(9999, 12, 31);
        (first..=last)
            .contains(&days)
            .then_some(Value::Date(days as i32))
    }

    /// Parses `YYYY-MM-DD` into a date value, checking the day exists.
    pub fn parse_date(text: &str) -> Option<Value> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = &text[r];
            if part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Some(Value::Date(days_from_civil(year, month, day) as i32))
    }

    /// Whether `text` can be written as a bare symbol (`apt40`, `nz_pco_2021`).
    pub fn is_symbol_text(text: &str) -> bool {
        let mut chars = text.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !matches!(text, "not" | "rel")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Value {
    /// Prints the value the way it would be written in a rule file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) if Value::is_symbol_text(s) => f.write_str(s),
            Value::Text(s) => write_quoted(f, s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Date(d) => {
                let (y, m, d) = civil_from_days(i64::from(*d));
                write!(f, "{y:04}-{m:02}-{d:02}")
            }
        }
    }
}

/// Writes `s` as a double-quoted string literal with `\"`, `\\`, `\n`, `\t` escapes.
pub fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    // Runs without an escape are written whole; every escaped character is ASCII, so
    // the runs end on character boundaries.
    let mut run = 0;
    for (at, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            _ => continue,
        };
        f.write_str(&s[run..at])?;
        f.write_str(escape)?;
        run = at + 1;
    }
    f.write_str(&s[run..])?;
    f.write_char('"')
}

/// The id of an interned [`Value`]; equal ids mean equal values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// A value's image for hashing and comparing in the [`Interner`]: floats by their bits,
/// with `-0.0` folded into `0.0`; text by reference, so a lookup copies nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Text(&'a str),
    Int(i64),
    Float(u64),
    Date(i32),
}

fn key(value: &Value) -> Key<'_> {
    match value {
        Value::Text(s) => Key::Text(s),
        Value::Int(i) => Key::Int(*i),
        Value::Float(x) => Key::Float(if *x == 0.0 { 0 } else { x.to_bits() }),
        Value::Date(d) => Key::Date(*d),
    }
}

fn hash_key(k: Key<'_>) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(k)
}

/// Number of tables [`Interner`] keeps its ids in.
const SHARDS: usize = 16;

/// The table of [`Interner::ids`] a hash is kept in: bits below those a table's tag
/// takes (the top seven) and above those its bucket index takes (the low ones, fewer
/// than 40 for any table that fits in memory).
fn shard(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// Below this many values [`Interner::intern_all`] interns them one by one.
const PARALLEL_MIN_VALUES: usize = 1 << 15;

/// What [`Interner::intern_all`] first finds of a value that is not an integer.
#[derive(Clone, Copy)]
enum Seen {
    /// Interned before, with this id.
    Before(ValueId),
    /// New, and the first of the batch equal to it.
    First,
    /// Equal to the value at this earlier position of the batch.
    Again(u32),
}

/// Interns values: each distinct value gets one [`ValueId`], in order of first appearance.
#[derive(Clone, Debug)]
pub struct Interner {
    values: Vec<Value>,
    /// The ids of the values that are not integers, found by the hash of their [`Key`]
    /// and compared with the value itself, so each text is held once; in [`SHARDS`]
    /// tables by bits of the hash no table uses, so that [`Interner::intern_all`] can
    /// fill them side by side.
    ids: Vec<HashTable<ValueId>>,
    /// Integers are by far the most common bulk values (TSV workloads); this fast path
    /// skips hashing a `Key` per lookup.
    ints: FxHashMap<i64, ValueId>,
    /// Bytes of text interned.
    text_bytes: usize,
}

impl Default for Interner {
    fn default() -> Interner {
        Interner {
            values: Vec::new(),
            ids: vec![HashTable::new(); SHARDS],
            ints: FxHashMap::default(),
            text_bytes: 0,
        }
    }
}

impl Interner {
    /// The id of `value`, interning it if new.
    pub fn intern(&mut self, value: Value) -> ValueId {
        match self.find_or_slot(&value) {
            Ok(id) => id,
            Err(hash) => self.push(value, hash),
        }
    }

    /// The id of `value`, interning a copy of it if new: nothing is copied when it is
    /// already interned.
    pub fn intern_ref(&mut self, value: &Value) -> ValueId {
        match self.find_or_slot(value) {
            Ok(id) => id,
            Err(hash) => self.push(value.clone(), hash),
        }
    }

    /// Finds the id of a value that is not an integer, or the hash it is to be kept under.
    fn find_or_slot(&mut self, value: &Value) -> Result<ValueId, u64> {
        if let Value::Int(i) = value {
            return Ok(self.intern_int(*i));
        }
        let k = key(value);
        let hash = hash_key(k);
        let values = &self.values;
        match self.ids[shard(hash)].find(hash, |id| key(&values[id.0 as usize]) == k) {
            Some(&id) => Ok(id),
            None => Err(hash),
        }
    }

    fn push(&mut self, value: Value, hash: u64) -> ValueId {
        let id = self.push_value(value);
        let values = &self.values;
        self.ids[shard(hash)].insert_unique(hash, id, |id| hash_key(key(&values[id.0 as usize])));
        id
    }

    /// Appends a value that is not an integer to the values, not yet to the tables.
    fn push_value(&mut self, value: Value) -> ValueId {
        // `-0.0` and `0.0` are one value (they compare equal); it is stored as `0.0`
        // whichever came first, so output never depends on fact order.
        let value = match value {
            Value::Float(x) => Value::Float(if x == 0.0 { 0.0 } else { x }),
            value => value,
        };
        if let Value::Text(text) = &value {
            self.text_bytes += text.len();
        }
        let id = ValueId(self.values.len() as u32);
        self.values.push(value);
        id
    }

    /// Interns `values` in order, on up to `threads` threads, and returns the id of each:
    /// the same ids [`Interner::intern`] gives them one after another. Looking each value
    /// up and filling the tables are done side by side, table by table; only numbering
    /// the new values in order is done on one thread.
    pub fn intern_all(&mut self, values: Vec<Value>, threads: usize) -> Vec<ValueId> {
        let threads = threads.clamp(1, SHARDS);
        if threads == 1 || values.len() < PARALLEL_MIN_VALUES {
            return values.into_iter().map(|value| self.intern(value)).collect();
        }
        let hashes: Vec<u64> = on_parts(&values, threads, |part| {
            part.iter()
                .map(|value| match value {
                    Value::Int(_) => 0,
                    value => hash_key(key(value)),
                })
                .collect()
        });
        // Each thread looks up the values of its tables, in order; a value new to the
        // interner is either the first of the batch equal to it or names that first.
        let seen: Vec<Vec<(u32, Seen)>> = {
            let (known, values, hashes) = (&self.values, &values, &hashes);
            let tables = &self.ids;
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|thread| {
                        scope.spawn(move || {
                            let mut firsts: Vec<HashTable<u32>> = vec![HashTable::new(); SHARDS];
                            let mut seen = Vec::new();
                            for (at, value) in values.iter().enumerate() {
                                let hash = hashes[at];
                                let table = shard(hash);
                                if matches!(value, Value::Int(_)) || table % threads != thread {
                                    continue;
                                }
                                let k = key(value);
                                let found = tables[table]
                                    .find(hash, |id| key(&known[id.0 as usize]) == k)
                                    .copied();
                                let this = match found {
                                    Some(id) => Seen::Before(id),
                                    None => match firsts[table].entry(
                                        hash,
                                        |&first| key(&values[first as usize]) == k,
                                        |&first| hashes[first as usize],
                                    ) {
                                        hashbrown::hash_table::Entry::Occupied(first) => {
                                            Seen::Again(*first.get())
                                        }
                                        hashbrown::hash_table::Entry::Vacant(slot) => {
                                            slot.insert(at as u32);
                                            Seen::First
                                        }
                                    },
                                };
                                seen.push((at as u32, this));
                            }
                            seen
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            })
        };
        let mut found = vec![Seen::First; values.len()];
        for (at, this) in seen.into_iter().flatten() {
            found[at as usize] = this;
        }
        // Numbering, in order: integers and new values take the next ids.
        let mut ids = Vec::with_capacity(values.len());
        let mut new = Vec::new();
        for (at, value) in values.into_iter().enumerate() {
            let id = match (value, found[at]) {
                (Value::Int(i), _) => self.intern_int(i),
                (_, Seen::Before(id)) => id,
                (_, Seen::Again(first)) => ids[first as usize],
                (value, Seen::First) => {
                    new.push(at as u32);
                    self.push_value(value)
                }
            };
            ids.push(id);
        }
        // Each thread adds the new values of its tables.
        let mut by_table: Vec<Vec<u32>> = vec![Vec::new(); SHARDS];
        for &at in &new {
            by_table[shard(hashes[at as usize])].push(at);
        }
        let (known, ids_ref, hashes) = (&self.values, &ids, &hashes);
        let per_thread = SHARDS.div_ceil(threads);
        std::thread::scope(|scope| {
            for (tables, adds) in self
                .ids
                .chunks_mut(per_thread)
                .zip(by_table.chunks(per_thread))
            {
                scope.spawn(move || {
                    for (table, adds) in tables.iter_mut().zip(adds) {
                        let rehash = |id: &ValueId| hash_key(key(&known[id.0 as usize]));
                        table.reserve(adds.len(), rehash);
                        for &at in adds {
                            table.insert_unique(hashes[at as usize], ids_ref[at as usize], rehash);
                        }
                    }
                });
            }
        });
        ids
    }

    /// Approximate bytes held: the values, their text and the lookup tables. Limits on
    /// memory count it, since arithmetic can build long text.
    pub fn heap_bytes(&self) -> usize {
        self.text_bytes
            + self.values.capacity() * std::mem::size_of::<Value>()
            + self.ids.iter().map(HashTable::capacity).sum::<usize>()
                * (std::mem::size_of::<ValueId>() + 1)
            + self.ints.capacity() * (std::mem::size_of::<(i64, ValueId)>() + 1)
    }

    /// The id of an integer, interning it if new.
    pub fn intern_int(&mut self, i: i64) -> ValueId {
        if let Some(&id) = self.ints.get(&i) {
            return id;
        }
        let id = ValueId(self.values.len() as u32);
        self.values.push(Value::Int(i));
        self.ints.insert(i, id);
        id
    }

    /// The id of a text value, interning it if new.
    pub fn intern_text(&mut self, s: &str) -> ValueId {
        let k = Key::Text(s);
        let hash = hash_key(k);
        let values = &self.values;
        match self.ids[shard(hash)].find(hash, |id| key(&values[id.0 as usize]) == k) {
            Some(&id) => id,
            None => self.push(Value::text(s), hash),
        }
    }

    /// The id of `value` if it was interned.
    pub fn get(&self, value: &Value) -> Option<ValueId> {
        match value {
            Value::Int(i) => self.ints.get(i).copied(),
            v => {
                let k = key(v);
                let hash = hash_key(k);
                let values = &self.values;
                self.ids[shard(hash)]
                    .find(hash, |id| key(&values[id.0 as usize]) == k)
                    .copied()
            }
        }
    }

    /// The value behind an id.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0 as usize]
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value was interned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Where evaluation reads values and interns the ones its arithmetic and aggregates
/// make: the [`Interner`] itself, or an [`Overlay`] on one that several threads read.
pub trait Values {
    /// The value behind an id.
    fn value(&self, id: ValueId) -> &Value;
    /// The id of `value`, interning it if new.
    fn intern(&mut self, value: Value) -> ValueId;
    /// Approximate bytes held (see [`Interner::heap_bytes`]).
    fn heap_bytes(&self) -> usize;
}

impl Values for Interner {
    fn value(&self, id: ValueId) -> &Value {
        Interner::value(self, id)
    }

    fn intern(&mut self, value: Value) -> ValueId {
        Interner::intern(self, value)
    }

    fn heap_bytes(&self) -> usize {
        Interner::heap_bytes(self)
    }
}

/// The first id an [`Overlay`] gives; every interner holds fewer values.
pub const OVERLAY_BASE: u32 = 1 << 31;

/// Values made on one thread while an [`Interner`] is shared read-only: a value the
/// interner holds keeps its id, a new one gets a provisional id from [`OVERLAY_BASE`]
/// on, in order of first appearance. Provisional ids are equal exactly when their values
/// are, but no relation holds them: [`Interner::absorb`] turns them into real ids.
///
/// Absorbing the overlays of several threads in a fixed order interns their values as
/// one thread would have, running the same work in that order: a value new to the
/// interner gets its id where it first appears.
#[derive(Debug)]
pub struct Overlay<'a> {
    base: &'a Interner,
    local: Interner,
}

impl<'a> Overlay<'a> {
    /// An overlay with no values of its own yet.
    pub fn new(base: &'a Interner) -> Overlay<'a> {
        assert!(
            base.len() < OVERLAY_BASE as usize,
            "fewer than 2^31 values are interned"
        );
        Overlay {
            base,
            local: Interner::default(),
        }
    }

    /// The values this overlay made, in the order of their provisional ids.
    pub fn into_values(self) -> Vec<Value> {
        self.local.values
    }
}

impl Values for Overlay<'_> {
    fn value(&self, id: ValueId) -> &Value {
        match id.0.checked_sub(OVERLAY_BASE) {
            Some(local) => self.local.value(ValueId(local)),
            None => self.base.value(id),
        }
    }

    fn intern(&mut self, value: Value) -> ValueId {
        match self.base.get(&value) {
            Some(id) => id,
            None => ValueId(OVERLAY_BASE + self.local.intern(value).0),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.base.heap_bytes() + self.local.heap_bytes()
    }
}

impl Interner {
    /// Interns the values of an [`Overlay`] in their order; returns the id of each, by
    /// provisional id less [`OVERLAY_BASE`].
    pub fn absorb(&mut self, values: Vec<Value>) -> Vec<ValueId> {
        values.into_iter().map(|value| self.intern(value)).collect()
    }
}

/// `work` on about equal parts of `items`, one per thread, the results joined in order.
fn on_parts<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let size = items.len().div_ceil(threads).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(size)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        assert_eq!(
            Value::parse_date(text).map(|d| d.to_string()).as_deref(),
            Some(expected)
        );
    }

    #[test]
    fn sort_keys_never_disagree_with_the_sort_order() {
        let mut values = vec![
            Value::Int(i64::MIN),
            Value::Int(-3),
            Value::Float(-2.5),
            Value::Int(0),
            Value::Float(0.0),
            Value::Float(1e-300),
            Value::Int(6),
            Value::Float(6.0),
            Value::Int(i64::MAX - 1),
            Value::Int(i64::MAX),
            Value::Float(f64::INFINITY),
            Value::Date(i32::MIN),
            Value::Date(-1),
            Value::Date(0),
            Value::Date(i32::MAX),
        ];
        for text in [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "ab",
            "abcdefg",
            "abcdefg\0",
            "abcdefgh",
            "abcdefh",
            "b",
            "\u{ff}",
            "\u{10ffff}",
        ] {
            values.push(Value::text(text));
        }
        for a in &values {
            for b in &values {
                if a.sort_cmp(b) == Ordering::Less {
                    assert!(a.sort_key() <= b.sort_key(), "{a:?} sorts before {b:?}");
                }
            }
        }
        // Keys that told nothing apart would pass the check above.
        let rising = values
            .windows(2)
            .filter(|w| w[0].sort_key() < w[1].sort_key());
        assert!(rising.count() >= 18);
        assert_ne!(
            Value::text("abcdefg").sort_key(),
            Value::text("abcdefh").sort_key()
        );
        assert_eq!(
            Value::text("abcdefgh").sort_key(),
            Value::text("abcdefgz").sort_key()
        );
    }

    #[test]
    fn each_value_is_interned_once_in_order_of_first_appearance() {
        let mut interner = Interner::default();
        let a = interner.intern(Value::text("apt40"));
        let one = interner.intern(Value::Int(1));
        let text_one = interner.intern_text("1");
        let zero = interner.intern(Value::Float(-0.0));
        let day = interner.intern(Value::Date(3));
        assert_eq!(
            [a, one, text_one, zero, day].map(|id| id.0),
            [0, 1, 2, 3, 4],
            "text, integer, the text of that integer, a float and a date are five values"
        );
        assert_eq!(interner.intern_ref(&Value::text("apt40")), a);
        assert_eq!(interner.intern_text("apt40"), a);
        assert_eq!(interner.intern(Value::Int(1)), one);
        assert_eq!(interner.intern(Value::Float(0.0)), zero);
        assert!(matches!(interner.value(zero), Value::Float(x) if x.is_sign_positive()));
        assert_eq!(interner.get(&Value::Date(3)), Some(day));
        assert_eq!(interner.get(&Value::text("apt41")), None);
        assert_eq!(interner.len(), 5);
        // Enough values to grow the table several times: every id still found.
        let ids: Vec<_> = (0..5000)
            .map(|i| interner.intern_text(&format!("v{i}")))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(interner.get(&Value::text(&format!("v{i}"))), Some(*id));
        }
        assert_eq!(interner.len(), 5005);
    }

    #[test]
    fn dates_round_trip_and_reject_impossible_days() {
        check("2021-08-01", "2021-08-01");
        check("2024-02-29", "2024-02-29");
        check("1970-01-01", "1970-01-01");
        check("1900-03-01", "1900-03-01");
        assert!(Value::parse_date("2023-02-29").is_none());
        assert!(Value::parse_date("2021-13-01").is_none());
        assert!(Value::parse_date("2021-8-01").is_none());
        assert!(matches!(
            Value::parse_date("1970-01-02"),
            Some(Value::Date(1))
        ));
    }

    #[test]
    fn symbols_print_bare_and_strings_quoted() {
        assert_eq!(Value::text("apt40").to_string(), "apt40");
        assert_eq!(Value::text("APT40").to_string(), "\"APT40\"");
        assert_eq!(Value::text("not").to_string(), "\"not\"");
        assert_eq!(Value::text("a\"b").to_string(), "\"a\\\"b\"");
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
        assert_eq!(Value::Float(0.25).to_string(), "0.25");
    }

    #[test]
    fn interning_is_by_value() {
        let mut interner = Interner::default();
        let a = interner.intern(Value::text("x"));
        let b = interner.intern(Value::Int(1));
        let c = interner.intern(Value::Float(1.0));
        assert_eq!(a, interner.intern_text("x"));
        assert_eq!(b, interner.intern_int(1));
        assert_ne!(b, c);
        assert_eq!(
            interner.intern(Value::Float(-0.0)),
            interner.intern(Value::Float(0.0))
        );
        assert_eq!(interner.len(), 4);
    }

    #[test]
    fn negative_zero_is_zero_whichever_comes_first() {
        // Before, the value printed as whichever of `-0.0` and `0.0` was interned first.
        for order in [[-0.0, 0.0], [0.0, -0.0]] {
            let mut interner = Interner::default();
            let ids: Vec<ValueId> = order
                .iter()
                .map(|&x| interner.intern(Value::Float(x)))
                .collect();
            assert_eq!(ids[0], ids[1]);
            assert_eq!(interner.value(ids[0]).to_string(), "0.0");
            assert!(matches!(interner.value(ids[0]), Value::Float(x) if x.is_sign_positive()));
        }
    }

    #[test]
    fn order_is_numbers_dates_text() {
        let one = Value::Int(1);
        let half = Value::Float(0.5);
        let date = Value::parse_date("2020-01-01").expect("valid date");
        let text = Value::text("a");
        assert_eq!(half.order(&one), Ordering::Less);
        assert_eq!(one.order(&date), Ordering::Less);
        assert_eq!(date.order(&text), Ordering::Less);
        assert_eq!(Value::Float(6.0).order(&Value::Int(6)), Ordering::Equal);
        assert_eq!(Value::Int(6).sort_cmp(&Value::Float(6.0)), Ordering::Less);
    }

    #[test]
    fn interning_all_at_once_gives_the_ids_of_one_at_a_time() {
        // Texts, integers, floats (both zeros), dates, repeats near and far, and values
        // interned before the batch.
        let batch: Vec<Value> = (0..PARALLEL_MIN_VALUES as i64 * 3)
            .map(|i| match i % 6 {
                0 => Value::text(&format!("t{}", i % 9_973)),
                1 => Value::Int(i % 5_000),
                2 => Value::Float(if i % 7 == 0 {
                    -0.0
                } else {
                    (i % 101) as f64 / 4.0
                }),
                3 => Value::Date((i % 400) as i32),
                4 => Value::text(&format!("t{i}")),
                _ => Value::text(&format!("{}", i % 50)),
            })
            .collect();
        let before = |interner: &mut Interner| {
            interner.intern(Value::text("t1"));
            interner.intern(Value::Int(7));
            interner.intern(Value::Float(0.0));
        };
        let mut one = Interner::default();
        before(&mut one);
        let expected: Vec<ValueId> = batch.iter().map(|v| one.intern_ref(v)).collect();
        for threads in [1, 2, 3, 16] {
            let mut all = Interner::default();
            before(&mut all);
            assert_eq!(
                all.intern_all(batch.clone(), threads),
                expected,
                "{threads}"
            );
            assert_eq!(all.len(), one.len());
            for id in 0..one.len() as u32 {
                let value = one.value(ValueId(id));
                assert_eq!(all.value(ValueId(id)).to_string(), value.to_string());
                assert_eq!(all.get(value), Some(ValueId(id)), "{value} found again");
            }
            assert_eq!(all.intern_text("new one"), ValueId(one.len() as u32));
        }
    }
}
