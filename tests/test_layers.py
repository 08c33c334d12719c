"""The web app reaches the training side only through the model core."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def imported_modules(path):
    """Every module name a Python file imports, relative imports resolved."""
    package = list(path.relative_to(ROOT).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            yield ".".join(base + ([node.module] if node.module else []))


def test_webapp_imports_only_the_model_core_of_training():
    outside = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "webapp").rglob("*.py")
        for name in imported_modules(path)
        if (name == "training" or name.startswith("training."))
        and not (name == "training.core" or name.startswith("training.core."))
    }
    assert not outside


def test_the_model_core_imports_nothing_of_training_outside_it():
    outside = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "training" / "core").rglob("*.py")
        for name in imported_modules(path)
        if (name == "training" or name.startswith("training."))
        and not (name == "training.core" or name.startswith("training.core."))
    }
    assert not outside
