// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Length of `text` as a terminal shows it: colour codes take no room. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/**
 * Wraps a paragraph at spaces so that no line is wider than `width` columns (a word longer than
 * that gets a line of its own). Colour codes are kept and not counted. `indent` starts every line
 * after the first.
 */
export function wrapText(text: string, width: number, indent = ''): string {
  // Leading spaces indent the whole paragraph.
  const lead = /^ */.exec(text)?.[0] ?? '';
  indent = lead + indent;
  const lines: string[] = [];
  let current = lead;
  let currentLength = lead.length;
  let first = true;
  for (const word of text.slice(lead.length).split(' ')) {
    const length = visibleLength(word);
    if (!first && currentLength + 1 + length > width) {
      lines.push(current);
      current = indent + word;
      currentLength = indent.length + length;
    } else {
      current += (first ? '' : ' ') + word;
      currentLength += (first ? 0 : 1) + length;
    }
    first = false;
  }
  lines.push(current);
  return lines.join('\n');
}
