"""The post's training log table (its ``print_log``), as lines of text.

    +------------+------------+
    |   epochs   | p@k train  |
    +============+============+
    |     2      |  0.33988   |
    +------------+------------+

Cells are centred in columns of ``spacing`` characters; floats get 5 decimals.
"""

SPACING = 12


def header_lines(cells, spacing=SPACING):
    """The header row between a ``-`` rule and a ``=`` rule (3 lines)."""
    return [_rule("-", len(cells), spacing), _row(cells, spacing), _rule("=", len(cells), spacing)]


def row_lines(cells, spacing=SPACING):
    """A body row and the ``-`` rule under it (2 lines)."""
    return [_row(cells, spacing), _rule("-", len(cells), spacing)]


def _rule(char, columns, spacing):
    return f"+{char * spacing}" * columns + "+"


def _row(cells, spacing):
    return "".join(f"| {_text(cell):^{spacing - 2}} " for cell in cells) + "|"


def _text(cell):
    return f"{cell:.5f}" if isinstance(cell, float) else str(cell)
