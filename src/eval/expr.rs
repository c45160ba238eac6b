//! Arithmetic and comparisons on interned values.
//!
//! Arithmetic is total in the sense that it never panics: an operation without a value
//! (division by zero, overflow, adding text to a number) yields `None`, and the rule
//! instance derives nothing; evaluation counts such instances per rule and reports them.

use std::cmp::Ordering;

use hashbrown::HashTable;

use crate::eval::relation::Index;
use crate::program::{Expr, Term, VarId};
use crate::syntax::ast::{AggFn, BinOp, CmpOp};
use crate::value::{Value, ValueId, Values};

/// The value of an expression under `regs`, interning any new value.
pub(crate) fn eval_expr(
    expr: &Expr,
    regs: &[ValueId],
    interner: &mut (impl Values + ?Sized),
) -> Option<ValueId> {
    match expr {
        Expr::Term(Term::Const(id)) => Some(*id),
        Expr::Term(Term::Var(v)) => Some(regs[v.0 as usize]),
        Expr::Bin(left, op, right) => {
            let a = eval_expr(left, regs, interner)?;
            let b = eval_expr(right, regs, interner)?;
            let value = apply(*op, interner.value(a), interner.value(b))?;
            Some(interner.intern(value))
        }
    }
}

/// `a op b` on values.
pub(crate) fn apply(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    use Value::{Date, Float, Int, Text};
    Some(match (a, b) {
        (Int(x), Int(y)) => Int(match op {
            BinOp::Add => x.checked_add(*y)?,
            BinOp::Sub => x.checked_sub(*y)?,
            BinOp::Mul => x.checked_mul(*y)?,
            BinOp::Div => x.checked_div(*y)?,
            BinOp::Rem => x.checked_rem(*y)?,
        }),
        (Int(_) | Float(_), Int(_) | Float(_)) => {
            let (x, y) = (a.as_f64()?, b.as_f64()?);
            let z = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Rem => x % y,
            };
            if !z.is_finite() {
                return None;
            }
            Float(z)
        }
        // A date outside 0000-01-01..=9999-12-31 has no value: it could not be
        // written as YYYY-MM-DD, nor loaded back.
        (Date(d), Int(n)) => match op {
            BinOp::Add => Value::date(i64::from(*d).checked_add(*n)?)?,
            BinOp::Sub => Value::date(i64::from(*d).checked_sub(*n)?)?,
            _ => return None,
        },
        (Date(x), Date(y)) if op == BinOp::Sub => Int(i64::from(*x) - i64::from(*y)),
        (Text(x), Text(y)) if op == BinOp::Add => Text(format!("{x}{y}").into()),
        _ => return None,
    })
}

/// `a op b` for interned values: equality by id, order by [`Value::order`].
#[inline]
pub(crate) fn compare(
    op: CmpOp,
    a: ValueId,
    b: ValueId,
    interner: &(impl Values + ?Sized),
) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        _ => {
            let ordering = interner.value(a).order(interner.value(b));
            match op {
                CmpOp::Lt => ordering == Ordering::Less,
                CmpOp::Le => ordering != Ordering::Greater,
                CmpOp::Gt => ordering == Ordering::Greater,
                CmpOp::Ge => ordering != Ordering::Less,
                CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
            }
        }
    }
}

