//! The design review as GitHub-flavoured Markdown, for pull-request comments and wikis: a
//! Mermaid graph, tables, and `<details>` sections for the long parts.

use std::fmt::Write;

use super::graph::mermaid;
use super::review::{
    self, MAX_DETAILED, Review, advice_text, fix_trade_off, fixes_without_level_change, inventory,
    level_source, levels_in_use, partner_names, rule_counts, severity_counts, statement_source,
    unread_statements,
};
use super::{instance_label, plural, statement_location, step_text};
use crate::analysis::finding::Finding;
use crate::analysis::pair_conflicts::Strength;
use crate::semantics::{Level, Semantics};

pub fn render(review: &Review) -> String {
    let mut out = String::new();
    summary(&mut out, review);
    graph(&mut out, review);
    findings(&mut out, review);
    advisor(&mut out, review);
    matrix(&mut out, review);
    transactions(&mut out, review);
    out
}

/// A table cell: no line breaks, no unescaped pipes.
fn cell(text: &str) -> String {
    crate::one_line(text).replace('|', "\\|")
}

/// Inline code in a table cell.
fn code(text: &str) -> String {
    format!("`{}`", cell(text).replace('`', "'"))
}

fn summary(out: &mut String, review: &Review) {
    let result = review.result;
    let (errors, warnings) = severity_counts(result);
    let levels: Vec<String> = levels_in_use(result)
        .iter()
        .map(|(level, count)| format!("{} ({count})", level.sql()))
        .collect();
    let _ = writeln!(out, "# isolint design review\n");
    let _ = writeln!(
        out,
        "**Engine:** {} · **Levels in use:** {} · **Findings:** {errors} error{}, {warnings} warning{}\n",
        review.engine_name(),
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels.join(", ")
        },
        plural(errors),
        plural(warnings),
    );
    let _ = writeln!(
        out,
        "| files | transactions | statements | skipped as unparseable |"
    );
    let _ = writeln!(out, "| ---: | ---: | ---: | ---: |");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |\n",
        result.files.len(),
        result.programs.len(),
        result.statements,
        result.parse_errors
    );
    let counts = rule_counts(result);
    if !counts.is_empty() {
        let _ = writeln!(out, "| rule | severity | findings |");
        let _ = writeln!(out, "| --- | --- | ---: |");
        for (rule, severity, count) in counts {
            let _ = writeln!(out, "| `{}` | {} | {count} |", rule.id(), severity.id());
        }
        out.push('\n');
    }
    let unread = unread_statements(result);
    if !unread.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Statements not (fully) read: {}</summary>\n",
            unread.len()
        );
        for (place, message) in unread {
            let _ = writeln!(out, "- `{place}` {}", cell(message));
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}

fn graph(out: &mut String, review: &Review) {
    let _ = writeln!(out, "## Dependency graph\n");
    let _ = writeln!(
        out,
        "One node per transaction program. An **rw** arrow goes from a program that reads to \
         one that writes what it read (read backwards it is a wr dependency); thick red arrows \
         are *vulnerable* (nothing makes one of the two fail), **ww** links join programs that \
         write the same rows. Red nodes are pivots of dangerous structures, orange nodes take \
         part in write skews.\n"
    );
    if review.graph.grouped {
        let _ = writeln!(
            out,
            "{} programs are too many to draw one by one: each node is a table and the \
             programs that use it first, and each link counts the program pairs it stands for.\n",
            review.result.programs.len()
        );
    }
    if review.graph.hidden > 0 {
        let _ = writeln!(
            out,
            "{} programs are not drawn; the inventory below lists them all.\n",
            review.graph.hidden
        );
    }
    let _ = writeln!(out, "```mermaid\n{}```\n", mermaid(&review.graph));
}

