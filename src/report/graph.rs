//! The dependency graph as a picture: which programs are drawn and how they are marked, which
//! edges join them, and its renderings as Graphviz dot and Mermaid. `svg` lays it out itself.

use std::collections::{BTreeMap, BTreeSet};

use crate::CheckResult;
use crate::analysis::pair_conflicts::PairConflicts;
use crate::rule::Rule;
use crate::semantics::Level;

/// More programs than this and the picture leaves out the programs without findings; if
/// more than this many have findings, it draws one node per table instead.
pub const MAX_DRAWN: usize = 30;

/// At most this many table groups are drawn, the most involved in findings first.
pub const MAX_GROUPS: usize = 12;

/// How a program takes part in the findings, from least to most alarming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeMark {
    /// In no finding.
    Quiet,
    /// In some finding.
    Finding,
    /// In a write skew or phantom write skew.
    WriteSkew,
    /// The pivot of a dangerous structure.
    Pivot,
}

impl NodeMark {
    pub fn id(self) -> &'static str {
        match self {
            NodeMark::Quiet => "quiet",
            NodeMark::Finding => "finding",
            NodeMark::WriteSkew => "write-skew",
            NodeMark::Pivot => "pivot",
        }
    }
}

/// A program, or the programs that use one table first.
#[derive(Debug, Clone)]
pub struct Node {
    /// The program's name, or the table's.
    pub name: String,
    /// The program's level, or how many programs the table groups and their level.
    pub detail: String,
    pub programs: Vec<usize>,
    /// The most alarming mark of its programs.
    pub mark: NodeMark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Both write rows that can be the same; no rw edge joins them.
    WriteWrite,
    /// The `from` program reads what the `to` program writes (seen from the writer, wr).
    ReadWrite { vulnerable: bool },
}

/// An edge between drawn nodes (indices into `DrawnGraph::nodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// Between table groups (undirected): how many program pairs the link stands for.
    pub count: usize,
}

impl Edge {
    pub fn label(&self) -> String {
        let kind = match self.kind {
            EdgeKind::ReadWrite { .. } => "rw",
            EdgeKind::WriteWrite => "ww",
        };
        if self.count > 1 {
            format!("{kind} ×{}", self.count)
        } else {
            kind.to_string()
        }
    }
}

#[derive(Debug, Clone)]
pub struct DrawnGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Whether each node is a table group rather than a program.
    pub grouped: bool,
    /// Programs left out of the picture.
    pub hidden: usize,
}

/// Each program's mark and the number of findings it takes part in.
pub fn marks(result: &CheckResult) -> (Vec<NodeMark>, Vec<usize>) {
    let mut marks = vec![NodeMark::Quiet; result.programs.len()];
    let mut involvement = vec![0usize; result.programs.len()];
    for finding in &result.findings {
        for (position, program) in finding.programs.iter().enumerate() {
            let mark = match finding.rule {
                Rule::DangerousStructure if position == 1 => NodeMark::Pivot,
                Rule::WriteSkew | Rule::PhantomWriteSkew => NodeMark::WriteSkew,
                _ => NodeMark::Finding,
            };
            marks[*program] = marks[*program].max(mark);
            involvement[*program] += 1;
        }
    }
    (marks, involvement)
}

/// The programs most involved in findings, at most `limit`, then ordered by the table they
/// use first, so programs on the same data sit side by side.
pub fn most_involved(result: &CheckResult, limit: usize) -> Vec<usize> {
    let (_, involvement) = marks(result);
    let mut chosen: Vec<usize> = (0..result.programs.len()).collect();
    if chosen.len() > limit {
        chosen.retain(|program| involvement[*program] > 0);
        chosen.sort_by_key(|program| (std::cmp::Reverse(involvement[*program]), *program));
        chosen.truncate(limit);
    }
    chosen.sort_by_cached_key(|program| (first_table(result, *program), *program));
    chosen
}

