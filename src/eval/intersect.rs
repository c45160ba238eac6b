//! Leapfrog intersection of value-sorted index groups, for [`Intersect`] steps.
//!
//! [`Intersect`]: super::plan::Intersect

use super::plan::MAX_CHECKS;

/// The values present in every list, each with the row it has in every list.
///
/// Each list holds `(value, row)` entries sorted by value, each value at most once; an
/// entry whose row is not below its list's `end` counts as absent. Appends, per common
/// value, the value and then the row in each list to `out`.
pub(crate) fn intersect(lists: &[&[(u32, u32)]], ends: &[u32], out: &mut Vec<u32>) {
    debug_assert!(lists.len() <= MAX_CHECKS + 1, "the plan bounds the lists");
    let n = lists.len();
    if lists.iter().any(|list| list.is_empty()) {
        return;
    }
    if let [a, b] = lists {
        merge_two(a, b, ends[0], ends[1], out);
        return;
    }
    let mut at = [0usize; MAX_CHECKS + 1];
    let mut target = lists.iter().map(|list| list[0].0).max().unwrap_or(0);
    loop {
        let mut agreed = true;
        for i in 0..n {
            let list = lists[i];
            at[i] = seek(list, at[i], target);
            let Some(&(value, _)) = list.get(at[i]) else {
                return;
            };
            if value != target {
                target = value;
                agreed = false;
            }
        }
        if !agreed {
            continue;
        }
        if (0..n).all(|i| lists[i][at[i]].1 < ends[i]) {
            out.push(target);
            out.extend((0..n).map(|i| lists[i][at[i]].1));
        }
        // Each value occurs once per list: move every cursor past it.
        for i in 0..n {
            at[i] += 1;
            if at[i] == lists[i].len() {
                return;
            }
        }
        target = (0..n).map(|i| lists[i][at[i]].0).max().unwrap_or(0);
    }
}

/// [`intersect`] of two lists: a merge whose cursors advance without branching, which
/// beats galloping on lists of similar length (the common case).
fn merge_two(a: &[(u32, u32)], b: &[(u32, u32)], end_a: u32, end_b: u32, out: &mut Vec<u32>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (value_a, row_a) = a[i];
        let (value_b, row_b) = b[j];
        if value_a == value_b && row_a < end_a && row_b < end_b {
            out.extend_from_slice(&[value_a, row_a, row_b]);
        }
        i += usize::from(value_a <= value_b);
        j += usize::from(value_b <= value_a);
    }
}

/// The first position at or after `from` whose value is at least `target` (galloping,
/// then binary search).
#[inline]
fn seek(list: &[(u32, u32)], from: usize, target: u32) -> usize {
    if from >= list.len() || list[from].0 >= target {
        return from;
    }
    // Invariant: the value at `low` is below the target.
    let mut low = from;
    let mut step = 1;
    while low + step < list.len() && list[low + step].0 < target {
        low += step;
        step *= 2;
    }
    let high = (low + step).min(list.len());
    low + 1 + list[low + 1..high].partition_point(|&(v, _)| v < target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lists: &[&[(u32, u32)]], ends: &[u32], expected: &[u32]) {
        let mut out = Vec::new();
        intersect(lists, ends, &mut out);
        assert_eq!(out, expected);
    }

    #[test]
    fn common_values_with_their_rows() {
        let a: &[(u32, u32)] = &[(1, 10), (3, 11), (5, 12), (9, 13)];
        let b: &[(u32, u32)] = &[(0, 20), (3, 21), (4, 22), (9, 23), (12, 24)];
        check(&[a, b], &[99, 99], &[3, 11, 21, 9, 13, 23]);
        let c: &[(u32, u32)] = &[(9, 30)];
        check(&[a, b, c], &[99, 99, 99], &[9, 13, 23, 30]);
        check(&[a, &[]], &[99, 99], &[]);
    }

    #[test]
    fn rows_past_the_end_are_absent() {
        let a: &[(u32, u32)] = &[(1, 10), (3, 11)];
        let b: &[(u32, u32)] = &[(1, 5), (3, 2)];
        check(&[a, b], &[99, 4], &[3, 11, 2]);
    }

    #[test]
    fn long_gaps_are_skipped() {
        let a: Vec<(u32, u32)> = (0..1000).map(|v| (v, v)).collect();
        let b: &[(u32, u32)] = &[(7, 0), (500, 1), (999, 2)];
        check(&[&a, b], &[9999, 9], &[7, 7, 0, 500, 500, 1, 999, 999, 2]);
    }
}
