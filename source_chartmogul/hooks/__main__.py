"""`python -m source_chartmogul.hooks`: the installed libraries' digests of every function a hook depends on, a line
each (`<hook>: <package.module:Class.function> <SHA-256>`), to record in the module that declares the hook after a
reviewed upgrade (docs/development.md, "Packaging", upgrade notes).

The listing stands above the hooking modules (cdk_speedups, source), which import `Hook` from
`source_chartmogul.hooks`: nothing imports this module, so no module imports one that imports it back
(unit_tests/test_imports.py).
"""

from typing import Iterable

from source_chartmogul.hooks import Hook, digests


def show(hooks: Iterable[Hook]) -> None:
    for hook in hooks:
        for target, digest in digests([t for t, _ in hook.tested]).items():
            print(f"{hook.name}: {target} {digest}")


def main() -> None:
    from source_chartmogul import cdk_speedups  # before source.py, which installs its replacements

    show(cdk_speedups.HOOKS)
    from source_chartmogul import source

    show(source.HOOKS)


if __name__ == "__main__":
    main()
