"""The test set-up itself: where the seed is found, and that a missing seed fails under CI."""

import pytest

from conftest import SEED_NAME, find_seed, shared_folders


def _seed(folder):
    (folder / "seeds").mkdir(parents=True)
    (folder / "seeds" / SEED_NAME).write_text("Phụ lục I\n", encoding="utf-8")
    return folder / "seeds" / SEED_NAME


def test_shared_beside_a_plain_checkout(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert shared_folders(tmp_path / "repo") == [tmp_path / "shared"]


def test_shared_beside_the_main_checkout_of_a_worktree(tmp_path):
    main_git = tmp_path / "main" / ".git"
    (main_git / "worktrees" / "wt1").mkdir(parents=True)
    (main_git / "worktrees" / "wt1" / "commondir").write_text("../..\n", encoding="utf-8")
    wt = tmp_path / "elsewhere" / "wt1"
    wt.mkdir(parents=True)
    (wt / ".git").write_text(f"gitdir: {main_git / 'worktrees' / 'wt1'}\n", encoding="utf-8")
    assert shared_folders(wt) == [tmp_path / "elsewhere" / "shared", tmp_path / "shared"]
    seed = _seed(tmp_path / "shared")
    assert find_seed(shared_folders(wt), in_ci=False) == seed


def test_a_missing_seed_skips_outside_ci_and_fails_under_ci(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="seed file not found"):
        find_seed([tmp_path / "shared"], in_ci=False)
    with pytest.raises(pytest.fail.Exception, match="seed file not found"):
        find_seed([tmp_path / "shared"], in_ci=True)


def test_the_seed_is_found_here(seed_file):
    assert seed_file.name == SEED_NAME and "Phụ lục I" in seed_file.read_text(encoding="utf-8")
