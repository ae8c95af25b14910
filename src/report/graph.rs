//! The dependency graph as a picture: which programs are drawn and how they are marked, which
//! edges join them, and its renderings as Graphviz dot and Mermaid. `svg` lays it out itself.

use std::collections::BTreeMap;

use crate::CheckResult;
use crate::analysis::pair_conflicts::PairConflicts;
use crate::analysis::rules::Rule;
use crate::semantics::Level;

/// More programs than this and the picture shows only the programs that take part in
/// findings, and at most this many of them (the most involved first).
pub const MAX_DRAWN: usize = 40;

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

#[derive(Debug, Clone)]
pub struct Node {
    pub program: usize,
    pub name: String,
    pub level: Level,
    pub mark: NodeMark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// The `from` program reads what the `to` program writes (seen from the writer, wr).
    ReadWrite { vulnerable: bool },
    /// Both write rows that can be the same; no rw edge joins them.
    WriteWrite,
}

/// An edge between drawn nodes (indices into `DrawnGraph::nodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
}

impl Edge {
    pub fn label(&self) -> &'static str {
        match self.kind {
            EdgeKind::ReadWrite { .. } => "rw",
            EdgeKind::WriteWrite => "ww",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DrawnGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Programs left out of the picture.
    pub hidden: usize,
}

/// Chooses the nodes and edges to draw.
pub fn drawn_graph(result: &CheckResult, pairs: &[PairConflicts]) -> DrawnGraph {
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
    let mut shown: Vec<usize> = (0..result.programs.len()).collect();
    if shown.len() > MAX_DRAWN {
        shown.retain(|program| marks[*program] != NodeMark::Quiet);
        shown.sort_by_key(|program| (std::cmp::Reverse(involvement[*program]), *program));
        shown.truncate(MAX_DRAWN);
    }
    // Programs are drawn in order of the table they use first, so programs on the same data
    // sit side by side.
    shown.sort_by_cached_key(|program| (first_table(result, *program), *program));
    let position: BTreeMap<usize, usize> = shown
        .iter()
        .enumerate()
        .map(|(node, program)| (*program, node))
        .collect();
    let nodes = shown
        .iter()
        .map(|program| Node {
            program: *program,
            name: result.programs[*program].name.clone(),
            level: result.programs[*program].level,
            mark: marks[*program],
        })
        .collect();
    let mut edges = Vec::new();
    for pair in pairs {
        let (Some(first), Some(second)) = (position.get(&pair.first), position.get(&pair.second))
        else {
            continue;
        };
        let directions = if first == second { 1 } else { 2 };
        let ends = [(*first, *second), (*second, *first)];
        for direction in 0..directions {
            if pair.rw[direction] {
                edges.push(Edge {
                    from: ends[direction].0,
                    to: ends[direction].1,
                    kind: EdgeKind::ReadWrite {
                        vulnerable: pair.vulnerable[direction],
                    },
                });
            }
        }
        if pair.ww && !pair.rw.iter().any(|rw| *rw) {
            edges.push(Edge {
                from: *first,
                to: *second,
                kind: EdgeKind::WriteWrite,
            });
        }
    }
    edges.sort_by_key(|edge| (edge.from, edge.to));
    DrawnGraph {
        nodes,
        edges,
        hidden: result.programs.len() - shown.len(),
    }
}

/// The table a program touches first: its group in the picture.
fn first_table(result: &CheckResult, program: usize) -> String {
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
            node.level.sql()
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
            node.level.sql(),
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
