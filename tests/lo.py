"""LibreOffice Calc, headless, as a real spreadsheet client for tests (DESIGN §7).

Reuse these in any test module (`import lo`: pytest puts `tests/` on the path), marked
`@pytest.mark.libreoffice`, from module-scoped fixtures (each soffice start costs 1–2 s):

- `available()`: whether soffice, pdftotext and the system Python with `uno` are installed.
- `convert(paths, fmt, outdir)`: convert one file or several (one soffice start) with `--convert-to`;
  `fmt` is `"pdf"`, `"png"`, `"ods"`, or `XLSX` (`"xlsx:Calc MS Excel 2007 XML"`: an open-and-save round
  trip as a user would do it). Returns the output path(s), named like the inputs with the new suffix.
- `render_pdf_text(path, layout=False)`: convert to PDF, then the text of every page (`pdftotext`).
- `pdf_pages_png(pdf, outdir, first=1, last=None, dpi=70)`: pages as PNG files, to look at.
- `type_cells(path, out_path, entries, reads=())`: open the workbook in LibreOffice, go to each cell and
  type into it as a user would (`.uno:GoToCell`, `.uno:EnterString`), recalculate everything, save as
  .xlsx to `out_path`, and report what each cell holds afterwards (see `tests/uno_type.py`).

Each soffice run gets its own fresh profile and HOME, works on copies of the inputs (a stale
`.~lock.*#` file makes loading fail silently), and is time-boxed.

What LibreOffice 7.4 does not do, so tests must not expect it: keep a workbook's structure lock
(`workbookProtection`) or a very hidden sheet (saved as hidden) when it saves .xlsx; keep frozen panes
when saving headless; enforce data validation on text typed through `.uno:EnterString` (as with a paste:
only protection refuses it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
SYSTEM_PYTHON = "/usr/bin/python3"
UNO_SCRIPT = Path(__file__).parent / "uno_type.py"
XLSX = "xlsx:Calc MS Excel 2007 XML"


def available() -> bool:
    """soffice, pdftotext, pdftoppm and a system Python that can `import uno`."""
    if not (SOFFICE and shutil.which("pdftotext") and shutil.which("pdftoppm")):
        return False
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("PYTHONPATH", None)
    return env


def convert(paths, fmt: str, outdir, *, timeout: float = 180, infilter: str | None = None):
    """Convert `paths` (one path or a list) to `fmt` in `outdir`; returns the output path(s).
    `infilter` is soffice's `--infilter` (for a CSV: `CSV:59,34,76,1,...`, the import options).

    Raises:
        RuntimeError: when soffice fails or an expected output is missing (with soffice's output).
    """
    single = isinstance(paths, (str, Path))
    sources = [Path(paths)] if single else [Path(p) for p in paths]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    suffix = fmt.split(":", 1)[0]
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        tmp = Path(tmp)
        work = tmp / "in"
        work.mkdir()
        copies = []
        for src in sources:
            dst = work / src.name
            shutil.copyfile(src, dst)
            copies.append(dst)
        cmd = [SOFFICE, "--headless", "--norestore", "--nolockcheck", "--nodefault",
               f"-env:UserInstallation=file://{tmp / 'profile'}",
               *([f"--infilter={infilter}"] if infilter else []), "--convert-to", fmt,
               "--outdir", str(outdir), *map(str, copies)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(tmp))
    outputs = [outdir / f"{src.stem}.{suffix}" for src in sources]
    missing = [p for p in outputs if not p.exists()]
    if proc.returncode != 0 or missing:
        raise RuntimeError(f"soffice --convert-to {fmt} failed (exit {proc.returncode}); missing {missing}:\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return outputs[0] if single else outputs


def pdf_text(pdf, *, layout: bool = False) -> str:
    """The text of a PDF; pages are separated by form feeds."""
    cmd = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout.decode("utf-8")


def render_pdf_text(path, *, layout: bool = False) -> str:
    """Render a workbook to PDF with LibreOffice and return its text."""
    with tempfile.TemporaryDirectory(prefix="lo-pdf-") as out:
        return pdf_text(convert(path, "pdf", out), layout=layout)


def pdf_pages_png(pdf, outdir, *, first: int = 1, last: int | None = None, dpi: int = 70) -> list[Path]:
    """Render PDF pages to `outdir/page-N.png`."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(first)] + (["-l", str(last)] if last else [])
    subprocess.run(cmd + [str(pdf), str(outdir / "page")], check=True, capture_output=True, timeout=120)
    return sorted(outdir.glob("page-*.png"))


def type_cells(path, out_path, entries, reads=(), *, timeout: float = 180) -> dict:
    """Type into cells through LibreOffice's user interface and save the result as .xlsx.

    Args:
        path: the workbook to open (a copy is opened).
        out_path: where to save it afterwards (.xlsx).
        entries: [(sheet title, "D12", "text to type"), ...], typed in this order.
        reads: [(sheet title, "D14"), ...] cells to report after recalculation.

    Returns:
        {"typed": [{"sheet", "cell", "text", "before", "after", "formula"}...],
         "cells": {"Sheet!D14": {"string", "value", "formula", "type"}}}; `after` is the cell's text
        once typed, so a refused entry (a locked cell) has `after == before`.
    """
    with tempfile.TemporaryDirectory(prefix="lo-uno-") as tmp:
        tmp = Path(tmp)
        src = tmp / Path(path).name
        shutil.copyfile(path, src)
        job = {
            "soffice": SOFFICE, "profile": str(tmp / "profile"), "pipe": f"cchc{os.getpid()}_{tmp.name[-8:]}",
            "input": str(src), "output": str(Path(out_path).resolve()),
            "entries": [list(e) for e in entries], "reads": [list(r) for r in reads],
            "timeout": timeout,
        }
        (tmp / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        result_file = tmp / "result.json"
        # pyuno's client now and then dies of SIGSEGV (while connecting on a loaded machine, or tearing the
        # bridge down after the result is written): the result file decides, and a crash before it is
        # tried once more with a fresh profile.
        for attempt in range(2):
            job["profile"], job["pipe"] = str(tmp / f"profile{attempt}"), f"{job['pipe']}x{attempt}"
            (tmp / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
            proc = subprocess.run([SYSTEM_PYTHON, str(UNO_SCRIPT), str(tmp / "job.json"), str(result_file)],
                                  capture_output=True, text=True, timeout=timeout + 30, env=_env(tmp))
            if result_file.exists():
                return json.loads(result_file.read_text(encoding="utf-8"))
        raise RuntimeError(f"uno_type.py failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