/// Chooses the nodes and edges to draw: every program, else the programs with findings,
/// else the tables the most involved programs use first.
pub fn drawn_graph(result: &CheckResult, pairs: &[PairConflicts]) -> DrawnGraph {
    let (marks, involvement) = marks(result);
    let with_findings = involvement.iter().filter(|count| **count > 0).count();
    let grouped = result.programs.len() > MAX_DRAWN && with_findings > MAX_DRAWN;
    let nodes: Vec<Node> = if grouped {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for program in 0..result.programs.len() {
            groups
                .entry(first_table(result, program))
                .or_default()
                .push(program);
        }
        let mut groups: Vec<(String, Vec<usize>)> = groups.into_iter().collect();
        groups.sort_by_key(|(table, programs)| {
            let findings: usize = programs.iter().map(|program| involvement[*program]).sum();
            (std::cmp::Reverse(findings), table.clone())
        });
        groups.truncate(MAX_GROUPS);
        groups.sort();
        groups
            .into_iter()
            .map(|(table, programs)| Node {
                name: if table.is_empty() {
                    "(locks only)".to_string()
                } else {
                    table
                },
                detail: group_detail(result, &programs),
                mark: programs
                    .iter()
                    .map(|program| marks[*program])
                    .max()
                    .unwrap_or(NodeMark::Quiet),
                programs,
            })
            .collect()
    } else {
        most_involved(result, MAX_DRAWN)
            .into_iter()
            .map(|program| Node {
                name: result.programs[program].name.clone(),
                detail: result.programs[program].level.sql().to_string(),
                programs: vec![program],
                mark: marks[program],
            })
            .collect()
    };
    let mut node_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (index, node) in nodes.iter().enumerate() {
        for program in &node.programs {
            node_of.insert(*program, index);
        }
    }
    // (from, to) → (strongest kind, program pairs).
    let mut merged: BTreeMap<(usize, usize), (EdgeKind, usize)> = BTreeMap::new();
    for pair in pairs {
        let (Some(first), Some(second)) = (node_of.get(&pair.first), node_of.get(&pair.second))
        else {
            continue;
        };
        // Table groups are joined by one undirected link per two groups, the strongest
        // conflict between their programs: arrows both ways between every two tables are noise.
        let key = |from: usize, to: usize| {
            if grouped {
                (from.min(to), from.max(to))
            } else {
                (from, to)
            }
        };
        let mut kinds: BTreeMap<(usize, usize), EdgeKind> = BTreeMap::new();
        // Two instances of one program have a single direction.
        let directions = if pair.first == pair.second { 1 } else { 2 };
        let ends = [(*first, *second), (*second, *first)];
        for (direction, (from, to)) in ends.into_iter().enumerate().take(directions) {
            if pair.rw[direction] {
                let kind = EdgeKind::ReadWrite {
                    vulnerable: pair.vulnerable[direction],
                };
                let entry = kinds.entry(key(from, to));
                let strongest = entry.or_insert(kind);
                *strongest = (*strongest).max(kind);
            }
        }
        if pair.ww && !pair.rw.iter().any(|rw| *rw) {
            kinds.insert(key(*first, *second), EdgeKind::WriteWrite);
        }
        for (ends, kind) in kinds {
            let entry = merged.entry(ends).or_insert((kind, 0));
            entry.0 = entry.0.max(kind);
            entry.1 += 1;
        }
    }
    let edges = merged
        .into_iter()
        .map(|((from, to), (kind, count))| Edge {
            from,
            to,
            kind,
            count: if grouped { count } else { 1 },
        })
        .collect();
    let drawn: usize = nodes.iter().map(|node| node.programs.len()).sum();
    DrawnGraph {
        nodes,
        edges,
        grouped,
        hidden: result.programs.len() - drawn,
    }
}

/// "12 programs, READ COMMITTED" (or "levels differ").
fn group_detail(result: &CheckResult, programs: &[usize]) -> String {
    let levels: BTreeSet<Level> = programs
        .iter()
        .map(|program| result.programs[*program].level)
        .collect();
    let level = match levels.first() {
        Some(level) if levels.len() == 1 => level.sql(),
        _ => "mixed levels",
    };
    format!(
        "{} program{}, {level}",
        programs.len(),
        super::plural(programs.len())
    )
}

/// The table a program touches first: its group in the picture.
pub fn first_table(result: &CheckResult, program: usize) -> String {
    result.programs[program]
        .statements
        .iter()
        .flat_map(|statement| statement.accesses.iter())
        .map(|access| access.table.clone())
        .find(|table| !table.is_empty())
        .unwrap_or_default()
}

