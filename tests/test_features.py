"""python -m moduli.train.features fills a head kind's caches for a source, in parts side by side,
and what it made is what training reads."""
import numpy as np
import pytest

from moduli.data import sources
from moduli.train import features


@pytest.fixture
def six_records(monkeypatch, mp_records):
    chosen = mp_records[::700][:6]
    monkeypatch.setattr(sources, "load_named", lambda name, data_dir=None: (list(chosen), []))
    return chosen


def test_parts_fill_one_cache_that_the_kind_reads(six_records, tmp_path, capsys):
    from moduli.graphs.featurizer import structure_key
    from moduli.features import sevennet as sevennet_head

    for part in (0, 1):
        features.main(["--kind", "sevennet_mlp", "--part", str(part), "--parts", "2", "--cache-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "3 vectors of 3 records (0 from the cache, 0 rejected)" in printed
    cache = sevennet_head.shared_featurizer(str(tmp_path), 1).cache
    stored = cache.get_many([structure_key(r.structure) for r in six_records])
    assert len(stored) == 6
    fresh = sevennet_head.shared_featurizer(None, 1)
    for record in six_records[:2]:
        np.testing.assert_allclose(stored[structure_key(record.structure)][0],
                                   fresh.compute_one(record.structure), rtol=1e-5, atol=1e-6)
    features.main(["--kind", "sevennet_mlp", "--cache-dir", str(tmp_path)])
    assert "6 vectors of 6 records (6 from the cache, 0 rejected)" in capsys.readouterr().out


def test_a_part_outside_the_parts_is_a_usage_error(six_records, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        features.main(["--kind", "sevennet_mlp", "--part", "2", "--parts", "2", "--cache-dir", str(tmp_path)])
    assert exit_info.value.code == 2
