//! Tests of relation storage: deduplication, confidences, derivations and indexes.

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
        index
            .lookup(&relation.data, 2, &key, Index::hash_key(&key))
            .to_vec(),
        [0, 1]
    );
    // Rows added later are indexed on refresh, in ascending order.
    let t = ids(&[1, 9]);
    relation.insert(&t, hash_row(&t), 0.5, 0, &[]);
    relation.refresh_indexes();
    let index = &relation.indexes[slot];
    assert_eq!(
        index
            .lookup(&relation.data, 2, &key, Index::hash_key(&key))
            .to_vec(),
        [0, 1, 3]
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
                let group = index.lookup(&relation.data, 2, &key, Index::hash_key(&key));
                // A frozen one-column index holds each row's second value beside it.
                if !group.is_empty() {
                    assert_eq!(group.is_paired(), index.frozen.is_some());
                }
                for i in 0..group.len() {
                    if let Some(second) = group.other(i) {
                        assert_eq!(second, relation.row(group.row(i) as usize)[1]);
                    }
                }
                found.push(group.to_vec());
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
            index
                .lookup(&relation.data, 2, &key, Index::hash_key(&key))
                .to_vec(),
            expected
        );
        let mut again = open.clone();
        again[6].push(500);
        assert_eq!(lookups(&relation), again);
        // Built frozen at once, on a copy without the indexes: the same lookups, and
        // laid out the same way.
        let mut built = relation.clone();
        built.indexes.clear();
        assert_eq!(built.ensure_frozen_index(&[0]), one);
        assert_eq!(built.ensure_frozen_index(&[0, 1]), two);
        assert_eq!(lookups(&built), again);
        let by_value = built.indexes[one].frozen.as_ref().map(|f| f.by_value);
        assert_eq!(by_value, Some(spread == 1), "dense keys index by value");
        relation.freeze_indexes();
        for slot in [one, two] {
            let (a, b) = (&built.indexes[slot], &relation.indexes[slot]);
            let (a, b) = (
                a.frozen.as_ref().expect("built"),
                b.frozen.as_ref().expect("frozen"),
            );
            assert_eq!((&a.starts, &a.rows), (&b.starts, &b.rows));
            assert_eq!((a.paired, b.paired), (slot == one, slot == one));
        }
        // Rows added after: the built index thaws like any other.
        let t = ids(&[3 * spread, 1001]);
        built.insert(&t, hash_row(&t), 1.0, 0, &[]);
        built.refresh_indexes();
        again[6].push(501);
        assert_eq!(lookups(&built), again);
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
            index
                .lookup(&relation.data, 2, &key, Index::hash_key(&key))
                .to_vec(),
            [row]
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
            index
                .lookup(&pairs.data, 2, &t, Index::hash_key(&t))
                .to_vec(),
            [n as u32]
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

#[test]
fn only_frozen_indexes_laid_out_by_value_are_prefetched() {
    let mut relation = Relation::new(2, vec![0], 0, false, false);
    for (a, b) in [(1, 2), (1, 3), (4, 3)] {
        let t = ids(&[a, b]);
        relation.insert(&t, hash_row(&t), 1.0, 0, &[]);
    }
    let by_first = relation.ensure_index(&[0]);
    let by_both = relation.ensure_index(&[0, 1]);
    relation.refresh_indexes();
    assert!(!relation.indexes[by_first].prefetches(), "open groups");
    relation.freeze_indexes();
    assert!(relation.indexes[by_first].prefetches());
    assert!(
        !relation.indexes[by_both].prefetches(),
        "hashed by two columns"
    );
    // A prefetch reads nothing the lookup sees, also for keys past the last group.
    let index = &relation.indexes[by_first];
    for key in [1, 4, 1000] {
        index.prefetch(ValueId(key), false);
        index.prefetch(ValueId(key), true);
    }
    let key = ids(&[1]);
    assert_eq!(
        index
            .lookup(&relation.data, 2, &key, Index::hash_key(&key))
            .to_vec(),
        [0, 1]
    );
}
