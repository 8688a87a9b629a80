"""Guards for the hooks on a library's private names: each runs only on the code it was tested against.

Two places reach into airbyte-cdk's internals because a measurement demanded it (docs/performance.md):
`cdk_speedups` (four functions replaced) and `source.py` (two private names of the concurrent runtime). The package
allows newer versions of the CDK than the one locked here, so before a hook replaces or steers anything, it compares the
source text of every library function it depends on with the one it was tested against (SHA-256 of the function's
source, dedented: the same on every Python version). When one is missing or different, the hook is skipped, the
library's own code runs, and one log line says which hook was skipped and why. The sync reads the same records either
way; only speed is lost (unit_tests/test_hooks.py).

Each hooking module declares its own hooks (`cdk_speedups.HOOKS`, `source.HOOKS`) with the
`Hook` defined here; this module imports none of them. The listing of every hook's digests, which imports them all, is
this package's `__main__.py`, which nothing imports.

After upgrading a library: run unit_tests/test_hooks.py, which names every function that changed; read the change,
re-run the hook's tests and the benchmark, and record the new digest in the module that declares the hook
(`python -m source_chartmogul.hooks` prints them all).
"""

import hashlib
import importlib
import inspect
import logging
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

LOGGER = logging.getLogger("airbyte")


@dataclass(frozen=True)
class Hook:
    """A hook on a library's internals, and the source of every library function it was tested against."""

    name: str  # what it does, in a few words, for the log line
    tested: Tuple[Tuple[str, str], ...]  # ("package.module:Class.function", SHA-256 of its source)

    def problem(self) -> Optional[str]:
        """Why this hook must not run here (None: every function is the tested one)."""
        for target, digest in self.tested:
            found = resolve(target)
            if found is None:
                return f"{target} does not exist in the installed {library_version(target)}"
            actual = source_digest(found)
            if actual is None:
                return f"the source of {target} cannot be read, so it cannot be compared with the tested one"
            if actual != digest:
                return f"{target} in the installed {library_version(target)} is not the function it was tested against"
        return None

    def applies(self, log: Callable[[str], None] = LOGGER.warning) -> bool:
        """True when the hook may run; otherwise says once, through `log`, which hook is skipped and why."""
        problem = self.problem()
        if problem is None:
            return True
        message = f"Skipped the hook '{self.name}': {problem}. The library's own code runs instead (the same records, without this hook's gain)."
        if message not in _SAID:
            _SAID.append(message)
            log(message)
        return False


_SAID: List[str] = []


def resolve(target: str) -> Any:
    """The object named "package.module:Attr.attr", or None when any part is missing."""
    module_name, _, path = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in path.split("."):
        found = inspect.getattr_static(found, part, None)
        if found is None:
            return None
        if isinstance(found, (staticmethod, classmethod)):
            found = found.__func__
    return found


def source_digest(function: Any) -> Optional[str]:
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(textwrap.dedent(text).encode()).hexdigest()


def library_version(target: str) -> str:
    distribution = {"airbyte_cdk": "airbyte-cdk", "airbyte": "airbyte"}.get(target.split(".")[0], target.split(".")[0])
    try:
        from importlib.metadata import version

        return f"{distribution} {version(distribution)}"
    except Exception:  # not installed as a distribution: say the name alone
        return distribution


def digests(targets: List[str]) -> Dict[str, Optional[str]]:
    """The current digests of these functions (what to record after a reviewed upgrade)."""
    return {target: (source_digest(found) if (found := resolve(target)) is not None else None) for target in targets}

