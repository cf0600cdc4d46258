//! One shard: its partial files add up exactly whatever the split, and its marker is
//! written only once the partials are whole.

use engine::CashflowTable;
use worker::layout::{SHARD_CASHFLOWS_FILE, marker_key, shard_file_key};
use worker::portfolio_file::PortfolioSource;
use worker::shard::{read_marker, read_partial, run_shard};

use super::{Fixture, RUN_ID, SCENARIOS};

/// Every scenario's table and every loan's sums, summed over the fixture's shards.
fn totals(f: &Fixture) -> (Vec<CashflowTable>, Vec<engine::risk::LoanSums>) {
    let config = f.config();
    let source = PortfolioSource::File(f.portfolio.clone());
    let mut tables: Vec<CashflowTable> = Vec::new();
    let mut sums = Vec::new();
    for task in &f.tasks {
        let marker = run_shard(task, &source, &config, &f.store, None).expect("shard");
        assert_eq!(&marker.task, task);
        let partial =
            read_partial(&f.store, RUN_ID, task.shard, config.model.advancing()).expect("partial");
        assert_eq!(partial.tables.len(), SCENARIOS as usize);
        if tables.is_empty() {
            tables = partial.tables;
        } else {
            for (a, b) in tables.iter_mut().zip(&partial.tables) {
                a.merge(b);
            }
        }
        let loan_sums = partial.loan_sums.expect("a stochastic shard has loan sums");
        assert_eq!(loan_sums.len(), task.loans().len());
        sums.extend(loan_sums);
    }
    (tables, sums)
}

#[test]
fn shards_of_any_split_add_up_to_the_same_exact_tables() {
    let whole = Fixture::new(90, 90);
    let split = Fixture::new(90, 25);
    assert_eq!(split.tasks.len(), 4);
    let (one_tables, one_sums) = totals(&whole);
    let (many_tables, many_sums) = totals(&split);
    assert_eq!(one_tables, many_tables);
    assert_eq!(one_sums, many_sums);
}

#[test]
fn a_rerun_shard_rewrites_identical_bytes() {
    let f = Fixture::new(40, 40);
    let config = f.config();
    let source = PortfolioSource::File(f.portfolio.clone());
    let key = shard_file_key(RUN_ID, 0, SHARD_CASHFLOWS_FILE);
    run_shard(&f.tasks[0], &source, &config, &f.store, None).expect("first");
    let first = f.store.get_required(&key).expect("partial");
    run_shard(&f.tasks[0], &source, &config, &f.store, None).expect("second");
    assert_eq!(f.store.get_required(&key).expect("partial"), first);
}

#[test]
fn a_shard_outside_the_portfolio_fails_and_marks_nothing_complete() {
    let f = Fixture::new(30, 30);
    let mut task = f.tasks[0].clone();
    task.loan_end = 31;
    let source = PortfolioSource::File(f.portfolio.clone());
    let err = run_shard(&task, &source, &f.config(), &f.store, None).expect_err("past the end");
    assert!(!err.to_string().is_empty());
    assert_eq!(read_marker(&f.store, RUN_ID, 0).expect("read"), None);
    assert!(f.store.get(&marker_key(RUN_ID, 0)).expect("get").is_none());
}
