"""The validated spec kept on disk (`spec.cache`): used when the YAML file and the code are the same, never
otherwise; a broken pickle is ignored; a cache folder that cannot be written costs only the time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cchc_excel.errors import SpecError
from cchc_excel.spec import cache, loader
from cchc_excel.spec.loader import FORMS_DIR, DEFAULT_SPEC, load_spec

BUNDLED = (FORMS_DIR / f"{DEFAULT_SPEC}.yaml").read_text(encoding="utf-8")


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder, and `load_spec` forgetting what this process loaded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loader._load_spec_cached.cache_clear()
    yield tmp_path / "cache" / "cchc_excel"
    loader._load_spec_cached.cache_clear()


def _no_yaml(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the YAML was parsed again")
    monkeypatch.setattr(loader, "_parse_yaml", refuse)


def test_second_load_comes_from_the_cache(tmp_path, fresh, monkeypatch):
    path = tmp_path / "bieu-mau.yaml"
    path.write_text(BUNDLED, encoding="utf-8")
    first = load_spec(path)
    assert [p.name[:5] for p in fresh.iterdir()] == ["spec-"]
    loader._load_spec_cached.cache_clear()
    _no_yaml(monkeypatch)
    second = load_spec(path)
    assert second == first and second is not first
    assert second.origin == str(path.resolve()) and second.source == "bieu-mau.yaml"
    assert second["BM3-3.1"].kind == "ratio" and len(second.indicators) == len(first.indicators)


def test_an_edited_file_or_other_code_is_parsed_again(tmp_path, fresh, monkeypatch):
    path = tmp_path / "bieu-mau.yaml"
    path.write_text(BUNDLED, encoding="utf-8")
    assert load_spec(path).version != "9.9"
    loader._load_spec_cached.cache_clear()
    path.write_text(BUNDLED.replace("\nversion:", "\nversion: '9.9'\nold_version:", 1), encoding="utf-8")
    assert load_spec(path).version == "9.9"
    assert len(list(fresh.iterdir())) == 2
    loader._load_spec_cached.cache_clear()
    monkeypatch.setattr(cache, "_code_digest", lambda: b"another version of the package")
    calls = []
    real = loader._parse_yaml
    monkeypatch.setattr(loader, "_parse_yaml", lambda *a: calls.append(a) or real(*a))
    assert load_spec(path).version == "9.9" and len(calls) == 1


def test_a_broken_pickle_is_ignored_and_written_again(tmp_path, fresh):
    path = tmp_path / "bieu-mau.yaml"
    path.write_text(BUNDLED, encoding="utf-8")
    good = load_spec(path)
    (pickle,) = fresh.iterdir()
    pickle.write_bytes(b"\x80\x05 not a pickle")
    loader._load_spec_cached.cache_clear()
    assert load_spec(path) == good
    assert pickle.read_bytes().startswith(b"\x80") and len(pickle.read_bytes()) > 1000


def test_an_unwritable_cache_costs_only_the_time(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache folder cannot be made under a file
    loader._load_spec_cached.cache_clear()
    try:
        assert load_spec().id == "cv371-2022"
    finally:
        loader._load_spec_cached.cache_clear()


def test_a_spec_error_is_not_cached(tmp_path, fresh):
    path = tmp_path / "hong.yaml"
    path.write_text("id: x\nversion: 1\nforms: []\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SpecError):
            load_spec(path)
        loader._load_spec_cached.cache_clear()
    assert not fresh.exists() or not list(fresh.iterdir())


def test_only_so_many_pickles_are_kept(tmp_path, fresh, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    for n in range(4):
        path = tmp_path / f"bieu-mau-{n}.yaml"
        path.write_text(BUNDLED, encoding="utf-8")
        load_spec(path)
    assert len(list(fresh.iterdir())) == 2


def test_checking_a_file_starts_without_yaml_once_cached(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    code = ("import sys; from cchc_excel.spec.loader import load_spec; load_spec(); "
            "print('yaml' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           cwd=str(FORMS_DIR.parent.parent.parent)) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr for r in runs]