/// The value of an aggregate over distinct solutions (tuples of `locals`): `None` when
/// there is none (min or max of nothing), `Err` when it has no value (a sum that
/// overflows or adds non-numbers).
pub(crate) fn aggregate<'s>(
    function: AggFn,
    targets: &[VarId],
    locals: &[VarId],
    solutions: impl IntoIterator<Item = &'s [ValueId]>,
    interner: &(impl Values + ?Sized),
) -> Option<Result<Value, ()>> {
    let solutions: Vec<&[ValueId]> = solutions.into_iter().collect();
    let positions: Vec<usize> = targets
        .iter()
        .map(|t| {
            locals
                .iter()
                .position(|l| l == t)
                .expect("aggregate targets are locals (checked when lowering)")
        })
        .collect();
    match function {
        AggFn::Count => {
            let mut counted = vec![false; locals.len()];
            for &p in &positions {
                counted[p] = true;
            }
            // Solutions are distinct tuples of the locals: when the targets are all of
            // them, so are their projections.
            let count = if positions.is_empty() || counted.iter().all(|&c| c) {
                solutions.len()
            } else {
                let mut projected = Solutions::new(positions.len());
                let mut tuple = Vec::with_capacity(positions.len());
                for s in &solutions {
                    tuple.clear();
                    tuple.extend(positions.iter().map(|&p| s[p]));
                    projected.add(&tuple, 1.0);
                }
                projected.len()
            };
            Some(Ok(Value::Int(count as i64)))
        }
        AggFn::Sum => {
            let mut int_sum: i64 = 0;
            let mut float_sum: f64 = 0.0;
            let mut any_float = false;
            // Sum in a fixed order so float rounding does not depend on hashing.
            let mut values: Vec<&Value> = solutions
                .iter()
                .map(|s| interner.value(s[positions[0]]))
                .collect();
            values.sort_by(|a, b| a.sort_cmp(b));
            for value in values {
                match value {
                    Value::Int(i) => match int_sum.checked_add(*i) {
                        Some(s) => int_sum = s,
                        None => return Some(Err(())),
                    },
                    Value::Float(x) => {
                        any_float = true;
                        float_sum += x;
                    }
                    _ => return Some(Err(())),
                }
            }
            Some(Ok(if any_float {
                Value::Float(float_sum + int_sum as f64)
            } else {
                Value::Int(int_sum)
            }))
        }
        AggFn::Min | AggFn::Max => {
            let mut values = solutions.iter().map(|s| interner.value(s[positions[0]]));
            let first = values.next()?;
            let best = values.fold(first, |best, v| {
                let ordering = v.sort_cmp(best);
                let better = if function == AggFn::Min {
                    ordering.is_lt()
                } else {
                    ordering.is_gt()
                };
                if better {
                    v
                } else {
                    best
                }
            });
            Some(Ok(best.clone()))
        }
    }
}

/// The distinct solutions of an aggregate's body: tuples of its local variables, each
/// with the confidence of its best match, kept flat (no allocation per solution).
#[derive(Debug, Default)]
pub(crate) struct Solutions {
    /// Values per solution.
    width: usize,
    /// The solutions' values, one after another.
    values: Vec<ValueId>,
    /// Per solution, the confidence of its best match.
    best: Vec<f64>,
    /// Solution numbers, hashed by their values.
    table: HashTable<u32>,
}

impl Solutions {
    /// No solutions yet, of `width` values each.
    pub fn new(width: usize) -> Solutions {
        Solutions {
            width,
            ..Solutions::default()
        }
    }

    fn tuple(&self, i: usize) -> &[ValueId] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// Adds a solution found with confidence `confidence`, or raises the one it equals
    /// to that confidence if higher.
    pub fn add(&mut self, tuple: &[ValueId], confidence: f64) {
        debug_assert_eq!(tuple.len(), self.width);
        let hash = Index::hash_key(tuple);
        let (values, width) = (&self.values, self.width);
        let same = |&i: &u32| &values[i as usize * width..(i as usize + 1) * width] == tuple;
        if let Some(&i) = self.table.find(hash, same) {
            let best = &mut self.best[i as usize];
            *best = best.max(confidence);
            return;
        }
        let i = self.best.len() as u32;
        self.values.extend_from_slice(tuple);
        self.best.push(confidence);
        let (values, width) = (&self.values, self.width);
        self.table.insert_unique(hash, i, |&i| {
            Index::hash_key(&values[i as usize * width..(i as usize + 1) * width])
        });
    }

    /// Number of distinct solutions.
    pub fn len(&self) -> usize {
        self.best.len()
    }