fn findings(out: &mut String, review: &Review) {
    let result = review.result;
    let _ = writeln!(out, "## Findings\n");
    if result.findings.is_empty() {
        let _ = writeln!(
            out,
            "No finding: the levels in use prevent every anomaly isolint looks for.\n"
        );
        return;
    }
    for (number, finding) in result.findings.iter().take(MAX_DETAILED).enumerate() {
        finding_section(out, review, number + 1, finding);
    }
    if result.findings.len() > MAX_DETAILED {
        let _ = writeln!(
            out,
            "<details><summary>{} more findings (`isolint check` shows their witnesses and \
             fixes)</summary>\n\n| # | rule | programs | where |\n| ---: | --- | --- | --- |",
            result.findings.len() - MAX_DETAILED
        );
        for (index, finding) in result.findings.iter().enumerate().skip(MAX_DETAILED) {
            let at = statement_location(result, finding.primary);
            let names: Vec<&str> = finding
                .programs
                .iter()
                .map(|program| result.programs[*program].name.as_str())
                .collect();
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | `{}:{}` |",
                index + 1,
                finding.rule.id(),
                cell(&names.join(", ")),
                at.file,
                at.line
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}

fn finding_section(out: &mut String, review: &Review, number: usize, finding: &Finding) {
    let result = review.result;
    let names: Vec<String> = finding
        .programs
        .iter()
        .map(|program| format!("`{}`", result.programs[*program].name))
        .collect();
    let location = statement_location(result, finding.primary);
    let _ = writeln!(
        out,
        "### {number}. {} ({}): {}\n",
        finding.rule.id(),
        result.severity(finding).id(),
        names.join(", ")
    );
    let _ = writeln!(
        out,
        "{} — `{}:{}`\n",
        finding.message, location.file, location.line
    );
    let _ = writeln!(
        out,
        "<details><summary>Statements, witness and fixes</summary>\n"
    );
    let _ = writeln!(out, "**Statements involved**\n");
    for (at, label) in review::involved_statements(result, finding) {
        let location = statement_location(result, at);
        let _ = writeln!(
            out,
            "- `{}:{}` ({}): {}\n\n  ```sql\n  {}\n  ```\n",
            location.file,
            location.line,
            result.programs[at.program].name,
            label,
            statement_source(result, at).trim().replace('\n', "\n  ")
        );
    }
    let _ = writeln!(
        out,
        "**Witness**, one interleaving that produces it (time goes down):\n"
    );
    let lanes = finding.instances.len().max(1);
    let header: Vec<String> = (0..lanes)
        .map(|instance| cell(&instance_label(result, finding, instance)))
        .collect();
    let _ = writeln!(out, "| # | {} |", header.join(" | "));
    let _ = writeln!(out, "| ---: |{}", " --- |".repeat(lanes));
    for (step_number, step) in finding.witness.iter().enumerate() {
        let row: Vec<String> = (0..lanes)
            .map(|instance| {
                if instance == step.instance {
                    code(&step_text(result, finding, instance, step.step))
                } else {
                    String::new()
                }
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", step_number + 1, row.join(" | "));
    }
    let _ = writeln!(
        out,
        "\n**Why the level lets it through:** {}\n",
        finding.why
    );
    if let Some(confirmation) = review.confirmation(number) {
        let _ = writeln!(
            out,
            "**On {}** (`isolint confirm`): {confirmation}\n",
            review.engine_name()
        );
    }
    let _ = writeln!(out, "**Fixes**\n");
    let _ = writeln!(out, "| fix | trade-off |");
    let _ = writeln!(out, "| --- | --- |");
    for fix in &finding.fixes {
        let _ = writeln!(
            out,
            "| {} | {} |",
            cell(&fix.title),
            fix_trade_off(&fix.title)
        );
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn advisor(out: &mut String, review: &Review) {
    let result = review.result;
    let _ = writeln!(out, "## Isolation advisor\n");
    let _ = writeln!(
        out,
        "For each program, the weakest level of {} that clears every finding it takes part in \
         (the programs it shares findings with run at that level too), what that costs, and \
         the fixes that keep today's level.\n",
        review.engine_name()
    );
    let _ = writeln!(
        out,
        "| program | level now | findings | weakest level that clears them | with | cost | or keep the level and |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | --- | --- | --- | --- |");
    for advice in &review.advisor.advice {
        let program = &result.programs[advice.program];
        let (level, cost) = advice_text(review, advice);
        let (names, more) = partner_names(result, advice);
        let mut partners: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
        if more > 0 {
            partners.push(format!("{more} more"));
        }
        let keep = fixes_without_level_change(result, advice.program)
            .into_iter()
            .map(|title| format!("{} ({})", cell(title), fix_trade_off(title)))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = writeln!(
            out,
            "| `{}` | {} ({}) | {} | {level} | {} | {cost} | {keep} |",
            program.name,
            program.level.sql(),
            level_source(program),
            advice.findings,
            partners.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\n**What if** every program ran at one level: findings per engine and level (— where \
         the engine has no such level; the other engines read the same files in their own \
         dialect).\n"
    );
    let _ = writeln!(
        out,
        "| engine | {} | unparseable |",
        Level::ALL.map(|level| level.sql()).join(" | ")
    );
    let _ = writeln!(out, "| --- |{} ---: |", " ---: |".repeat(Level::ALL.len()));
    for table in &review.advisor.what_if {
        let cells: Vec<String> = Level::ALL
            .iter()
            .map(|level| {
                table
                    .counts
                    .iter()
                    .find(|(candidate, _)| candidate == level)
                    .map_or("—".to_string(), |(_, count)| count.to_string())
            })
            .collect();
        let semantics = if table.engine == result.engine {
            result.semantics
        } else {
            Semantics::embedded()
        };
        let name = semantics.display(table.engine);
        let name = if table.engine == result.engine {
            format!("**{name}** (this report)")
        } else {
            name.to_string()
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            cells.join(" | "),
            table.parse_errors
        );
    }
    out.push('\n');
}

fn matrix(out: &mut String, review: &Review) {
    let result = review.result;
    let programs = review.matrix_programs();
    let _ = writeln!(out, "## Pair matrix\n");
    let _ = writeln!(
        out,
        "The strongest conflict between each two programs: 🟥 vulnerable rw, 🟧 guarded rw, \
         🟪 ww, blank: none; ⚠ marks a pair that shares a finding.\n"
    );
    if programs.is_empty() {
        let _ = writeln!(out, "No transaction was found.\n");
        return;
    }
    if programs.len() < result.programs.len() {
        let _ = writeln!(
            out,
            "Only the {} most involved programs are shown.\n",
            programs.len()
        );
    }
    let header: Vec<String> = programs
        .iter()
        .map(|program| cell(&result.programs[*program].name))
        .collect();
    let _ = writeln!(out, "| | {} |", header.join(" | "));
    let _ = writeln!(out, "| --- |{}", " :---: |".repeat(programs.len()));
    for row in &programs {
        let cells: Vec<String> = programs
            .iter()
            .map(|column| {
                let symbol = match review.strength(*row, *column) {
                    Strength::VulnerableReadWrite => "🟥",
                    Strength::ReadWrite => "🟧",
                    Strength::WriteWrite => "🟪",
                    Strength::None => "",
                };
                let shared = if review.share_a_finding(*row, *column) {
                    "⚠"
                } else {
                    ""
                };
                format!("{symbol}{shared}")
            })
            .collect();
        let _ = writeln!(
            out,
            "| **{}** | {} |",
            cell(&result.programs[*row].name),
            cells.join(" | ")
        );
    }
    out.push('\n');
}

fn transactions(out: &mut String, review: &Review) {
    let result = review.result;
    let _ = writeln!(out, "## Transaction inventory\n");
    for program in &result.programs {
        let location = super::location(result, program.file, program.range);
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code>{} — {}:{} — {} ({})</summary>\n",
            super::escape_markup(&program.name),
            super::review::program_kind(program),
            location.file,
            location.line,
            program.level.sql(),
            level_source(program)
        );
        let _ = writeln!(out, "| line | does | table | columns | rows |");
        let _ = writeln!(out, "| ---: | --- | --- | --- | --- |");
        for (statement, rows) in inventory(program) {
            let line =
                super::location(result, program.file, program.statements[statement].range).line;
            for row in rows {
                let _ = writeln!(
                    out,
                    "| {line} | {} | `{}` | {} | {} |",
                    row.action,
                    row.table,
                    cell(&row.columns),
                    cell(&row.rows)
                );
            }
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}
