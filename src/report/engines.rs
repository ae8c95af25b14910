//! The engine table in words: what each level of each engine lets through, the settings that
//! change it and the documents it comes from, rendered from `rules/engines.toml` for `isolint
//! explain --engines` and the README, and per rule for the "Engines and levels" table of its
//! page (tests keep those copies equal to these).

use std::fmt::Write as _;

use crate::rule::Rule;
use crate::semantics::{Engine, EngineSettings, Level, LevelSpec, Semantics};

/// The engine table as Markdown.
pub fn markdown() -> String {
    let embedded = Semantics::embedded();
    let columns: Vec<Rule> = Rule::ALL
        .into_iter()
        .filter(|rule| rule.enabled_by_default())
        .collect();
    let mut out = String::from(
        "From Hermitage's measurements where it measured the engine, else the vendor's \
         documentation (✓ = possible, — = prevented; ★ = the level of transactions that declare \
         none).\n\n",
    );
    out.push_str("| engine | level |");
    for rule in &columns {
        let _ = write!(out, " {} |", rule.id().replace('-', " "));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for engine in Engine::ALL {
        let default = embedded.default_level(engine);
        for level in embedded.levels(engine) {
            let mut label = words(level).to_string();
            if level == default {
                label.push_str(" ★");
            }
            label.push_str(&remarks(embedded, engine, level));
            row(
                &mut out,
                embedded.display(engine),
                &label,
                embedded,
                engine,
                level,
                &columns,
            );
        }
        for (name, setting) in embedded.settings(engine) {
            for value in setting.accepted().into_iter().skip(1) {
                let Some(overlay) = setting.when.get(&value.key()) else {
                    continue;
                };
                let mut chosen = EngineSettings::new();
                if chosen.set(engine, name, value.clone()).is_err() {
                    continue;
                }
                let changed = Semantics::configured(&chosen);
                let with = format!("with `{}`", setting.assignment(&value));
                // The levels the value defines, then those it runs as another.
                let mut rows: Vec<(String, Level)> = Level::ALL
                    .into_iter()
                    .filter(|level| overlay.levels.contains_key(level.id()))
                    .map(|level| {
                        let label = format!(
                            "{}, {with}{}",
                            words(level),
                            remarks(changed, engine, level)
                        );
                        (label, level)
                    })
                    .collect();
                // Levels the value runs as another, one row per level they run as, unless that
                // level has a row of its own above.
                let mut targets: Vec<Level> = Vec::new();
                for level in Level::ALL {
                    if overlay.aliases.contains_key(level.id())
                        && let Some(target) = changed.resolve(engine, level)
                        && !overlay.levels.contains_key(target.id())
                        && !targets.contains(&target)
                    {
                        targets.push(target);
                    }
                }
                for target in targets {
                    let from: Vec<&str> = Level::ALL
                        .into_iter()
                        .filter(|level| {
                            overlay.aliases.contains_key(level.id())
                                && changed.resolve(engine, *level) == Some(target)
                        })
                        .map(words)
                        .collect();
                    let label = format!(
                        "{}, {with}: {} as {}",
                        listed(&from),
                        if from.len() == 1 { "runs" } else { "run" },
                        words(target)
                    );
                    rows.push((label, target));
                }
                for (label, level) in rows {
                    row(
                        &mut out,
                        changed.display(engine),
                        &label,
                        changed,
                        engine,
                        level,
                        &columns,
                    );
                }
            }
        }
    }
    out.push_str(
        "\nSettings, under `[engine]` in `isolint.toml` beside the engine's `name` (the server's \
         own name for each in parentheses), and the statement of a migration that sets it for \
         the whole server, which wins over the file:\n\n",
    );
    for engine in Engine::ALL {
        for (name, setting) in embedded.settings(engine) {
            let values: Vec<String> = setting
                .accepted()
                .iter()
                .map(|value| format!("`{}`", value.toml()))
                .collect();
            let from_sql = match setting.sql {
                Some(scope) => format!("`{} {} = ...`", scope.keywords(), setting.variable),
                None => "no SQL statement sets it for the whole server, so migrations do not"
                    .to_string(),
            };
            let per_transaction = if setting.per_transaction {
                let begins: Vec<String> = setting
                    .accepted()
                    .iter()
                    .map(|value| format!("`BEGIN {}`", value.key().to_uppercase()))
                    .collect();
                format!(
                    "; one transaction chooses its own with {}, and a session's `SET {} = ...` \
                     chooses it for the explicit transactions it begins afterwards",
                    begins.join(" or "),
                    setting.variable
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "- {}: `{name}` (`{}`): {}; {} (default first); {from_sql}{per_transaction}.",
                engine.id(),
                setting.variable,
                setting.about,
                values.join(", ")
            );
        }
    }
    out.push_str("\nLocks and snapshots:\n\n");
    let flags: [(&str, LevelProperty, &str); 5] = [
        (
            "locking reads also lock (or validate at commit) the ranges they scan, so they stop \
             phantoms",
            |spec| spec.gap_locks,
            "",
        ),
        (
            "the snapshot is taken at the first plain read, so a lock taken before it (a parent \
             row `FOR UPDATE`) protects what follows",
            |spec| spec.snapshot_at_first_plain_read,
            "; at the other snapshot levels the first query takes it, a locking `SELECT` \
             included, and only a `LOCK TABLE` (which takes none) before it protects what follows",
        ),
        (
            "a locking read does not wait for another one: it fails at commit when the row \
             changed, so two transactions that lock one unchanged row are not serialised by it",
            |spec| spec.locking_reads_validate,
            "",
        ),
        (
            "the reads of a statement that writes (`INSERT ... SELECT`'s source, an UPDATE's \
             subquery) lock the rows they scan, shared, and read the newest committed rows, so \
             two such statements run one after the other",
            |spec| spec.write_reads_lock,
            "",
        ),
        (
            "the same for the reads of a DELETE (its subqueries, its `USING` tables) and of an \
             UPDATE of joined tables (`UPDATE t JOIN (SELECT ...) x ...`)",
            |spec| spec.delete_reads_lock,
            "",
        ),
    ];
    for (what, holds, otherwise) in flags {
        let _ = writeln!(out, "- {what}: {}{otherwise}.", where_it_holds(holds));
    }
    out.push_str("\nSources:\n\n");
    for engine in Engine::ALL {
        let sources: Vec<String> = embedded
            .sources(engine)
            .iter()
            .map(|source| format!("<{source}>"))
            .collect();
        let _ = writeln!(
            out,
            "- {}: {}",
            embedded.display(engine),
            sources.join(", ")
        );
    }
    out
}

/// Whether a level's entry has a property (`gap_locks`, ...).
type LevelProperty = fn(&LevelSpec) -> bool;

/// `MySQL (InnoDB) at repeatable read and serializable; Spanner at repeatable read (not with
/// ...)`: the levels whose entry has a property, with every setting at its default, then with
/// each setting value that gives it to a level or takes it away.
fn where_it_holds(holds: LevelProperty) -> String {
    let embedded = Semantics::embedded();
    let mut places = Vec::new();
    for engine in Engine::ALL {
        let mut levels: Vec<String> = Vec::new();
        for level in embedded.levels(engine) {
            if holds(embedded.level(engine, level)) {
                levels.push(words(level).to_string());
            }
        }
        for setting in embedded.settings(engine).values() {
            for value in setting.accepted().into_iter().skip(1) {
                let Some(overlay) = setting.when.get(&value.key()) else {
                    continue;
                };
                let assignment = setting.assignment(&value);
                for level in Level::ALL {
                    let Some(spec) = overlay.levels.get(level.id()) else {
                        continue;
                    };
                    let before = embedded.resolve(engine, level) == Some(level)
                        && holds(embedded.level(engine, level));
                    if holds(spec) && !before {
                        levels.push(format!("{} with `{assignment}`", words(level)));
                    } else if !holds(spec)
                        && before
                        && let Some(entry) = levels.iter_mut().find(|entry| *entry == words(level))
                    {
                        entry.push_str(&format!(" (not with `{assignment}`)"));
                    }
                }
            }
        }
        if !levels.is_empty() {
            let levels: Vec<&str> = levels.iter().map(String::as_str).collect();
            places.push(format!(
                "{} at {}",
                embedded.display(engine),
                listed(&levels)
            ));
        }
    }
    if places.is_empty() {
        "none".to_string()
    } else {
        places.join("; ")
    }
}

/// The "Engines and levels" table of `rule`'s page: per engine, the levels that let the rule
/// through and those that prevent it, with every setting at its default, then one row per
/// setting value that changes either list.
pub fn rule_table(rule: Rule) -> String {
    let embedded = Semantics::embedded();
    let mut out = String::from(
        "| engine | levels that let it through | levels that prevent it |\n|---|---|---|\n",
    );
    for engine in Engine::ALL {
        let lists = |semantics: &Semantics| {
            let mut through = Vec::new();
            let mut prevent = Vec::new();
            for level in Level::ALL {
                let Some(runs_as) = semantics.resolve(engine, level) else {
                    continue;
                };
                // SNAPSHOT is SQL Server's word; elsewhere it is only another name.
                if level == Level::Snapshot && runs_as != level {
                    continue;
                }
                let spec = semantics.level(engine, level);
                let mut name = words(level).to_string();
                if runs_as != level {
                    name.push_str(&format!(" (runs as {})", words(runs_as)));
                }
                if !semantics.permits(engine, level, rule) {
                    prevent.push(name);
                } else if spec.read_skew_needs_write && rule == Rule::ReadSkew {
                    through.push(format!("{name} only if the reader also writes"));
                    prevent.push(format!("{name} for a reader that does not write"));
                } else {
                    through.push(name);
                }
            }
            let join = |names: Vec<String>| {
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            };
            (join(through), join(prevent))
        };
        let defaults = lists(embedded);
        let _ = writeln!(out, "| {} | {} | {} |", engine.id(), defaults.0, defaults.1);
        for (name, setting) in embedded.settings(engine) {
            for value in setting.accepted().into_iter().skip(1) {
                let mut chosen = EngineSettings::new();
                if chosen.set(engine, name, value.clone()).is_err() {
                    continue;
                }
                let changed = lists(Semantics::configured(&chosen));
                if changed != defaults {
                    let _ = writeln!(
                        out,
                        "| {} with `{}` | {} | {} |",
                        engine.id(),
                        setting.assignment(&value),
                        changed.0,
                        changed.1
                    );
                }
            }
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `read committed`.
fn words(level: Level) -> &'static str {
    match level {
        Level::ReadUncommitted => "read uncommitted",
        Level::ReadCommitted => "read committed",
        Level::RepeatableRead => "repeatable read",
        Level::Snapshot => "snapshot",
        Level::Serializable => "serializable",
    }
}

/// ` (snapshot isolation; read uncommitted runs as it)`: the level's note and the levels that
/// run as it.
fn remarks(semantics: &Semantics, engine: Engine, level: Level) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(note) = &semantics.level(engine, level).note {
        parts.push(note.clone());
    }
    let aliases: Vec<&str> = Level::ALL
        .into_iter()
        .filter(|other| *other != level && semantics.resolve(engine, *other) == Some(level))
        .map(words)
        .collect();
    if !aliases.is_empty() {
        parts.push(format!(
            "{} {} as it",
            listed(&aliases),
            if aliases.len() == 1 { "runs" } else { "run" }
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn row(
    out: &mut String,
    engine_name: &str,
    label: &str,
    semantics: &Semantics,
    engine: Engine,
    level: Level,
    columns: &[Rule],
) {
    let _ = write!(out, "| {engine_name} | {label} |");
    let spec = semantics.level(engine, level);
    for rule in columns {
        let cell = if !semantics.permits(engine, level, *rule) {
            "—"
        } else if *rule == Rule::ReadSkew && spec.read_skew_needs_write {
            "only through a later write"
        } else {
            "✓"
        };
        let _ = write!(out, " {cell} |");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's section between its markers.
    fn readme_section() -> &'static str {
        let readme = include_str!("../../README.md");
        let start = "<!-- engine table: rendered from rules/engines.toml -->\n";
        let end = "<!-- end of engine table -->";
        readme
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(section, _)| section)
            .unwrap_or_default()
    }

    #[test]
    fn the_readme_engine_table_is_the_rendered_one() {
        let rendered = markdown();
        let readme = readme_section();
        if readme != rendered {
            let difference: Vec<String> = readme
                .lines()
                .zip(rendered.lines())
                .enumerate()
                .filter(|(_, (ours, theirs))| ours != theirs)
                .map(|(line, (ours, theirs))| format!("line {}:\n- {ours}\n+ {theirs}", line + 1))
                .take(5)
                .collect();
            panic!(
                "README.md's engine table differs from rules/engines.toml ({} lines against {}); \
                 paste the output of `isolint explain --engines` between its markers:\n{}",
                readme.lines().count(),
                rendered.lines().count(),
                difference.join("\n")
            );
        }
    }

    /// The table under a rule page's "## Engines and levels".
    fn page_table(rule: Rule) -> String {
        rule.doc()
            .body
            .split_once("## Engines and levels\n")
            .map(|(_, rest)| rest)
            .unwrap_or_default()
            .lines()
            .take_while(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    #[test]
    fn every_rule_page_has_the_rendered_engine_table() {
        for rule in Rule::ALL {
            let rendered = rule_table(rule);
            let page = page_table(rule);
            assert!(
                page == rendered,
                "rules/{rule}.md's \"Engines and levels\" table differs from \
                 rules/engines.toml; it should read:\n{rendered}"
            );
        }
    }

    #[test]
    fn a_setting_that_changes_a_rule_has_its_own_row() {
        let lost_update = rule_table(Rule::LostUpdate);
        assert!(lost_update.contains(
            "| mariadb with `innodb_snapshot_isolation = false` | read uncommitted, read \
             committed, repeatable read | serializable |"
        ));
        assert!(lost_update.contains("| tidb | read committed, repeatable read | none |"));
        assert!(lost_update.contains("| tidb with `tidb_txn_mode = 'optimistic'` |"));
        // Spanner's read lock mode changes no rule's lists.
        assert!(!lost_update.contains("read_lock_mode"));
    }

    #[test]
    fn every_engine_and_setting_has_a_row() {
        let rendered = markdown();
        for engine in Engine::ALL {
            let display = Semantics::embedded().display(engine);
            assert!(rendered.contains(&format!("| {display} |")), "{engine}");
            for setting in Semantics::embedded().settings(engine).values() {
                assert!(rendered.contains(&setting.variable), "{}", setting.variable);
            }
        }
    }

    #[test]
    fn a_level_that_runs_as_another_says_so() {
        let rendered = markdown();
        assert!(
            rendered.contains(
                "| CockroachDB | serializable ★ (repeatable read and snapshot run as it) |"
            )
        );
        assert!(rendered.contains(
            "| CockroachDB | repeatable read, with `sql.txn.repeatable_read_isolation.enabled = \
             true` (snapshot isolation; snapshot runs as it) | — | ✓ | ✓ | ✓ | — | — |"
        ));
        assert!(rendered.contains(
            "| TiDB | read uncommitted, with `tidb_skip_isolation_level_check = true`: runs as \
             repeatable read | ✓ | ✓ | ✓ | — | only through a later write | — |"
        ));
        assert!(rendered.contains(
            "| TiDB | serializable, with `tidb_skip_isolation_level_check = true` (snapshot \
             isolation) | — | ✓ | ✓ | ✓ | — | — |"
        ));
    }
}
