"""Checking a CSV file before a parser reads it: present, UTF-8, one name per column.

Parsers report these problems badly or not at all: an empty file gives "No
columns to parse from file", a Latin-1 byte a bare codec error, and a header
naming a column twice is read silently with the second column renamed. Used for
the contract's tables read from CSV files and for the text files of
``shopcx tag`` and ``shopcx evaluate``.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

from shopcx.errors import InputError

__all__ = ["check_csv"]


def check_csv(path: str | Path, what: str = "input file", scan: bool = True,
              example: str = "text,language") -> list[str]:
    """The header of a CSV file, or a clear InputError naming the file and the fix.

    Catches what a parser reports badly or not at all: a missing or empty file,
    text that is not UTF-8 (the whole file when ``scan``; the header only
    otherwise, for tables of gigabytes the engine reads itself), and a header
    that names a column twice (pandas and DuckDB would silently rename the
    second one, so which one is read is a guess).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} not found")
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset, line = 0, 1
    with open(path, "rb") as handle:  # the whole file must be UTF-8, not only its start
        while block := handle.read(1 << 20 if scan else 1 << 16):
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the block
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                line += exc.object[:exc.start].count(b"\n")
                raise InputError(
                    f"{what} {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                    f"position {at:,}, line {line:,}); save it as UTF-8 (Excel: 'CSV UTF-8') "
                    f"or convert it, e.g. iconv -f latin1 -t utf-8 {path.name} > "
                    f"{path.stem}.utf8.csv") from exc
            offset += len(block)
            line += block.count(b"\n")
            if not scan:
                break
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{what} {path}: the file is empty; a CSV with a header row is "
                         f"needed (for example: {example})")
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(f"{what} {path}: column {name!r} appears twice in the header "
                             f"(columns {seen[name]} and {i}); rename one so it is clear "
                             "which to read")
        seen[name] = i
    return header
