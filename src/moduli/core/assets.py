"""Named data files: where to find them locally, where to download them, how to verify them.

Every external file the project reads is an :class:`Asset`. :func:`fetch` looks for it in the
data dir (``MODULI_DATA_DIR`` or an explicit path), then in the user cache, and only then
downloads it from its public URL, checking the sha256 before the file is moved into place. Offline
with no local copy, it fails at once with a message naming the file and the folders searched.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from moduli.core.atomic import atomic_write
from moduli.core.errors import MissingInputError

DATA_DIR_ENV = "MODULI_DATA_DIR"
CACHE_DIR_ENV = "MODULI_CACHE_DIR"


@dataclass(frozen=True)
class Asset:
    """One data file: its name inside a data dir, its public URL and its sha256 (None: unchecked).

    ``url`` is None for a file derived from a public one (a subset): it cannot be downloaded, only
    found in a data dir; the comment at its entry names the original."""

    filename: str
    url: str | None
    sha256: str | None


ASSETS: dict[str, Asset] = {
    # All Materials Project binaries with elastic data (matcalc benchmark set, Jan 2025).
    "mp_binary_elasticity_2025": Asset(
        "mp_binary_elasticity_2025.1_matcalc.json.gz",
        "https://raw.githubusercontent.com/materialsvirtuallab/matcalc/"
        "aa76b41edb9ffb62f7efb2b5d3a3f7a8b2b4747d/benchmark_data/mp-binary-pbe-elasticity-2025.1.json.gz",
        "5689599491322805bda913663eeef8d567f64ada80c90173d50fb7b6fb0b5896",
    ),
    # matminer's elastic_tensor_2015 (de Jong et al. 2015), byte-identical to matminer's file.
    "elastic_tensor_2015": Asset(
        "matminer_elastic_tensor_2015.json.gz",
        "https://ndownloader.figshare.com/files/13220603",
        "8c3b342f75da7e7baa1b769b59554485fd647f4cb1da9318d0d1ba3b3b838183",
    ),
    # The original CGCNN 92-dim one-hot element embedding.
    "cgcnn_atom_init": Asset(
        "cgcnn_reference/atom_init.json",
        "https://raw.githubusercontent.com/txie-93/cgcnn/"
        "f42ab233c4ee0c416879d6bc2d22a264418413ad/data/sample-regression/atom_init.json",
        "cb90bd2257dbf8cfc4e6b2b6d4348d4616e8e9680f1339b1461137032e0f1894",
    ),
    "cgcnn_bulk_moduli": Asset(
        "cgcnn_reference/pretrained/bulk-moduli.pth.tar",
        "https://raw.githubusercontent.com/txie-93/cgcnn/"
        "f42ab233c4ee0c416879d6bc2d22a264418413ad/pre-trained/bulk-moduli.pth.tar",
        "0a3f66b9a0ee6acef11bb852717424a6c3560073239c17bdbea568cc43816dd3",
    ),
    "cgcnn_shear_moduli": Asset(
        "cgcnn_reference/pretrained/shear-moduli.pth.tar",
        "https://raw.githubusercontent.com/txie-93/cgcnn/"
        "f42ab233c4ee0c416879d6bc2d22a264418413ad/pre-trained/shear-moduli.pth.tar",
        "34173bc59a0a8f9f74021155b304b74d9e709b1ff241d3f02e83031c9deb216c",
    ),
    # The original networks trained without elastic labels, for transfer learning (model.init_from).
    **{f"cgcnn_{name.replace('-', '_').removesuffix('_per_atom')}": Asset(
        f"cgcnn_reference/pretrained/{name}.pth.tar",
        "https://raw.githubusercontent.com/txie-93/cgcnn/"
        f"f42ab233c4ee0c416879d6bc2d22a264418413ad/pre-trained/{name}.pth.tar", sha256)
       for name, sha256 in (
           ("formation-energy-per-atom", "e2f8bb910744f2c2f21d968285b6fd4316d795d0f3e7465ed0e3b4f3c92651a1"),
           ("final-energy-per-atom", "1afe9260a0b7bd01d2a0a752fbac12be5badea6a56e57aeea5877ae8f9a32c57"),
           ("band-gap", "d269775b9be0995c046abed3dd6556c281a3eff7b2e1d73cf81b99e2a1d4aa6c"),
           ("efermi", "5ed4ba15b5bd3e04ce6b0eca75f15bb6465557aada4097f11291ea1e7cd48afb"))},
    # Held out of training: MP's legacy elastic tensors (1,211), the independent check set. Only its
    # ids and structures are read in training, to keep them out (trachote/predict_elastic_tensor).
    "mp_elastic_tensors_1211": Asset(
        "mp_elastic_tensors_1211_trachote.json",
        "https://raw.githubusercontent.com/trachote/predict_elastic_tensor/"
        "2178392a6895287af3c7f95c2a31f7985b28b1e8/data/mp_val_clean.json",
        "a341194c57462582b740e82aaa5b7e80d5c61c5a46d971a973d202d632d01044",
    ),
    # matminer's brgoch_superhard_training (Mansouri Tehrani et al., JACS 140, 9844 (2018); full
    # file https://ndownloader.figshare.com/files/13858931, sha256 c1b228ba...3b40) less 351 rows
    # held back for independent checks: a derived subset, so no URL (see the data README, file 8).
    "brgoch_superhard_subset": Asset(
        "matminer_brgoch_superhard_training_subset.json.gz", None,
        "f6329165904ff9e898bb5b2f5336eba9df79f9cce2f79c6ba438d11bb9a22951",
    ),
    # Official Matbench v0.1 data (matminer metadata gives URL and hash).
    "matbench_log_gvrh": Asset(
        "matbench_log_gvrh.json.gz",
        "https://ml.materialsproject.org/projects/matbench_log_gvrh.json.gz",
        None,
    ),
    "matbench_log_kvrh": Asset(
        "matbench_log_kvrh.json.gz",
        "https://ml.materialsproject.org/projects/matbench_log_kvrh.json.gz",
        None,
    ),
}


class AssetUnavailableError(MissingInputError):
    """A named data file is neither on disk nor downloadable right now."""


def default_cache_dir() -> Path:
    """The user cache for downloads and graph caches (``MODULI_CACHE_DIR`` or ~/.cache/moduli)."""
    return Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "moduli"))


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for assets, in order: explicit dir, ``MODULI_DATA_DIR``, the user cache."""
    dirs = [Path(d) for d in (data_dir, os.environ.get(DATA_DIR_ENV)) if d]
    dirs.append(default_cache_dir() / "data")
    return list(dict.fromkeys(dirs))


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """Return a local, verified path to asset ``name``, downloading it into the cache if needed."""
    asset = ASSETS[name]
    dirs = search_dirs(data_dir)
    for folder in dirs:
        for candidate in (folder / asset.filename, folder / Path(asset.filename).name):
            if candidate.is_file():
                _verify(candidate, asset)
                return candidate
    target = dirs[-1] / asset.filename
    if not download or asset.url is None:
        raise AssetUnavailableError(_missing_message(name, asset, dirs, None))
    try:
        _download(asset, target)
    except OSError as err:  # URLError is an OSError: offline, DNS, refused, HTTP errors.
        raise AssetUnavailableError(_missing_message(name, asset, dirs, err)) from err
    return target


def _verify(path: Path, asset: Asset) -> None:
    if asset.sha256 is not None and sha256_of(path) != asset.sha256:
        raise ValueError(f"{path} does not match the sha256 of {asset.filename} ({asset.sha256}); "
                         "it is a different file or a corrupt download: delete it and retry.")


def _download(asset: Asset, target: Path) -> None:
    def write(tmp: str) -> None:  # verified before it takes the asset's name
        with urllib.request.urlopen(asset.url, timeout=30) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        _verify(Path(tmp), asset)

    atomic_write(target, write)


def _missing_message(name: str, asset: Asset, dirs: list[Path], err: Exception | None) -> str:
    searched = ", ".join(str(d) for d in dirs)
    reason = (f"download from {asset.url} failed ({err})" if err else
              "it is a derived file with no download" if asset.url is None else "downloads are disabled")
    return (f"data file '{asset.filename}' (asset '{name}') not found in: {searched}; {reason}. "
            f"Put the file at {dirs[0] / asset.filename} or set {DATA_DIR_ENV} to a folder that "
            "holds it.")
