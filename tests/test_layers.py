"""The package's layers: nothing imports upward, and the report tools do not need Lightning.

Every ``import`` / ``from ... import`` of a ``moduli`` module anywhere in a file (functions
included) is checked against what its subpackage may use. ``moduli/__init__.py`` (the public
API) may import anything.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "moduli"

# What each subpackage may import from moduli, besides itself.
ALLOWED = {
    "core": set(),
    "graphs": {"core"},
    "physics": {"core"},
    "features": {"core", "graphs", "physics"},
    "baselines": {"core"},
    "data": {"core", "graphs"},
    "models": {"core", "graphs", "physics", "features"},
    "analysis": {"core", "physics", "data"},
    "train": {"core", "graphs", "physics", "features", "baselines", "data", "models", "analysis"},
    "corpus": {"core", "graphs", "physics", "features", "models", "analysis"},
    "conf": set(),  # Hydra's YAML files, found as the package resource moduli.conf
}


def moduli_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every moduli module a file imports, resolved to absolute names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the file's package
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-node.level]
                base = ".".join(parts + ((node.module,) if node.module else ()))
            else:
                base = node.module or ""
            # ``from moduli import x`` uses moduli.x; ``from moduli.core import x`` is in core
            found += [(node.lineno, f"{base}.{alias.name}" if base == "moduli" else base)
                      for alias in node.names]
    return [(line, name) for line, name in found if name == "moduli" or name.startswith("moduli.")]


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            continue  # moduli/__init__.py: the public API
        layer = rel.parts[0]
        assert layer in ALLOWED, f"new subpackage {layer}: add it to ALLOWED"
        for line, module in moduli_imports(path):
            target = layer_of(module)
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"{rel}:{line} imports {module} ({layer} may use "
                                f"{sorted(ALLOWED[layer]) or 'nothing above it'})")
    return problems


def test_no_module_imports_upward():
    assert upward_imports() == []


def test_the_walk_finds_an_upward_import(tmp_path, monkeypatch):
    """The check itself: a graphs module importing a model is reported."""
    fake = tmp_path / "moduli"
    for sub in ("graphs", "models"):
        (fake / sub).mkdir(parents=True)
        (fake / sub / "__init__.py").write_text("")
    (fake / "models" / "cgcnn.py").write_text("")
    (fake / "graphs" / "bad.py").write_text("def f():\n    from moduli.models.networks.cgcnn import CGCNN\n")
    (fake / "graphs" / "worse.py").write_text("from moduli.models import cgcnn\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    problems = upward_imports()
    assert len(problems) == 2 and all("imports moduli.models" in p for p in problems)


@pytest.mark.parametrize("layer", ["core", "graphs", "physics", "analysis"])
def test_lower_layers_and_reports_do_not_load_lightning(layer):
    modules = [".".join(("moduli", *p.relative_to(PACKAGE).with_suffix("").parts))
               for p in sorted((PACKAGE / layer).rglob("*.py")) if p.name != "__init__.py"]
    code = (f"import sys\nfor m in {modules!r}:\n    __import__(m)\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('lightning', 'pytorch_lightning')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"{layer} loads Lightning"


FOUNDATION_PACKAGES = ("sevenn", "chgnet", "e3nn")


def test_only_the_features_package_imports_the_foundation_models():
    """sevenn, chgnet and e3nn are imported in moduli.features alone (functions included)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n.split(".")[0] in FOUNDATION_PACKAGES for n in names):
                found.append(str(path.relative_to(PACKAGE)))
    assert found and all(f.startswith("features/") for f in found), sorted(set(found))


def test_every_subpackage_is_a_regular_package():
    """setuptools' find_packages leaves out folders without __init__.py: an installed (not
    editable) moduli would lack them."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    assert folders == set(ALLOWED)
    assert all((PACKAGE / name / "__init__.py").is_file() for name in folders)
