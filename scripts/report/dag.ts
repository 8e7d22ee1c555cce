/**
 * The best system's DAG as inline SVG: dagre (@dagrejs/dagre) lays the graph out left to right; we emit one
 * box per node (model, slot, role) and one arrow per edge along dagre's edge points.
 */
import dagre from '@dagrejs/dagre';
import type { StudyView } from '../../workflows/search.workflow';
import { dagNodes, type DagNode, type NodeRole } from './data';
import { escapeHtml } from './escape';

const NODE_WIDTH = 190;
const NODE_HEIGHT = 64;
const MARGIN = 16;

const FILL: Record<NodeRole, string> = { first: '#e8f1fb', intermediate: '#f4f4f4', 'final answer': '#e6f5e6' };
const STROKE: Record<NodeRole, string> = { first: '#3b78c2', intermediate: '#777777', 'final answer': '#2e8b3d' };

const f = (x: number): string => (Math.round(x * 10) / 10).toString();

function nodeSvg(node: DagNode, x: number, y: number): string {
  const left = x - NODE_WIDTH / 2;
  const top = y - NODE_HEIGHT / 2;
  const slot = node.slot === null ? '' : `slot ${node.slot} · `;
  const served = node.served !== null && node.served !== node.model ? `<title>${escapeHtml(`${node.model} served as ${node.served}`)}</title>` : '';
  return [
    `<g class="dag-node" data-model="${escapeHtml(node.model)}" data-role="${node.role}">${served}`,
    `<rect x="${f(left)}" y="${f(top)}" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="8" fill="${FILL[node.role]}" stroke="${STROKE[node.role]}" stroke-width="${node.role === 'final answer' ? 2.5 : 1.5}"/>`,
    `<text x="${f(x)}" y="${f(y - 6)}" text-anchor="middle" font-size="15" font-weight="600">${escapeHtml(node.model)}</text>`,
    `<text x="${f(x)}" y="${f(y + 16)}" text-anchor="middle" font-size="12" fill="#444">${escapeHtml(`${slot}${node.role}`)}</text>`,
    '</g>',
  ].join('');
}

/** The DAG of `best` as a standalone `<svg>` element (no scripts, no external references). */
export function dagSvg(best: StudyView['best']): string {
  const nodes = dagNodes(best);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 70, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [from, to] of best.edges) g.setEdge(from, to);
  dagre.layout(g);

  const width = Math.ceil(g.graph().width ?? NODE_WIDTH + 2 * MARGIN);
  const height = Math.ceil(g.graph().height ?? NODE_HEIGHT + 2 * MARGIN);
  const edges = g.edges().map((e) => {
    const points = g.edge(e).points ?? [];
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(p.x)},${f(p.y)}`).join(' ');
    return `<path class="dag-edge" data-from="${escapeHtml(e.v)}" data-to="${escapeHtml(e.w)}" d="${d}" fill="none" stroke="#555" stroke-width="1.6" marker-end="url(#hs-arrow)"/>`;
  });
  const boxes = nodes.map((n) => {
    const at = g.node(n.name);
    return nodeSvg(n, at.x, at.y);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" role="img" aria-label="best system graph">`,
    '<defs><marker id="hs-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ...edges,
    ...boxes,
    '</svg>',
  ].join('\n');
}
