"""Model kinds: every recorded checkpoint loads through the registry, a config chooses its kind by
``_target_``, and a new kind trains and predicts through the generic code."""
import sys
from pathlib import Path

import numpy as np

import pytest
import torch
from torch import nn
from torch_geometric.nn import global_mean_pool

import moduli
from moduli.models.kinds import KINDS, ModelKind
from moduli.models.registry import BUNDLED_DIR

REPO = Path(__file__).resolve().parents[2]


def recorded_checkpoints() -> list[Path]:
    """The bundled members and the checkpoints of earlier versions kept as test fixtures."""
    return sorted(BUNDLED_DIR.glob("*/*.ckpt")) + sorted((REPO / "tests" / "data" / "checkpoints").glob("*.ckpt"))


def test_every_recorded_checkpoint_loads_as_a_registered_kind():
    found = {}
    for path in recorded_checkpoints():
        model = moduli.load_model(path)
        assert model.kind is KINDS[model.kind.name], path
        found.setdefault(model.kind.name, path)
    assert {"cgcnn", "sevennet_mlp"} <= set(found) <= set(KINDS)  # the bundles hold both


class MeanAtomMLP(nn.Module):
    """A deliberately small network: an MLP on the mean of the atoms' feature vectors."""

    def __init__(self, atom_table: torch.Tensor, hidden: int = 16):
        super().__init__()
        self.register_buffer("atom_table", torch.as_tensor(atom_table, dtype=torch.float32))
        self.mlp = nn.Sequential(nn.Linear(self.atom_table.shape[1], hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, batch):
        return self.mlp(global_mean_pool(self.atom_table[batch.z], batch.batch)).squeeze(-1)


class MeanAtomKind(ModelKind):
    name = "mean_atom"
    label = "mean-atom MLPs"

    def build_network(self, sizes, atom_table, featurization):
        return MeanAtomMLP(atom_table, **sizes)


def test_a_new_kind_trains_and_predicts_through_the_generic_code(monkeypatch, tmp_path, config,
                                                                 sample_structures):
    import json

    from moduli.train.run import train

    from moduli.core import config as trust

    # The config names the kind's class; targets outside moduli need the allow-list extended,
    # and loading a checkpoint finds the kind by name in the registry.
    monkeypatch.setattr(trust, "TRUSTED_TARGETS", [*trust.TRUSTED_TARGETS, "tests.models.test_kinds.*"])
    monkeypatch.setitem(KINDS, "mean_atom", MeanAtomKind())
    out = tmp_path / "run"
    train(config("train", "model.kind._target_=tests.models.test_kinds.MeanAtomKind", "~model.net",
                 "+model.net={hidden:8}", "data.fold=0", "data.limit=80", "trainer.max_epochs=2",
                 "logger=none", "trainer.enable_progress_bar=false", f"paths.output_dir={out}"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(metrics["test/mae"]) and metrics["kind"] == "mean_atom"
    model = moduli.load_model(out / metrics["best_checkpoint"])
    assert model.kind.name == "mean_atom" and isinstance(model.net, MeanAtomMLP)
    predicted = model.predict(sample_structures[:5])
    atoms = [model.net.atom_table[torch.tensor(s.atomic_numbers)].mean(0) for s in sample_structures[:5]]
    with torch.no_grad():
        expected = model.normalizer.decode(model.net.mlp(torch.stack(atoms)).squeeze(-1).double().numpy())
    np.testing.assert_allclose(predicted, expected, rtol=1e-5)


def test_an_unknown_kind_is_a_clear_error(config, tmp_path):
    from hydra.errors import InstantiationException

    from moduli.models.kinds import kind_of
    from moduli.train.run import train

    with pytest.raises(ValueError, match="unknown model kind 'gnome'; choose from"):
        kind_of({"kind": "gnome"})  # a checkpoint of a kind this installation lacks
    with pytest.raises(InstantiationException, match="moduli.models.kinds.gnome.GnomeKind"):
        train(config("train", "model.kind._target_=moduli.models.kinds.gnome.GnomeKind", "logger=none",
                     "data.limit=40", f"paths.output_dir={tmp_path / 'a'}"))
    outside = r"os.system. cannot be authorized by the\sHydra execution whitelist"  # not a trusted target
    with pytest.raises(InstantiationException, match=outside):
        train(config("train", "model.kind._target_=os.system", "logger=none", "data.limit=40",
                     f"paths.output_dir={tmp_path / 'b'}"))


def test_the_registry_finds_every_kind_defined_in_the_kinds_package():
    """A kind is registered by being defined in a module of moduli.models.kinds (a new file
    there is all it takes); kinds defined elsewhere, like the test kind above, are not."""
    from moduli.models import kinds

    shipped = {"cgcnn", "chgnet_mlp", "sevennet_mlp", "sevennet_meanstd_mlp", "chgnet_sevennet_mlp",
               "sevennet_stiffness_mlp", "sevennet_elastic_mlp", "sevennet_kelvin_mlp", "sevennet_finetuned"}
    assert set(kinds._discover()) == set(KINDS) == shipped
    made = []

    def define(cls_name: str, module: str) -> type:
        made.append(type(cls_name, (ModelKind,), {"name": "probe", "label": "probes",
                                                  "__module__": f"moduli.models.kinds.{module}"}))
        return made[-1]

    try:
        define("ProbeKind", "probe")
        assert set(kinds._discover()) == shipped | {"probe"}
        define("TwinKind", "twin")
        with pytest.raises(RuntimeError, match="two model kinds named 'probe'"):
            kinds._discover()
    finally:
        for cls in made:  # out of the package again, so later discoveries do not see them
            cls.__module__ = __name__
    assert set(kinds._discover()) == shipped


def test_every_registered_kind_has_a_config_of_its_name(config):
    """conf/model/<name>.yaml exists for every kind and builds that kind: the name in a
    checkpoint, the config and the registry are one."""
    from hydra.utils import get_class

    conf = REPO / "src" / "moduli" / "conf" / "model"
    for name, kind in KINDS.items():
        assert (conf / f"{name}.yaml").is_file(), f"kind {name} has no conf/model/{name}.yaml"
        target = config("train", f"model={name}").model.kind._target_
        assert get_class(target) is type(kind), (name, target)


def test_each_kind_is_the_one_kind_of_the_module_of_its_name():
    """moduli.models.kinds.<name> defines kind <name> and no other: name, module and config agree."""
    from moduli.models.kinds.base import ModelKind

    for name, kind in KINDS.items():
        module = type(kind).__module__
        assert module == f"moduli.models.kinds.{name}", (name, module)
        defined = [v for v in vars(sys.modules[module]).values() if isinstance(v, type)
                   and issubclass(v, ModelKind) and v.__module__ == module and "name" in vars(v)]
        assert defined == [type(kind)], (name, defined)
