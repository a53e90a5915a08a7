"""Aligned text tables: the one formatter behind the evaluation report,
`compare_models` tables, the benchmarks' Markdown and the demo's output."""

import numbers

COMPARISON_COLUMNS = ("model", "loss", "accuracy", "precision", "recall", "f1", "auc")


def format_table(
    rows,
    columns=None,
    *,
    headers=None,
    number_format=".4f",
    missing="-",
    markdown=False,
):
    """Rows as an aligned text (or Markdown) table.

    Text cells are left-aligned and numbers right-aligned, so that digits
    line up.

    Args:
        rows: Dicts (cells looked up by `columns`) or sequences (cells in
            order).
        columns: For dict rows, the keys to show, in order (default: the
            `compare_models` columns). For sequence rows, the header; None
            for no header row.
        headers: Header labels to show instead of `columns` (same length).
        number_format: A format spec for floats (`".3f"`) or a function
            from a float to its text. Integers are written in full.
        missing: The text for a `None` or absent cell.
        markdown: A Markdown table (`| a | b |` with a `|---|` rule).

    Returns:
        The table as one string, lines joined by newlines.

    Example:

    ```python
    print(format_table([{"model": "vgg16", "accuracy": 0.91}],
                       ["model", "accuracy"]))
    # model  accuracy
    # vgg16    0.9100
    print(format_table([("5", 0.61, 0.74)], headers=["labels", "scratch", "transfer"]))
    ```
    """
    rows = list(rows)
    by_key = bool(rows) and all(isinstance(r, dict) for r in rows)
    if by_key and columns is None:
        columns = COMPARISON_COLUMNS
    if headers is None:
        headers = columns
    if by_key:
        rows = [[row.get(c) for c in columns] for row in rows]
    cells = [[_cell(v, number_format, missing) for v in row] for row in rows]
    numeric = [
        any(isinstance(row[i], numbers.Number) for row in rows if i < len(row))
        for i in range(max((len(r) for r in cells), default=0))
    ]
    if headers is not None:
        header = [str(h) for h in headers]
        numeric += [False] * (len(header) - len(numeric))
        cells.insert(0, header)
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(numeric))]

    def line(row):
        padded = [v.rjust(w) if right else v.ljust(w) for v, w, right in zip(row, widths, numeric)]
        if markdown:
            return "| " + " | ".join(padded) + " |"
        return "  ".join(padded).rstrip()

    lines = [line(r) for r in cells]
    if markdown and headers is not None:
        # "---:" right-aligns a number column where Markdown is rendered.
        rule = ["-" * (w + 1) + (":" if right else "-") for w, right in zip(widths, numeric)]
        lines.insert(1, "|" + "|".join(rule) + "|")
    return "\n".join(lines)


def _cell(value, number_format, missing):
    if value is None:
        return missing
    # bool is an int to Python but reads better as True/False.
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if callable(number_format):
            return number_format(float(value))
        return format(float(value), number_format)
    return str(value)
