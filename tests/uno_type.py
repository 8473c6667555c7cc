"""Type into a workbook through LibreOffice's user interface; run by the system Python (`import uno`).

Usage: /usr/bin/python3 uno_type.py JOB.json RESULT.json (written by `tests/lo.py:type_cells`).

JOB: {"soffice", "profile", "pipe", "input", "output", "entries": [[sheet, cell, text]], "reads": [[sheet, cell]],
"timeout"}. Starts its own soffice listening on a named pipe, loads the input hidden, and for each entry
activates the sheet, goes to the cell (`.uno:GoToCell`) and types (`.uno:EnterString`), as a user would:
protection refuses a locked cell (LibreOffice shows "Protected cells can not be modified."), validation
with a stop error refuses an invalid entry. Then `calculateAll()`, stores as .xlsx ("Calc MS Excel 2007
XML") and writes RESULT: for each entry what the cell holds afterwards and the message LibreOffice showed,
and the `reads` cells.

Headless LibreOffice 7.4 leaves its message box open after a refused entry and crashes on the next one
in the same view, so after a refusal the document is saved (.ods, lossless) and loaded again.
"""

import json
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def describe(cell):
    """The cell's text, number, formula and type (`empty`, `value`, `text` or `formula`)."""
    return {"string": cell.getString(), "value": cell.getValue(), "formula": cell.getFormula(),
            "type": cell.getType().value.lower()}


def message_boxes(toolkit):
    """The texts of the message boxes open now (title | message | buttons)."""
    toolkit.processEventsToIdle()
    texts = []
    for i in range(toolkit.getTopWindowCount()):
        window = toolkit.getTopWindow(i)
        if window is not None and any(t.typeName == "com.sun.star.awt.XMessageBox" for t in window.getTypes()):
            texts.append(" | ".join(dict.fromkeys(_names(window.getAccessibleContext()))))
    return texts


def _names(context, depth=0):
    found = []
    try:
        if context.getAccessibleName():
            found.append(context.getAccessibleName())
        for i in range(context.getAccessibleChildCount() if depth < 8 else 0):
            found.extend(_names(context.getAccessibleChild(i).getAccessibleContext(), depth + 1))
    except Exception:  # accessibility trees vary between versions; the text is only informative
        pass
    return found


def connect(pipe, deadline):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def main(job_path, result_path):
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    deadline = time.time() + float(job.get("timeout", 120))
    log = open(job["profile"] + ".log", "w")
    office = subprocess.Popen([
        job["soffice"], "--headless", "--invisible", "--norestore", "--nolockcheck", "--nodefault",
        f"-env:UserInstallation=file://{job['profile']}",
        f"--accept=pipe,name={job['pipe']};urp;StarOffice.ComponentContext",
    ], stdout=log, stderr=log)
    try:
        ctx = connect(job["pipe"], deadline)
        smgr = ctx.ServiceManager
        desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
        toolkit = smgr.createInstanceWithContext("com.sun.star.awt.Toolkit", ctx)

        def load(path):
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, (prop("Hidden", True),))
            if doc is None:
                raise RuntimeError(f"LibreOffice could not load {path}")
            return doc

        doc = load(job["input"])
        typed = []
        for n, (sheet_name, cell_name, text) in enumerate(job["entries"]):
            controller = doc.getCurrentController()
            frame = controller.getFrame()
            sheet = doc.Sheets.getByName(sheet_name)
            controller.setActiveSheet(sheet)
            cell = sheet.getCellRangeByName(cell_name)
            before = cell.getString()
            dispatcher.executeDispatch(frame, ".uno:GoToCell", "", 0, (prop("ToPoint", cell_name),))
            dispatcher.executeDispatch(frame, ".uno:EnterString", "", 0, (prop("StringName", text),))
            boxes = message_boxes(toolkit)
            after = describe(cell)
            typed.append({"sheet": sheet_name, "cell": cell_name, "text": text, "before": before,
                          "after": after["string"], "formula": after["formula"], "type": after["type"],
                          "message": " ".join(boxes)})
            if boxes and n + 1 < len(job["entries"]):
                step = f"{job['profile']}-step{n}.ods"
                doc.storeToURL(uno.systemPathToFileUrl(step), (prop("FilterName", "calc8"),))
                doc.close(True)
                doc = load(step)
        doc.calculateAll()
        cells = {}
        for sheet_name, cell_name in job["reads"]:
            sheet = doc.Sheets.getByName(sheet_name)
            cells[f"{sheet_name}!{cell_name}"] = describe(sheet.getCellRangeByName(cell_name))
        doc.storeToURL(uno.systemPathToFileUrl(job["output"]), (prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
        with open(result_path, "w", encoding="utf-8") as f:
            json.dump({"typed": typed, "cells": cells}, f, ensure_ascii=False)
        try:
            desktop.terminate()
        except Exception:  # the bridge goes away while terminating
            pass
    finally:
        try:
            office.wait(timeout=20)
        except subprocess.TimeoutExpired:
            office.kill()
            office.wait()
        log.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
