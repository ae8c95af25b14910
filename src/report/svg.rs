//! The dependency graph drawn as SVG, laid out here: programs on a circle in the order the
//! graph gives (grouped by table), straight rw arrows from reader to writer, curved when two
//! programs have arrows both ways, loops for two instances of one program, and a legend.
//! The output is self-contained: no fonts, scripts or images are fetched.

use std::f64::consts::PI;
use std::fmt::Write;

use super::escape_markup as escape;
use super::graph::{DrawnGraph, Edge, EdgeKind, NodeMark, edge_style, node_colors};
use super::plural;

const NODE_HEIGHT: f64 = 40.0;
const CHAR_WIDTH: f64 = 7.0;
const MARGIN: f64 = 70.0;
const LEGEND_HEIGHT: f64 = 96.0;

struct Placed {
    x: f64,
    y: f64,
    half_width: f64,
}

/// Renders the graph; the `<svg>` carries `xmlns`, so it works inline and as a file.
pub fn render(graph: &DrawnGraph) -> String {
    let widths: Vec<f64> = graph
        .nodes
        .iter()
        .map(|node| {
            let longest = node
                .name
                .chars()
                .count()
                .max(node.detail.chars().count())
                .max(5);
            longest as f64 * CHAR_WIDTH + 24.0
        })
        .collect();
    let widest = widths.iter().copied().fold(120.0, f64::max);
    let count = graph.nodes.len();
    // The circle is long enough to give every node its width plus a gap.
    let circumference: f64 = widths.iter().map(|width| width + 40.0).sum();
    let radius = match count {
        0 | 1 => 0.0,
        2 => widest * 0.9,
        _ => (1.5 * circumference / (2.0 * PI))
            .max(widest * 1.1)
            .max(140.0),
    };
    let width = (2.0 * radius + widest + 2.0 * MARGIN).max(660.0);
    let diagram_height = 2.0 * radius + NODE_HEIGHT + 2.0 * MARGIN;
    let height = diagram_height + LEGEND_HEIGHT;
    let (center_x, center_y) = (width / 2.0, diagram_height / 2.0 + 10.0);
    let placed: Vec<Placed> = widths
        .iter()
        .enumerate()
        .map(|(index, node_width)| {
            let angle = PI + 2.0 * PI * index as f64 / count.max(1) as f64;
            Placed {
                x: center_x + radius * angle.cos(),
                y: center_y + radius * angle.sin(),
                half_width: node_width / 2.0,
            }
        })
        .collect();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dependency-graph\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" \
         role=\"img\" aria-label=\"dependency graph of {count} transaction programs\" \
         font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">"
    );
    out.push_str(&markers());
    for edge in &graph.edges {
        let reverse = graph
            .edges
            .iter()
            .any(|other| other.from == edge.to && other.to == edge.from && other.from != other.to);
        out.push_str(&edge_svg(
            edge,
            &placed,
            (center_x, center_y),
            reverse,
            graph.grouped,
        ));
    }
    for (node, place) in graph.nodes.iter().zip(&placed) {
        let (fill, stroke, stroke_width) = node_colors(node.mark);
        let _ = writeln!(
            out,
            "<g class=\"node {}\" {}=\"{}\"><title>{}</title>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{NODE_HEIGHT}\" rx=\"8\" \
             fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" \
             font-weight=\"600\" fill=\"#1a1a1a\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" \
             fill=\"#455a64\">{}</text></g>",
            node.mark.id(),
            if graph.grouped {
                "data-table"
            } else {
                "data-program"
            },
            escape(&node.name),
            escape(&node.name),
            place.x - place.half_width,
            place.y - NODE_HEIGHT / 2.0,
            place.half_width * 2.0,
            place.x,
            place.y - 3.0,
            escape(&node.name),
            place.x,
            place.y + 12.0,
            escape(&node.detail),
        );
        if node.mark == NodeMark::Pivot {
            // A badge on the box's top-left corner, clear of loops and labels.
            let (left, top) = (place.x - place.half_width, place.y - NODE_HEIGHT / 2.0);
            let _ = writeln!(
                out,
                "<g class=\"pivot-badge\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"38\" height=\"14\" \
                 rx=\"7\" fill=\"#b71c1c\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                 font-size=\"9\" font-weight=\"700\" fill=\"#ffffff\">PIVOT</text></g>",
                left - 6.0,
                top - 8.0,
                left + 13.0,
                top + 2.5
            );
        }
    }
    out.push_str(&legend(diagram_height, graph));
    out.push_str("</svg>\n");
    out
}

