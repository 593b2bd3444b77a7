//! The tables of the `citizen` scenario: each run's phases, then Pingyi
//! beside the bare ceiling, medians over the runs.

use std::collections::BTreeMap;

use super::{Phase, Target, Work};

/// The non-success columns an outcome falls in.
const FAILURE_COLUMNS: [&str; 3] = ["429", "422", "errors"];

fn column(outcome: &str) -> Option<&'static str> {
    if outcome.ends_with("rate_limited") {
        Some("429")
    } else if outcome.ends_with("invalid") {
        Some("422")
    } else if outcome == "error" {
        Some("errors")
    } else {
        None
    }
}

/// The failures of a phase in the columns 429, 422, errors, and the rest
/// by name.
fn failure_cells(failures: &BTreeMap<String, usize>) -> (Vec<usize>, String) {
    let mut counts = [0; FAILURE_COLUMNS.len()];
    let mut other = Vec::new();
    for (outcome, n) in failures {
        match column(outcome).and_then(|c| FAILURE_COLUMNS.iter().position(|k| *k == c)) {
            Some(i) => counts[i] += n,
            None => other.push(format!("{outcome}: {n}")),
        }
    }
    let other = if other.is_empty() {
        "—".to_owned()
    } else {
        other.join(", ")
    };
    (counts.to_vec(), other)
}

/// `12345.6` as `12,346`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Each phase of run `i` of `n`: successes, rates, latencies, refusals.
pub fn run_table(i: usize, n: usize, phases: &[Phase]) {
    println!("\n#### citizen run {i} of {n}\n");
    println!(
        "| phase | successes | per s | p50 ms | p99 ms | server CPU µs per success | 429 | 422 | errors | other outcomes | wall s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for p in phases {
        let (counts, other) = failure_cells(&p.failures);
        println!(
            "| {} {} | {} | {} | {:.2} | {:.2} | {:.0} | {} | {} | {} | {other} | {:.2} |",
            p.target.name(),
            p.work.name(),
            thousands(p.successes as f64),
            thousands(p.per_s),
            p.p50_ms,
            p.p99_ms,
            p.server_cpu_us,
            counts[0],
            counts[1],
            counts[2],
            p.wall.as_secs_f64(),
        );
    }
}

/// The phases of one work and target, one per run.
fn across(runs: &[Vec<Phase>], work: Work, target: Target) -> Vec<&Phase> {
    runs.iter()
        .flatten()
        .filter(|p| p.work == work && p.target == target)
        .collect()
}

/// Pingyi beside the bare ceiling: medians over the runs of throughput,
/// p99 and p50, and every non-success outcome of all runs.
pub fn summary(runs: &[Vec<Phase>]) {
    println!(
        "\n### citizen path: Pingyi beside a bare actix-web ceiling (median of {} run(s))\n",
        runs.len()
    );
    println!("| work | Pingyi | bare actix ceiling | share |");
    println!("|---|---:|---:|---:|");
    let mut p50s = Vec::new();
    let mut cpu = Vec::new();
    let mut refusals = Vec::new();
    for work in [Work::Views, Work::Cycle] {
        let mut cells = Vec::new();
        let mut rates = Vec::new();
        for target in [Target::Pingyi, Target::Bare] {
            let phases = across(runs, work, target);
            let rate = median(phases.iter().map(|p| p.per_s).collect());
            let p99 = median(phases.iter().map(|p| p.p99_ms).collect());
            let p50 = median(phases.iter().map(|p| p.p50_ms).collect());
            cells.push(format!("{}/s, p99 {p99:.1} ms", thousands(rate)));
            rates.push(rate);
            p50s.push(format!("{} {} {p50:.2} ms", target.name(), work.name()));
            let cpu_us = median(phases.iter().map(|p| p.server_cpu_us).collect());
            cpu.push(format!("{} {} {cpu_us:.0} µs", target.name(), work.name()));
            let mut failures: BTreeMap<String, usize> = BTreeMap::new();
            for p in &phases {
                for (k, v) in &p.failures {
                    *failures.entry(k.clone()).or_default() += v;
                }
            }
            let (counts, other) = failure_cells(&failures);
            refusals.push(format!(
                "{} {}: 429 {}, 422 {}, errors {}, other {other}",
                target.name(),
                work.name(),
                counts[0],
                counts[1],
                counts[2]
            ));
        }
        let share = if rates[1] > 0.0 {
            format!("{:.0} %", rates[0] / rates[1] * 100.0)
        } else {
            "—".to_owned()
        };
        println!(
            "| {} | {} | {} | {share} |",
            work.name(),
            cells[0],
            cells[1]
        );
    }
    println!("\nmedian p50: {}", p50s.join(" · "));
    println!(
        "median server CPU per success (user + system, all threads): {}",
        cpu.join(" · ")
    );
    println!("non-success outcomes (all runs): {}", refusals.join(" · "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(11_609.0), "11,609");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn median_of_odd_and_even_runs() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn failures_fall_in_their_columns() {
        let failures: BTreeMap<String, usize> = [
            ("form_rate_limited".to_owned(), 2),
            ("rate_limited".to_owned(), 1),
            ("invalid".to_owned(), 3),
            ("error".to_owned(), 4),
            ("duplicate".to_owned(), 5),
        ]
        .into_iter()
        .collect();
        let (counts, other) = failure_cells(&failures);
        assert_eq!(counts, vec![3, 3, 4]);
        assert_eq!(other, "duplicate: 5");
    }
}
