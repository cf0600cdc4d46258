//! How figures are written for people, the same on the terminal and the report page:
//! thousands separators, whole dollars, percentages of par, counts with their nouns.

/// A whole number with thousands separators: `1234567` -> `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A count and its noun, singular for one: `count(1, "loan")` is `1 loan`,
/// `count(10000, "loan")` is `10,000 loans`.
pub fn count(n: u64, singular: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{} {singular}s", grouped(n))
    }
}

/// Whole dollars with thousands separators; a negative amount that rounds to zero is
/// "0", not "-0".
pub fn money(x: f64) -> String {
    let neg = x <= -0.5;
    let dollars = grouped(x.abs().round() as u64);
    format!("{}{dollars}", if neg { "-" } else { "" })
}

/// `x` as a percentage of `par`, two decimals ("101.27%"); "n/a" without a par.
pub fn pct_of(x: f64, par: f64) -> String {
    if par > 0.0 {
        format!("{:.2}%", 100.0 * x / par)
    } else {
        "n/a".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands_and_agree_in_number() {
        assert_eq!(count(1, "loan"), "1 loan");
        assert_eq!(count(0, "shard"), "0 shards");
        assert_eq!(count(10_000, "loan"), "10,000 loans");
        assert_eq!(count(4_602, "scenario"), "4,602 scenarios");
        assert_eq!(grouped(593_469_786), "593,469,786");
        assert_eq!(grouped(999), "999");
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1_234_567.891), "1,234,568");
        assert_eq!(money(-999.4), "-999");
        assert_eq!(money(2_776_018.6), "2,776,019");
        assert_eq!(money(-0.2), "0");
        assert_eq!(money(0.0), "0");
    }

    #[test]
    fn percent_of_par_has_two_decimals_and_no_par_is_said() {
        assert_eq!(pct_of(101_274.0, 100_000.0), "101.27%");
        assert_eq!(pct_of(5.0, 0.0), "n/a");
    }
}