    /// The solutions, in the order first found.
    pub fn iter(&self) -> impl Iterator<Item = &[ValueId]> + '_ {
        (0..self.best.len()).map(|i| self.tuple(i))
    }

    /// The confidence of the least confident solution, 1 when there is none.
    pub fn weakest(&self) -> f64 {
        self.best.iter().copied().fold(1.0, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(op: BinOp, a: Value, b: Value, expected: Option<&str>) {
        assert_eq!(
            apply(op, &a, &b).map(|v| v.to_string()).as_deref(),
            expected
        );
    }

    #[test]
    fn solutions_are_distinct_and_counted_by_their_targets() {
        let ids = |v: &[u32]| v.iter().map(|&v| ValueId(v)).collect::<Vec<_>>();
        let mut solutions = Solutions::new(2);
        for (tuple, confidence) in [([1, 7], 0.5), ([2, 7], 0.9), ([1, 7], 0.8), ([1, 8], 1.0)] {
            solutions.add(&ids(&tuple), confidence);
        }
        assert_eq!(solutions.len(), 3, "(1, 7) found twice is one solution");
        let found: Vec<Vec<ValueId>> = solutions.iter().map(<[ValueId]>::to_vec).collect();
        assert_eq!(found, [ids(&[1, 7]), ids(&[2, 7]), ids(&[1, 8])]);
        assert_eq!(solutions.weakest(), 0.8, "the best match of (1, 7) counts");
        assert_eq!(Solutions::new(1).weakest(), 1.0);
        let interner = crate::value::Interner::default();
        let (x, y) = (VarId(0), VarId(1));
        let count = |targets: &[VarId]| {
            aggregate(AggFn::Count, targets, &[x, y], solutions.iter(), &interner)
                .map(|v| v.map(|v| v.to_string()))
        };
        assert_eq!(count(&[x, y]), Some(Ok("3".into())));
        assert_eq!(count(&[y, x]), Some(Ok("3".into())));
        assert_eq!(count(&[x]), Some(Ok("2".into())), "distinct first values");
        assert_eq!(count(&[y]), Some(Ok("2".into())), "distinct second values");
        assert_eq!(count(&[]), Some(Ok("3".into())));
    }

    #[test]
    fn arithmetic_has_no_value_instead_of_panicking() {
        check(BinOp::Add, Value::Int(2), Value::Int(3), Some("5"));
        check(BinOp::Div, Value::Int(7), Value::Int(2), Some("3"));
        check(BinOp::Div, Value::Int(1), Value::Int(0), None);
        check(BinOp::Add, Value::Int(i64::MAX), Value::Int(1), None);
        check(BinOp::Div, Value::Int(i64::MIN), Value::Int(-1), None);
        check(BinOp::Mul, Value::Int(2), Value::Float(0.25), Some("0.5"));
        check(BinOp::Div, Value::Float(1.0), Value::Float(0.0), None);
        check(BinOp::Add, Value::text("a"), Value::Int(1), None);
        check(
            BinOp::Add,
            Value::text("ap"),
            Value::text("t40"),
            Some("apt40"),
        );
    }

    #[test]
    fn dates_shift_by_days_and_subtract_to_days() {
        let d = Value::parse_date("2021-08-01").expect("valid date");
        check(BinOp::Add, d.clone(), Value::Int(31), Some("2021-09-01"));
        let later = Value::parse_date("2024-03-26").expect("valid date");
        check(BinOp::Sub, later, d, Some("968"));
    }

    #[test]
    fn dates_past_year_9999_have_no_value() {
        // Before, 9999-12-31 + 1 printed as 10000-01-01, which no loader reads back.
        let last = Value::parse_date("9999-12-31").expect("valid date");
        check(BinOp::Add, last.clone(), Value::Int(1), None);
        check(BinOp::Sub, last.clone(), Value::Int(0), Some("9999-12-31"));
        check(BinOp::Add, last, Value::Int(i64::MAX), None);
        let first = Value::parse_date("0000-01-01").expect("valid date");
        check(BinOp::Sub, first.clone(), Value::Int(1), None);
        check(BinOp::Add, first, Value::Int(0), Some("0000-01-01"));
    }
}
