"""The package's imports: no module of source_chartmogul imports one that imports it back (directly or through others),
the hooks' listing stands above every hooking module, and the read plan loads without airbyte-cdk. And the folders
around it: the tests and the benchmark share their helpers through testkit/ only, which the package never imports.

Each module's imports are read from its source with `ast`, at any depth: an import inside a function (made when it is
first called) counts as much as one at the top. An import names a module of the package: `from source_chartmogul.x
import y` is `source_chartmogul.x.y` when that is a module, `source_chartmogul.x` otherwise; relative imports are
resolved; anything outside the package (the standard library, airbyte_cdk) is no edge.
"""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "source_chartmogul"


def package_modules(root: Path, package: str) -> Dict[str, Path]:
    """Every module of `package` under `root`, by dotted name (a package by its `__init__.py`)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(name: str, modules: Dict[str, Path]) -> Optional[str]:
    """`name` if it is a module of the package, else the closest package or module above it that is; None outside."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or None


def imported_names(path: Path, name: str) -> Set[str]:
    """What the source of module `name` (at `path`) imports, at any depth, as absolute dotted names: `import a.b` is
    `a.b`, `from a import b` (or `from . import b` inside `a`) is `a.b`, whether `b` is a module or a name in `a`."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]  # what `from .` means in it
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".") if node.level else node.module
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported_modules(name: str, modules: Dict[str, Path]) -> Set[str]:
    """The package's modules that module `name` imports, at any depth of its source."""
    return {_known(imported, modules) for imported in imported_names(modules[name], name)} - {None, name}


def import_graph(root: Path, package: str) -> Dict[str, Set[str]]:
    modules = package_modules(root, package)
    return {name: imported_modules(name, modules) for name in modules}


def import_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module: modules that each import, directly or through
    others, every other one of the component."""
    reach = {}
    for start in graph:
        seen, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        reach[start] = seen
    components = {tuple(sorted({start} | {other for other in reach[start] if start in reach[other]})) for start in graph}
    return sorted(list(component) for component in components if len(component) > 1)


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    graph = import_graph(ROOT, PACKAGE)

    assert {"source_chartmogul.cdk_speedups", "source_chartmogul.hooks", "source_chartmogul.read_plan",
            "source_chartmogul.components.shared_pages"} <= graph["source_chartmogul.source"]  # the graph is read
    assert import_cycles(graph) == []


def test_the_hooks_are_defined_below_their_users_and_listed_above_them():
    graph = import_graph(ROOT, PACKAGE)
    hooking = {name for name, imported in graph.items() if "source_chartmogul.hooks" in imported}

    assert graph["source_chartmogul.hooks"] == set()  # Hook and its helpers import none of their users
    assert hooking - {"source_chartmogul.hooks.__main__"} == {"source_chartmogul.cdk_speedups", "source_chartmogul.source"}
    assert not [name for name, imported in graph.items() if "source_chartmogul.hooks.__main__" in imported]


FOLDERS = ("source_chartmogul", "testkit", "unit_tests", "integration_tests", "benchmarks", "scripts")
# What each folder may import of the others: the tests and the benchmark share their helpers through testkit only.
MAY_IMPORT = {"source_chartmogul": set(), "testkit": {"source_chartmogul"}, "unit_tests": {"source_chartmogul", "testkit", "scripts"},
              "integration_tests": {"source_chartmogul", "testkit", "scripts"}, "benchmarks": {"source_chartmogul", "testkit"},
              "scripts": {"source_chartmogul"}}


def test_the_tests_and_the_benchmark_share_helpers_through_testkit_and_the_package_imports_none_of_them():
    crossing = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            others = {imported.split(".")[0] for imported in imported_names(path, name)} & set(FOLDERS) - {folder}
            crossing += [f"{path.relative_to(ROOT)} imports {other}" for other in sorted(others - MAY_IMPORT[folder])]

    assert crossing == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_and_a_relative_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def later():\n    from .c import value\n    return value\n")
    (package / "c.py").write_text("import json\nimport pkg.a\nvalue = 1\n")
    (package / "d.py").write_text("from pkg.a import name\n")  # imports a, imported by none: no cycle

    graph = import_graph(tmp_path, "pkg")

    assert graph["pkg.d"] == {"pkg.a"} and graph["pkg.b"] == {"pkg.c"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


AIRBYTE_CDK_LOADED = "import sys, {0}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'airbyte_cdk'))"


def _cdk_modules_loaded_by(module: str) -> str:
    done = subprocess.run([sys.executable, "-c", AIRBYTE_CDK_LOADED.format(module)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_read_plan_loads_without_airbyte_cdk():
    """A process can plan a read (threads, activity windows) without paying the CDK's import."""
    assert _cdk_modules_loaded_by("source_chartmogul.read_plan") == "[]"
    assert _cdk_modules_loaded_by("source_chartmogul.components.filters") != "[]"  # what the check would see