/// Two instances of one program: a loop on the side of its box that faces away from the
/// centre, so it does not cross the edges inside the circle. Returns the path and where its
/// label goes.
fn self_loop(place: &Placed, center: (f64, f64)) -> (String, f64, f64) {
    let (dx, dy) = (place.x - center.0, place.y - center.1);
    let (x, y, half_height) = (place.x, place.y, NODE_HEIGHT / 2.0);
    if dy.abs() >= dx.abs() * 0.6 || (dx == 0.0 && dy == 0.0) {
        // Above (or below) the box.
        let sign = if dy > 0.0 { 1.0 } else { -1.0 };
        let side = y + sign * half_height;
        let far = side + sign * 54.0;
        (
            format!(
                "M{:.1},{side:.1} C{:.1},{far:.1} {:.1},{far:.1} {:.1},{side:.1}",
                x - 14.0,
                x - 46.0,
                x + 46.0,
                x + 14.0
            ),
            x,
            side + sign * 46.0,
        )
    } else {
        let sign = if dx > 0.0 { 1.0 } else { -1.0 };
        let side = x + sign * place.half_width;
        let far = side + sign * 58.0;
        (
            format!(
                "M{side:.1},{:.1} C{far:.1},{:.1} {far:.1},{:.1} {side:.1},{:.1}",
                y - 10.0,
                y - 40.0,
                y + 40.0,
                y + 10.0
            ),
            side + sign * 50.0,
            y,
        )
    }
}

/// One arrowhead per edge colour.
fn markers() -> String {
    let mut out = String::from("<defs>");
    for kind in [
        EdgeKind::ReadWrite { vulnerable: true },
        EdgeKind::ReadWrite { vulnerable: false },
    ] {
        let (color, _, _) = edge_style(kind);
        let _ = write!(
            out,
            "<marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" \
             markerWidth=\"11\" markerHeight=\"11\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
             fill=\"{color}\"/></marker>",
            marker_id(kind)
        );
    }
    out.push_str("</defs>\n");
    out
}

fn marker_id(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::ReadWrite { vulnerable: true } => "arrow-vulnerable",
        _ => "arrow",
    }
}

fn dash(style: &str) -> &'static str {
    match style {
        "dashed" => " stroke-dasharray=\"7 4\"",
        "dotted" => " stroke-dasharray=\"2 3\"",
        _ => "",
    }
}

