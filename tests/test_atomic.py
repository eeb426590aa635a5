"""atomic_write: the file is complete or absent, and gets the mode any new file would get."""
import os
import stat

import pytest

from moduli.core.atomic import atomic_write


def test_written_file_has_the_umask_mode_not_mkstemps_0600(tmp_path):
    path = atomic_write(tmp_path / "a.txt", lambda tmp: open(tmp, "w").write("x"))
    (tmp_path / "b.txt").write_text("x")  # what a plain open() gives under the same umask
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(tmp_path / "b.txt").st_mode)
    assert path.read_text() == "x"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
