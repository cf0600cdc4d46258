//! What `mcflow` shows a person: text tables, the progress bar and SVG charts. Each
//! function takes finished results and returns text (or writes a chart); none computes.

pub mod charts;
pub mod plan;
pub mod progress;
pub mod status;
pub mod summary;
pub mod sweep;

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
}
