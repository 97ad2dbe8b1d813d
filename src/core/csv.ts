/**
 * Reading the CSV files the product writes and reads back (landscapes, measured points): one line
 * per record, cells separated by commas, double-quoted cells may hold commas and "" stands for a quote.
 */

/** Split one CSV line into its cells, honouring double-quoted cells with "" escapes. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/** The non-blank lines of a CSV text (either line ending). */
export function csvLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}
