//! `isolint confirm`'s human output: per finding, the verdict, the values used and the
//! interleaving as it ran on the database.

use std::fmt::Write;

use super::statement_location;
use crate::CheckResult;
use crate::confirm::Verdict;
use crate::confirm::database::Rows;

pub fn render(result: &CheckResult) -> String {
    let mut out = String::new();
    let mut counts = [0usize; 4];
    for (index, finding) in result.findings.iter().enumerate() {
        let Some(confirmation) = result.confirmations.get(&index) else {
            continue;
        };
        counts[confirmation.verdict as usize] += 1;
        let location = statement_location(result, finding.primary);
        let names: Vec<&str> = finding
            .instances
            .iter()
            .map(|program| result.programs[*program].name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "{}: {} [{}:{}]",
            finding.rule.id(),
            names.join(", "),
            location.file,
            location.line
        );
        let _ = writeln!(
            out,
            "  {}: {}",
            confirmation.verdict.id().to_uppercase(),
            confirmation.reason
        );
        if !confirmation.interleaving.is_empty() {
            let _ = writeln!(out, "  schedule: {}", confirmation.interleaving);
        }
        if !confirmation.schema.is_empty() {
            let _ = writeln!(out, "  schema: {}", confirmation.schema);
        }
        for (session, parameters) in confirmation.parameters.iter().enumerate() {
            if parameters.is_empty() {
                continue;
            }
            let values: Vec<String> = parameters
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            let _ = writeln!(out, "  T{} with {}", session + 1, values.join(" "));
        }
        for (number, event) in confirmation.schedule.iter().enumerate() {
            let mut line = format!(
                "  {:>3}  {}  {}",
                number + 1,
                event.session,
                crate::one_line(&event.sql)
            );
            match (&event.returned, event.result.as_str()) {
                (Some(rows), _) => {
                    let _ = write!(line, "  → {}", show_rows(rows));
                }
                (None, "ok" | "blocked") => {}
                (None, other) => {
                    let _ = write!(line, "  [{other}]");
                }
            }
            if let Some(after) = event.completed_after {
                let _ = write!(line, " (waited for a lock; done after step {})", after + 1);
            } else if event.result == "blocked" {
                line.push_str(" [blocked]");
            }
            let _ = writeln!(out, "{line}");
        }
        for assumption in &confirmation.assumptions {
            let _ = writeln!(out, "  assumed: {assumption}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} reproduced, {} prevented, {} not reproduced, {} inconclusive",
        counts[Verdict::Reproduced as usize],
        counts[Verdict::Prevented as usize],
        counts[Verdict::NotReproduced as usize],
        counts[Verdict::Inconclusive as usize]
    );
    out
}

/// `2`, `(1, 'a')`, or `3 rows` when there are many.
fn show_rows(rows: &Rows) -> String {
    let row = |row: &Vec<Option<String>>| {
        let cells: Vec<&str> = row
            .iter()
            .map(|cell| cell.as_deref().unwrap_or("NULL"))
            .collect();
        if cells.len() == 1 {
            cells[0].to_string()
        } else {
            format!("({})", cells.join(", "))
        }
    };
    match rows.len() {
        0 => "no rows".to_string(),
        1..=3 => rows.iter().map(row).collect::<Vec<_>>().join(", "),
        count => format!("{count} rows"),
    }
}
