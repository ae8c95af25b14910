//! Rows for a finding when the project gives none: one row per row the transactions point at
//! (their pinned columns, with the bound values), the other columns filled by type. Rows
//! the migrations already insert win.

use std::collections::{BTreeMap, BTreeSet};

use super::database::{Column, quote_ident, quote_literal};
use super::plan::Plan;
use crate::CheckResult;
use crate::access::{AccessKind, Term};

/// Column → value of one row.
type Pins<'a> = BTreeMap<&'a str, String>;

/// `INSERT` statements, and what was assumed in words.
pub fn generate(
    result: &CheckResult,
    plan: &Plan,
    tables: &BTreeMap<String, Vec<Column>>,
) -> (Vec<String>, Vec<String>) {
    // Per table: (the access reads only, pins) — rows written come first when merging.
    let mut wanted: BTreeMap<&str, BTreeSet<(bool, Pins)>> = BTreeMap::new();
    for (session, planned) in plan.sessions.iter().enumerate() {
        let program = &result.programs[planned.program];
        for access in program.statements.iter().flat_map(|s| &s.accesses) {
            if access.rows.pins.is_empty() || matches!(access.kind, AccessKind::Insert { .. }) {
                continue;
            }
            let row = access
                .rows
                .pins
                .iter()
                .filter_map(|(column, term)| {
                    let value = match term {
                        Term::Literal(literal) => literal.trim_matches('\'').to_string(),
                        Term::Param(name) => plan.parameters[session].get(name)?.clone(),
                    };
                    Some((column.as_str(), value))
                })
                .collect::<BTreeMap<_, _>>();
            if !row.is_empty() {
                wanted
                    .entry(access.table.as_str())
                    .or_default()
                    .insert((!access.is_write(), row));
            }
        }
    }
    let mut statements = Vec::new();
    let mut notes = Vec::new();
    for (table, rows) in wanted {
        let Some(columns) = tables.get(table) else {
            continue;
        };
        for (number, row) in merge(rows).iter().enumerate() {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for column in columns {
                let value = match row.get(column.name.as_str()) {
                    Some(value) => Some(value.clone()),
                    None => filler(column, number + 1),
                };
                if let Some(value) = value {
                    names.push(quote_ident(&column.name));
                    values.push(quote_literal(&value));
                }
            }
            let statement = format!(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                quote_ident(table),
                names.join(", "),
                values.join(", ")
            );
            notes.push(statement.clone());
            statements.push(statement);
        }
    }
    let notes = if notes.is_empty() {
        vec![]
    } else {
        vec![format!(
            "rows made up (no seed.sql gives them): {}",
            notes.join("; ")
        )]
    };
    (statements, notes)
}

/// One row per distinct row pointed at: pins that agree with a row already made (a shared
/// column with the same value, no column with another) are that row's too, as a read of
/// `shift_id = 1 AND on_call` and an update of `shift_id = 1 AND doctor_id = 2` point at one
/// row. Rows written are laid down first, rows only read merged into them.
fn merge(pinned: BTreeSet<(bool, Pins)>) -> Vec<Pins> {
    let mut pinned: Vec<(bool, Pins)> = pinned.into_iter().collect();
    pinned.sort_by_key(|(read_only, pins)| (*read_only, std::cmp::Reverse(pins.len())));
    let mut rows: Vec<Pins> = Vec::new();
    for (_, pins) in pinned {
        let agrees = |row: &Pins| {
            pins.iter()
                .any(|(column, value)| row.get(column) == Some(value))
                && pins
                    .iter()
                    .all(|(column, value)| row.get(column).is_none_or(|other| other == value))
        };
        let mut merged = false;
        for row in rows.iter_mut().filter(|row| agrees(row)) {
            row.extend(pins.iter().map(|(column, value)| (*column, value.clone())));
            merged = true;
        }
        if !merged {
            rows.push(pins);
        }
    }
    rows
}

/// A value for a column no transaction pins: numbers 100 (a balance that covers a
/// withdrawal), booleans true (a doctor on call), text and dates of their type; `None` leaves
/// the column to its default or NULL.
fn filler(column: &Column, number: usize) -> Option<String> {
    if column.generated() {
        return None;
    }
    let data_type = column.data_type.as_str();
    let value = match data_type {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" | "money" => {
            "100".to_string()
        }
        "boolean" => "true".to_string(),
        "text" | "character varying" | "character" => format!("{}{number}", column.name),
        "date" => format!("2024-01-{:02}", number.min(28)),
        _ if data_type.starts_with("timestamp") => format!("2024-01-{:02} 12:00", number.min(28)),
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            nullable: true,
            default: None,
        }
    }

    #[test]
    fn pins_of_one_row_merge() {
        let pins = |read_only: bool, pairs: &[(&'static str, &str)]| {
            (
                read_only,
                pairs
                    .iter()
                    .map(|(column, value)| (*column, value.to_string()))
                    .collect(),
            )
        };
        let rows = merge(BTreeSet::from([
            pins(true, &[("shift_id", "1"), ("on_call", "true")]),
            pins(false, &[("shift_id", "1"), ("doctor_id", "2")]),
            pins(false, &[("shift_id", "1"), ("doctor_id", "3")]),
            pins(true, &[("shift_id", "5")]),
        ]));
        let shown: Vec<String> = rows.iter().map(|row| format!("{row:?}")).collect();
        assert_eq!(
            shown,
            [
                r#"{"doctor_id": "2", "on_call": "true", "shift_id": "1"}"#,
                r#"{"doctor_id": "3", "on_call": "true", "shift_id": "1"}"#,
                r#"{"shift_id": "5"}"#,
            ]
        );
    }

    #[test]
    fn fillers_follow_the_type() {
        assert_eq!(
            filler(&column("balance", "integer"), 1).as_deref(),
            Some("100")
        );
        assert_eq!(
            filler(&column("on_call", "boolean"), 1).as_deref(),
            Some("true")
        );
        assert_eq!(filler(&column("name", "text"), 2).as_deref(), Some("name2"));
        assert_eq!(filler(&column("doc", "jsonb"), 1), None);
        let serial = Column {
            default: Some("nextval('t_id_seq'::regclass)".into()),
            ..column("id", "integer")
        };
        assert_eq!(filler(&serial, 1), None);
    }
}