/// Where the line from a node's centre towards `(toward_x, toward_y)` leaves its box.
fn box_exit(place: &Placed, toward_x: f64, toward_y: f64) -> (f64, f64) {
    let (dx, dy) = (toward_x - place.x, toward_y - place.y);
    let scale_x = if dx.abs() > f64::EPSILON {
        (place.half_width + 3.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let scale_y = if dy.abs() > f64::EPSILON {
        (NODE_HEIGHT / 2.0 + 3.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    let scale = scale_x.min(scale_y).min(1.0);
    (place.x + dx * scale, place.y + dy * scale)
}

fn edge_svg(
    edge: &Edge,
    placed: &[Placed],
    center: (f64, f64),
    has_reverse: bool,
    grouped: bool,
) -> String {
    let (color, style, stroke_width) = edge_style(edge.kind);
    // Between table groups, the more program pairs an edge stands for, the thicker it is.
    let stroke_width = stroke_width + 0.25 * (edge.count.min(17) - 1) as f32;
    let marker = match edge.kind {
        _ if grouped => String::new(),
        EdgeKind::WriteWrite => String::new(),
        kind => format!(" marker-end=\"url(#{})\"", marker_id(kind)),
    };
    let class = match edge.kind {
        EdgeKind::ReadWrite { vulnerable: true } => "edge rw vulnerable",
        EdgeKind::ReadWrite { vulnerable: false } => "edge rw",
        EdgeKind::WriteWrite => "edge ww",
    };
    let (from, to) = (&placed[edge.from], &placed[edge.to]);
    let stroke = format!(
        "fill=\"none\" stroke=\"{color}\" stroke-width=\"{stroke_width}\"{}{marker}",
        dash(style)
    );
    let (path, label_x, label_y) = if edge.from == edge.to {
        self_loop(from, center)
    } else {
        // Arrows both ways bend apart, each to its own side.
        let bend = if has_reverse { 28.0 } else { 0.0 };
        let (mid_x, mid_y) = ((from.x + to.x) / 2.0, (from.y + to.y) / 2.0);
        let length = ((to.x - from.x).powi(2) + (to.y - from.y).powi(2))
            .sqrt()
            .max(1.0);
        let (normal_x, normal_y) = (-(to.y - from.y) / length, (to.x - from.x) / length);
        let (control_x, control_y) = (mid_x + normal_x * bend * 2.0, mid_y + normal_y * bend * 2.0);
        let start = box_exit(from, control_x, control_y);
        let end = box_exit(to, control_x, control_y);
        (
            format!(
                "M{:.1},{:.1} Q{control_x:.1},{control_y:.1} {:.1},{:.1}",
                start.0, start.1, end.0, end.1
            ),
            mid_x + normal_x * bend,
            mid_y + normal_y * bend,
        )
    };
    if grouped {
        // Labels on every link between tables would cover the picture: the count goes in the
        // tooltip and the stroke width.
        return format!(
            "<g class=\"{class}\"><title>{}</title><path d=\"{path}\" {stroke}/></g>\n",
            edge.label()
        );
    }
    format!(
        "<g class=\"{class}\"><path d=\"{path}\" {stroke}/><text x=\"{label_x:.1}\" \
         y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"600\" \
         fill=\"{color}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text></g>\n",
        label_y + 3.5,
        edge.label()
    )
}

fn legend(top: f64, graph: &DrawnGraph) -> String {
    let hidden = graph.hidden;
    let mut out = format!(
        "<g class=\"legend\" transform=\"translate(16,{top:.0})\" font-size=\"11\" fill=\"#37474f\">"
    );
    let edges = [
        (
            EdgeKind::ReadWrite { vulnerable: true },
            "vulnerable rw: reader → writer, nothing makes one of them fail",
        ),
        (
            EdgeKind::ReadWrite { vulnerable: false },
            "rw: reader → writer, guarded (a write or lock on a shared row); read backwards, wr",
        ),
        (
            EdgeKind::WriteWrite,
            "ww: both write rows that can be the same",
        ),
    ];
    for (row, (kind, text)) in edges.iter().enumerate() {
        let (color, style, stroke_width) = edge_style(*kind);
        let y = 12.0 + row as f64 * 18.0;
        let marker = match kind {
            EdgeKind::WriteWrite => String::new(),
            kind => format!(" marker-end=\"url(#{})\"", marker_id(*kind)),
        };
        let _ = write!(
            out,
            "<path d=\"M0,{y:.0} L34,{y:.0}\" stroke=\"{color}\" stroke-width=\"{stroke_width}\"{}{marker}/>\
             <text x=\"44\" y=\"{:.0}\">{}</text>",
            dash(style),
            y + 4.0,
            escape(text)
        );
    }
    let marks = [
        (NodeMark::Pivot, "pivot of a dangerous structure"),
        (NodeMark::WriteSkew, "in a write skew"),
        (NodeMark::Finding, "in another finding"),
        (NodeMark::Quiet, "no finding"),
    ];
    let mut x = 0.0;
    for (mark, text) in marks {
        let (fill, stroke, stroke_width) = node_colors(mark);
        let _ = write!(
            out,
            "<rect x=\"{x:.0}\" y=\"62\" width=\"18\" height=\"12\" rx=\"3\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/><text x=\"{:.0}\" y=\"72\">{text}</text>",
            x + 24.0
        );
        x += 30.0 + text.len() as f64 * 6.2;
    }
    let note = match (graph.grouped, hidden) {
        (true, 0) => "each node is a table and the programs that use it first".to_string(),
        (true, _) => format!(
            "each node is a table and the programs that use it first; {hidden} program{} on \
             less involved tables not drawn",
            plural(hidden)
        ),
        (false, 0) => String::new(),
        (false, _) => format!(
            "{hidden} program{} without findings not drawn (see the inventory)",
            plural(hidden)
        ),
    };
    if !note.is_empty() {
        let _ = write!(
            out,
            "<text x=\"0\" y=\"92\" font-style=\"italic\">{}</text>",
            escape(&note)
        );
    }
    out.push_str("</g>\n");
    out
}
