"""poetry.lock pins every dependency, constraints.txt hands the same pins to pip, and this environment holds exactly
the locked set.

The README's test command installs `pip install -c constraints.txt -e '.[dev,load]'`: if pip could not honour the
pins the install fails, and these tests fail if anything else was installed. So a green run of the suite proves
that the locked versions work together. How to update the lock: docs/development.md, "Packaging".
"""

import hashlib
import json
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Optional, Set, Tuple

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
POETRY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["poetry"]
LOCK = tomllib.loads((ROOT / "poetry.lock").read_text())
DISTRIBUTION = "airbyte-source-chartmogul"
TESTED_EXTRAS = ("dev", "load")  # what the README's test command installs, and what the suite needs


def _applies(marker: Optional[str], extras: Iterable[str]) -> bool:
    """Whether a lock entry or requirement with this marker is needed here, with these extras requested."""
    if not marker:
        return True
    return any(Marker(marker).evaluate({"extra": extra}) for extra in ("", *extras))


def _lock_markers(package: dict) -> Optional[str]:
    markers = package.get("markers")
    if isinstance(markers, dict):  # per dependency group; this project has only the main group
        markers = markers.get("main")
    return markers


def locked_here(extras: Iterable[str]) -> Dict[str, str]:
    """{name: version} of every lock entry needed on this Python and platform with these extras."""
    extras = tuple(extras)
    chosen: Dict[str, str] = {}
    for package in LOCK["package"]:
        if _applies(_lock_markers(package), extras):
            name = canonicalize_name(package["name"])
            assert name not in chosen, f"the lock pins two versions of {name} for this environment"
            chosen[name] = package["version"]
    return chosen


def _installed(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def needed_by_the_installed_connector(extras: Iterable[str]) -> Set[str]:
    """Every distribution the installed connector needs with these extras, following each installed distribution's
    own requirements (and the extras they ask of each other), as pip resolved them."""
    processed: Dict[str, FrozenSet[str]] = {}
    todo: list = [(DISTRIBUTION, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        new = wanted - processed.get(name, frozenset())
        if name in processed and not new:
            continue
        processed[name] = processed.get(name, frozenset()) | wanted
        for requirement in map(Requirement, metadata.requires(name) or []):
            if requirement.marker is None or _applies(str(requirement.marker), processed[name]):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return set(processed) - {DISTRIBUTION}


def _constraints() -> list:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _declared() -> Dict[str, str]:
    """pyproject's dependencies: {name: version constraint}."""
    return {
        canonicalize_name(name): spec if isinstance(spec, str) else spec["version"]
        for name, spec in POETRY["dependencies"].items() if name != "python"
    }


def test_every_package_the_lock_pins_for_the_tested_extras_is_installed_at_exactly_the_locked_version():
    locked = locked_here(TESTED_EXTRAS)

    assert {"airbyte-cdk", "airbyte", "airbyte-connector-models", "pytest", "poetry-core"} <= set(locked)
    assert {name: _installed(name) for name in locked} == locked


def test_the_installed_connector_needs_exactly_the_packages_the_lock_pins_for_this_environment():
    """Nothing pip installed for the connector and its extras escapes the lock, and the lock pins nothing unused."""
    assert needed_by_the_installed_connector(TESTED_EXTRAS) == set(locked_here(TESTED_EXTRAS))


def test_constraints_txt_pins_exactly_the_versions_poetry_lock_pins():
    pins: Set[Tuple[str, str]] = set()
    for requirement in _constraints():
        assert not requirement.extras and len(requirement.specifier) == 1, requirement
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", requirement
        pins.add((canonicalize_name(requirement.name), specifier.version))

    assert pins == {(canonicalize_name(p["name"]), p["version"]) for p in LOCK["package"]}


def test_constraints_txt_markers_choose_here_what_the_lock_chooses_with_every_extra():
    chosen = {canonicalize_name(r.name): str(r.specifier)[2:] for r in _constraints()
              if r.marker is None or r.marker.evaluate({"extra": ""})}

    assert chosen == locked_here(LOCK["extras"])


def test_every_dependency_pyproject_declares_is_locked_at_a_version_it_allows():
    locked: Dict[str, list] = {}
    for package in LOCK["package"]:
        locked.setdefault(canonicalize_name(package["name"]), []).append(package["version"])

    for name, constraint in _declared().items():
        assert locked.get(name), f"{name} is declared in pyproject.toml but not locked"
        assert all(version in SpecifierSet(constraint) for version in locked[name]), (name, constraint, locked[name])


def test_lock_extras_and_python_range_are_pyproject_s():
    assert LOCK["extras"] == {extra: sorted(names) for extra, names in POETRY["extras"].items()}
    assert LOCK["metadata"]["python-versions"] == POETRY["dependencies"]["python"] == ">=3.10,<3.14"


def test_lock_was_made_from_this_pyproject():
    """Poetry stores a hash of pyproject's dependency sections in the lock (for a [tool.poetry]-only project: the
    sha256 of the JSON of `dependencies`, `source`, `extras` and `dev-dependencies`, keys sorted) and calls a lock
    whose hash differs stale. Editing a dependency without `poetry lock` fails here."""
    relevant = {key: POETRY.get(key) for key in ("dependencies", "source", "extras", "dev-dependencies")}

    assert hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest() == LOCK["metadata"]["content-hash"]
