"""The package is laid out as the pipeline: each stage imports only the stages before it, and only the
command line imports click."""

import ast
from pathlib import Path

import cchc_excel

PACKAGE = Path(cchc_excel.__file__).parent
# The pipeline, in order. A module of one stage may import its own stage and the ones before it.
STAGES = ("errors", "core", "spec", "ooxml", "template", "read", "check", "merge", "mail", "word", "workspace",
          "web", "cli")
FRONT_ENDS = {"click": ("cli",), "flask": ("web",), "waitress": ("web",)}
KNOWN: set = set()  # (importing stage, imported stage) still to untangle


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path):
    """Every module `path` imports, at the top or inside a function (lazy imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            if node.module == "cchc_excel":
                yield from (f"cchc_excel.{alias.name}" for alias in node.names)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield "cchc_excel." + ".".join(rel.parts), path


def test_every_module_belongs_to_a_stage():
    for module, _ in _modules():
        stage = _stage(module)
        assert stage in STAGES or stage in ("__init__", "__main__"), module


def test_no_stage_imports_a_later_one():
    wrong = []
    for module, path in _modules():
        stage = _stage(module)
        if stage not in STAGES:
            continue
        for imported in _imports(path):
            if not imported.startswith("cchc_excel."):
                continue
            target = _stage(imported)
            if target in STAGES and STAGES.index(target) > STAGES.index(stage) and (stage, target) not in KNOWN:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_only_front_ends_import_their_frameworks():
    wrong = []
    for module, path in _modules():
        for imported in _imports(path):
            allowed = FRONT_ENDS.get(imported.split(".")[0])
            if allowed is not None and _stage(module) not in allowed:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []
