//! Floor-area apportionment (按建筑面积比例分摊), exact in fen.
//!
//! Every drawdown payment and every interest allocation splits an amount over units with this
//! one function, so its rule is stated once: each unit gets the floor of its exact proportional
//! share, and the fen left over go one each to the units with the largest remainders, ties to the
//! smaller `unit_id` (the largest-remainder, or Hamilton, method). The shares always sum to the
//! amount and each is within one fen of the exact share.

use thiserror::Error;

use crate::money::Money;
use crate::registry::FloorArea;

/// A unit taking part in an apportionment.
#[derive(Debug, Clone, Copy)]
pub struct ShareBasis<'a> {
    pub unit_id: &'a str,
    pub area: FloorArea,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApportionError {
    #[error("nothing to apportion over: the scope has no units")]
    EmptyScope,
    #[error("the scope's total floor area is zero")]
    ZeroArea,
    #[error("cannot apportion a negative amount ({0})")]
    NegativeAmount(Money),
    #[error("unit `{0}` appears twice in the scope")]
    DuplicateUnit(String),
    #[error("every weight is zero: nothing to apportion by")]
    ZeroWeight,
    #[error("the weights are too large to apportion exactly (amount × weight exceeds 128 bits)")]
    Overflow,
}

/// Splits `total` over `basis` by floor area; shares are returned in the order of `basis`.
pub fn apportion(total: Money, basis: &[ShareBasis<'_>]) -> Result<Vec<Money>, ApportionError> {
    let ids: Vec<&str> = basis.iter().map(|b| b.unit_id).collect();
    let weights: Vec<u128> = basis.iter().map(|b| b.area.centi_m2() as u128).collect();
    match apportion_by_weight(total, &ids, &weights) {
        Err(ApportionError::ZeroWeight) => Err(ApportionError::ZeroArea),
        other => other,
    }
}

/// Splits `total` over integer `weights` (one per id, in the same order) by the same largest
/// remainder rule: floor of each exact share, the fen left over one each to the largest
/// remainders, ties to the smaller id. A weight of 0 gets nothing. Income allocation (积数,
/// floor area, closing balance) and floor-area apportionment share this one function.
pub fn apportion_by_weight(total: Money, ids: &[&str], weights: &[u128]) -> Result<Vec<Money>, ApportionError> {
    assert_eq!(ids.len(), weights.len(), "one weight per id");
    if ids.is_empty() {
        return Err(ApportionError::EmptyScope);
    }
    if total.is_negative() {
        return Err(ApportionError::NegativeAmount(total));
    }
    let weight_total = weights.iter().try_fold(0u128, |sum, &w| sum.checked_add(w)).ok_or(ApportionError::Overflow)?;
    if weight_total == 0 {
        return Err(ApportionError::ZeroWeight);
    }
    check_unique_ids(ids)?;
    let total_fen = total.fen() as u128;
    let mut shares = Vec::with_capacity(ids.len());
    let mut remainders = Vec::with_capacity(ids.len());
    let mut handed_out: u128 = 0;
    for (index, &weight) in weights.iter().enumerate() {
        let exact = total_fen.checked_mul(weight).ok_or(ApportionError::Overflow)?;
        let share = exact / weight_total;
        handed_out += share;
        // share ≤ total_fen, which came from an i64.
        shares.push(share as i64);
        remainders.push((exact % weight_total, index));
    }
    // At most one fen per unit is left over, since each floor loses less than one fen.
    let leftover = (total_fen - handed_out) as usize;
    if leftover > 0 {
        let by_priority = |a: &(u128, usize), b: &(u128, usize)| b.0.cmp(&a.0).then_with(|| ids[a.1].cmp(ids[b.1]));
        if leftover < remainders.len() {
            remainders.select_nth_unstable_by(leftover - 1, by_priority);
        }
        for &(_, index) in &remainders[..leftover] {
            shares[index] += 1;
        }
    }
    Ok(shares.into_iter().map(Money::from_fen).collect())
}

/// A unit charged twice would be a scope error, and would make the tie rule ambiguous.
fn check_unique_ids(ids: &[&str]) -> Result<(), ApportionError> {
    let mut ids: Vec<&str> = ids.to_vec();
    ids.sort_unstable();
    match ids.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(ApportionError::DuplicateUnit(w[0].to_owned())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn area(centi: i64) -> FloorArea {
        FloorArea::from_centi_m2(centi).unwrap()
    }

    #[test]
    fn ties_go_to_the_smaller_unit_id() {
        // 1 fen over three equal units: all remainders tie, so U1 (smallest id) gets it.
        let basis = [
            ShareBasis { unit_id: "U3", area: area(100) },
            ShareBasis { unit_id: "U1", area: area(100) },
            ShareBasis { unit_id: "U2", area: area(100) },
        ];
        let shares = apportion(Money::from_fen(1), &basis).unwrap();
        assert_eq!(shares, vec![Money::from_fen(0), Money::from_fen(1), Money::from_fen(0)]);
        // 2 fen: U1 and U2.
        let shares = apportion(Money::from_fen(2), &basis).unwrap();
        assert_eq!(shares, vec![Money::from_fen(0), Money::from_fen(1), Money::from_fen(1)]);
    }

    #[test]
    fn largest_remainder_wins_before_ids() {
        // 100 fen over areas 1:2 → exact 33.33 and 66.67: the 66.67 unit takes the spare fen.
        let basis = [ShareBasis { unit_id: "A", area: area(100) }, ShareBasis { unit_id: "B", area: area(200) }];
        assert_eq!(apportion(Money::from_fen(100), &basis).unwrap(), vec![Money::from_fen(33), Money::from_fen(67)]);
    }

    #[test]
    fn refuses_empty_scope_negative_amounts_and_duplicates() {
        assert_eq!(apportion(Money::from_fen(1), &[]), Err(ApportionError::EmptyScope));
        let basis = [ShareBasis { unit_id: "A", area: area(100) }, ShareBasis { unit_id: "A", area: area(100) }];
        assert_eq!(apportion(Money::from_fen(-1), &basis), Err(ApportionError::NegativeAmount(Money::from_fen(-1))));
        assert_eq!(apportion(Money::from_fen(1), &basis), Err(ApportionError::DuplicateUnit("A".into())));
    }

    fn city() -> impl Strategy<Value = (i64, Vec<i64>)> {
        (0i64..1_000_000_000_000, prop::collection::vec(1i64..50_000, 1..300))
    }

    proptest! {
        #[test]
        fn shares_sum_to_the_total_within_a_fen_of_exact_and_deterministic((total, areas) in city()) {
            let ids: Vec<String> = (0..areas.len()).map(|i| format!("U{i:05}")).collect();
            let basis: Vec<ShareBasis> = ids.iter().zip(&areas).map(|(id, &a)| ShareBasis { unit_id: id, area: area(a) }).collect();
            let shares = apportion(Money::from_fen(total), &basis).unwrap();
            prop_assert_eq!(shares.iter().map(|s| s.fen()).sum::<i64>(), total);
            let area_total: i128 = areas.iter().map(|&a| i128::from(a)).sum();
            for (share, &a) in shares.iter().zip(&areas) {
                // |share − total·a/A| < 1  ⇔  |share·A − total·a| < A
                let gap = i128::from(share.fen()) * area_total - i128::from(total) * i128::from(a);
                prop_assert!(gap.abs() < area_total);
            }
            prop_assert_eq!(apportion(Money::from_fen(total), &basis).unwrap(), shares.clone());
            // Order of the basis does not change who gets what.
            let reversed: Vec<ShareBasis> = basis.iter().rev().copied().collect();
            let mut again = apportion(Money::from_fen(total), &reversed).unwrap();
            again.reverse();
            prop_assert_eq!(again, shares);
        }
    }
}