/// Graphviz dot.
pub fn dot(graph: &DrawnGraph) -> String {
    let mut out = String::from(
        "digraph isolint {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", \
         fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\", fontsize=10];\n",
    );
    for (index, node) in graph.nodes.iter().enumerate() {
        let (fill, stroke, width) = node_colors(node.mark);
        out.push_str(&format!(
            "  n{index} [label=\"{}\\n{}\", fillcolor=\"{fill}\", color=\"{stroke}\", \
             penwidth={width}];\n",
            dot_escape(&node.name),
            dot_escape(&node.detail)
        ));
    }
    for edge in &graph.edges {
        let (color, style, width) = edge_style(edge.kind);
        let direction = if edge.kind == EdgeKind::WriteWrite {
            ", dir=none"
        } else {
            ""
        };
        out.push_str(&format!(
            "  n{} -> n{} [label=\"{}\", color=\"{color}\", fontcolor=\"{color}\", \
             style={style}, penwidth={width}{direction}];\n",
            edge.from,
            edge.to,
            edge.label()
        ));
    }
    out.push_str("}\n");
    out
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Mermaid flowchart, as GitHub renders in Markdown.
pub fn mermaid(graph: &DrawnGraph) -> String {
    let mut out = String::from("graph LR\n");
    for (index, node) in graph.nodes.iter().enumerate() {
        out.push_str(&format!(
            "  n{index}[\"{}<br/>{}\"]:::{}\n",
            node.name.replace('"', "#quot;"),
            node.detail,
            node.mark.id().replace('-', "_")
        ));
    }
    let mut link_styles = Vec::new();
    for (index, edge) in graph.edges.iter().enumerate() {
        let arrow = match edge.kind {
            EdgeKind::ReadWrite { vulnerable: true } => "==>",
            EdgeKind::ReadWrite { vulnerable: false } => "-->",
            EdgeKind::WriteWrite => "-.-",
        };
        out.push_str(&format!(
            "  n{} {arrow}|{}| n{}\n",
            edge.from,
            edge.label(),
            edge.to
        ));
        let (color, _, width) = edge_style(edge.kind);
        link_styles.push(format!(
            "  linkStyle {index} stroke:{color},stroke-width:{width}px"
        ));
    }
    for line in link_styles {
        out.push_str(&line);
        out.push('\n');
    }
    for mark in [
        NodeMark::Quiet,
        NodeMark::Finding,
        NodeMark::WriteSkew,
        NodeMark::Pivot,
    ] {
        let (fill, stroke, width) = node_colors(mark);
        out.push_str(&format!(
            "  classDef {} fill:{fill},stroke:{stroke},stroke-width:{width}px,color:#1a1a1a\n",
            mark.id().replace('-', "_")
        ));
    }
    out
}

/// Fill, stroke and stroke width of a node.
pub fn node_colors(mark: NodeMark) -> (&'static str, &'static str, f32) {
    match mark {
        NodeMark::Quiet => ("#ffffff", "#78909c", 1.0),
        NodeMark::Finding => ("#fff8e1", "#f9a825", 1.5),
        NodeMark::WriteSkew => ("#ffe0b2", "#e65100", 2.0),
        NodeMark::Pivot => ("#ffcdd2", "#b71c1c", 3.0),
    }
}

/// Colour, dot/SVG dash style and width of an edge.
pub fn edge_style(kind: EdgeKind) -> (&'static str, &'static str, f32) {
    match kind {
        EdgeKind::ReadWrite { vulnerable: true } => ("#c62828", "dashed", 2.5),
        EdgeKind::ReadWrite { vulnerable: false } => ("#78909c", "solid", 1.2),
        EdgeKind::WriteWrite => ("#7e57c2", "dotted", 1.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::review::conflicts_of;
    use crate::semantics::Engine;

    /// `count` read-modify-write programs, alternating between two tables.
    fn graph_of_programs(count: usize) -> DrawnGraph {
        let transactions: String = (0..count)
            .map(|index| {
                let table = if index % 2 == 0 { "accounts" } else { "wallets" };
                format!(
                    "-- name: withdraw_{index}\nBEGIN;\nSELECT balance FROM {table} WHERE id = $1;\n\
                     UPDATE {table} SET balance = $2 WHERE id = $1;\nCOMMIT;\n"
                )
            })
            .collect();
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int);\n\
             CREATE TABLE wallets (id int PRIMARY KEY, balance int);",
            &transactions,
            &[],
        );
        drawn_graph(&result, &conflicts_of(&result))
    }

    #[test]
    fn a_small_workload_is_drawn_program_by_program() {
        let graph = graph_of_programs(4);
        assert!(!graph.grouped);
        assert_eq!(graph.nodes.len(), 4);
        assert_eq!(graph.hidden, 0);
        assert!(
            graph
                .nodes
                .iter()
                .all(|node| node.detail == "READ COMMITTED")
        );
    }

    #[test]
    fn many_programs_with_findings_are_grouped_by_table() {
        let graph = graph_of_programs(MAX_DRAWN + 2);
        assert!(graph.grouped);
        let names: Vec<&str> = graph.nodes.iter().map(|node| node.name.as_str()).collect();
        assert_eq!(names, ["accounts", "wallets"]);
        assert_eq!(graph.nodes[0].detail, "16 programs, READ COMMITTED");
        assert_eq!(graph.hidden, 0);
        // Programs on different tables do not conflict; each table's programs all do.
        assert!(graph.edges.iter().all(|edge| edge.from == edge.to));
        assert_eq!(graph.edges.len(), 2);
        assert_eq!(graph.edges[0].count, 16 * 17 / 2);
    }
}
