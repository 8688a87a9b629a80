"""Airbyte's connector QA rules, applied to this repository as it would sit in airbytehq/airbyte
(airbyte-integrations/connectors/source-chartmogul/, with docs/ as docs/integrations/sources/).

Airbyte runs these checks before it publishes a connector (connectors_qa: metadata, packaging, documentation,
security and assets checks). Each test below is one rule, in our own code, so that none of them can regress. Pure
file checks: nothing here runs the connector.
"""

import json
import os
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
POETRY = PYPROJECT["tool"]["poetry"]
MANIFEST = yaml.safe_load((ROOT / "source_chartmogul" / "manifest.yaml").read_text())
DOCS = (ROOT / "docs" / "chartmogul.md").read_text()
MIGRATIONS = (ROOT / "docs" / "chartmogul-migrations.md").read_text()
NAME = METADATA["name"]
VERSION = METADATA["dockerImageTag"]

# The registry's published history of this connector (definition b6604cbd-1b12-4c08-8767-e140d0fb0877): version,
# release date and the airbytehq/airbyte pull request of each release, 0.1.0 to 1.1.20.
PUBLISHED: List[Tuple[str, str, int]] = [
    ("1.1.20", "2025-05-10", 60032), ("1.1.19", "2025-05-03", 59408), ("1.1.18", "2025-04-26", 58843),
    ("1.1.17", "2025-04-19", 58297), ("1.1.16", "2025-04-12", 57790), ("1.1.15", "2025-04-05", 56570),
    ("1.1.14", "2025-03-22", 56095), ("1.1.13", "2025-03-08", 55405), ("1.1.12", "2025-03-01", 54250),
    ("1.1.11", "2025-02-15", 53932), ("1.1.10", "2025-02-08", 53411), ("1.1.9", "2025-02-01", 52933),
    ("1.1.8", "2025-01-25", 52202), ("1.1.7", "2025-01-18", 51709), ("1.1.6", "2025-01-11", 51276),
    ("1.1.5", "2024-12-28", 50503), ("1.1.4", "2024-12-21", 50210), ("1.1.3", "2024-12-14", 49563),
    ("1.1.2", "2024-12-12", 48951), ("1.1.1", "2024-10-28", 47637), ("1.1.0", "2024-08-19", 44418),
    ("1.0.13", "2024-08-17", 44342), ("1.0.12", "2024-08-12", 43847), ("1.0.11", "2024-08-10", 43660),
    ("1.0.10", "2024-08-03", 43231), ("1.0.9", "2024-07-27", 42589), ("1.0.8", "2024-07-20", 42349),
    ("1.0.7", "2024-07-13", 41854), ("1.0.6", "2024-07-10", 41259), ("1.0.5", "2024-07-06", 40963),
    ("1.0.4", "2024-06-25", 40448), ("1.0.3", "2024-06-21", 39932), ("1.0.2", "2024-06-06", 39289),
    ("1.0.1", "2024-05-14", 38145), ("1.0.0", "2023-11-09", 23075), ("0.2.1", "2023-02-15", 23075),
    ("0.2.0", "2022-11-15", 19276), ("0.1.1", "2022-03-02", 10756), ("0.1.0", "2022-01-10", 9381),
]


# --- Markdown as Airbyte's documentation checks read it ---------------------------------------------------------

def headings(markdown: str) -> List[Tuple[int, str, int]]:
    """(level, text, line index) of every ATX heading outside fenced code. Airbyte compares h1-h4 by text only, and
    drops a leading "Step 1: " or "Step 2: " from the text."""
    found, fenced = [], False
    for index, line in enumerate(markdown.splitlines()):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^(#{1,6}) +(.+?)\s*#*\s*$", line)
        if match:
            text = re.sub(r"^Step [12]: ", "", match.group(2))
            found.append((len(match.group(1)), text, index))
    return found


def section(markdown: str, heading: str) -> List[str]:
    """The text under each heading with this text, up to the next heading of any level."""
    lines, marks = markdown.splitlines(), headings(markdown)
    bodies = []
    for position, (_, text, start) in enumerate(marks):
        if text == heading:
            end = marks[position + 1][2] if position + 1 < len(marks) else len(lines)
            bodies.append("\n".join(lines[start + 1:end]))
    return bodies


# Airbyte's documentation template (checks/documentation/templates/template.md.j2) as the heading check reads it:
# its headings in order, with SLOT where any number of connector-specific headings may stand.
SLOT = "CONNECTOR_SPECIFIC_FEATURES"
TEMPLATE = [
    NAME, "Prerequisites", "Setup guide", f"Set up {NAME}", "For Airbyte Cloud:", "For Airbyte Open Source:", SLOT,
    f"Set up the {NAME} connector in Airbyte", "For Airbyte Cloud:", "For Airbyte Open Source:", SLOT,
    "Supported sync modes", "Supported Streams", SLOT, "IP allow list", "Performance considerations",
    "Data type map", "Limitations & Troubleshooting", SLOT, "Tutorials", "Changelog",
]
NOT_REQUIRED = {f"Set up the {NAME} connector in Airbyte", "For Airbyte Cloud:", "For Airbyte Open Source:", SLOT,
                "Performance considerations", "Data type map", "Limitations & Troubleshooting", "Tutorials"}


def template_order_problems(doc_headings: List[str]) -> List[str]:
    """Airbyte's heading rule: walk the template and the document together. A slot takes every document heading that
    is not a template heading; equal headings advance both; a template heading that is not required may be absent;
    anything else is out of place. Template headings still required when the document ends are missing."""
    doc, at_doc, at_template = [h for h in doc_headings], 0, 0
    while at_doc < len(doc) and at_template < len(TEMPLATE):
        expected, actual = TEMPLATE[at_template], doc[at_doc]
        if expected == SLOT:
            if actual in TEMPLATE:
                at_template += 1
            else:
                at_doc += 1
        elif actual == expected:
            at_doc, at_template = at_doc + 1, at_template + 1
        elif expected in NOT_REQUIRED:
            at_template += 1
        else:
            return [f"heading {actual!r} is out of place: expected {expected!r}"]
    missing = [h for h in TEMPLATE[at_template:] if h not in NOT_REQUIRED]
    return [f"required headings missing: {missing}"] if missing else []


def changelog_rows() -> List[List[str]]:
    (body,) = section(DOCS, "Changelog")
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in body.splitlines() if line.startswith("| ") and not line.startswith("| ---")][1:]


# --- Metadata (checks/metadata.py) -------------------------------------------------------------------------------

def max_seconds_rule(data: Dict) -> Optional[str]:
    """CheckConnectorMaxSecondsBetweenMessagesValue: a certified source needs a non-zero value."""
    if data["connectorType"] == "source" and data.get("supportLevel") == "certified" and not data.get("maxSecondsBetweenMessages"):
        return "Missing required for certified connectors field 'maxSecondsBetweenMessages'"
    return None


def test_support_level_is_community_and_certified_would_require_max_seconds_between_messages():
    assert METADATA["supportLevel"] == "community"  # the registry's level: certification is Airbyte's decision
    assert max_seconds_rule(METADATA) is None
    assert max_seconds_rule({**METADATA, "supportLevel": "certified"}) is None  # declared anyway
    certified_without = {k: v for k, v in METADATA.items() if k != "maxSecondsBetweenMessages"}
    assert max_seconds_rule({**certified_without, "supportLevel": "certified"}) is not None


def test_release_stage_is_beta_as_the_registry_has_it():
    assert METADATA["releaseStage"] == "beta"


def test_ab_internal_keeps_the_registry_s_support_and_quality_levels():
    assert METADATA["ab_internal"] == {"sl": 100, "ql": 300}


def test_language_tag_is_python_and_cdk_tag_is_low_code_as_the_qa_infers_them():
    # No manifest.yaml at the root (that would be manifest-only); a pyproject.toml makes it a Python connector, and
    # a manifest inside the package folder (source_chartmogul/manifest.yaml) a low-code one.
    assert not (ROOT / "manifest.yaml").exists() and (ROOT / "pyproject.toml").exists()
    assert (ROOT / METADATA["dockerRepository"].split("/")[1].replace("-", "_") / "manifest.yaml").exists()
    assert [t for t in METADATA["tags"] if t.startswith("language:")] == ["language:python"]
    assert [t for t in METADATA["tags"] if t.startswith("cdk:")] == ["cdk:low-code"]
    assert all(":" in tag for tag in METADATA["tags"])


def test_python_base_image_is_declared_pinned_by_digest_and_there_is_no_dockerfile():
    assert not (ROOT / "Dockerfile").exists()
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}",
                        METADATA["connectorBuildOptions"]["baseImage"])


def test_icon_is_an_svg_file_beside_the_metadata():
    root = ElementTree.parse(ROOT / "icon.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"  # ignore-https-check: the SVG namespace is an identifier


# --- Packaging (checks/packaging.py) ------------------------------------------------------------------------------

def test_connector_uses_poetry_with_a_committed_lock_and_no_setup_py():
    assert (ROOT / "poetry.lock").exists()
    assert not (ROOT / "setup.py").exists()
    assert PYPROJECT["build-system"]["build-backend"] == "poetry.core.masonry.api"
    assert "project" not in PYPROJECT  # [tool.poetry] is the one source of truth


def test_poetry_version_is_the_docker_image_tag_and_semantic():
    assert POETRY["version"] == VERSION == "2.0.0"
    assert str(Version(VERSION)) == VERSION


def test_poetry_license_matches_metadata_and_is_mit_or_elv2():
    assert POETRY["license"].upper() == METADATA["license"].upper() == "MIT"
    assert METADATA["license"].upper() in {"MIT", "ELV2"}


def test_pypi_package_name_is_the_poetry_name_and_publishing_is_declared():
    pypi = METADATA["remoteRegistries"]["pypi"]
    assert pypi["packageName"] == POETRY["name"] == "airbyte-source-chartmogul"
    assert pypi["enabled"] is True  # declared (the QA check accepts true or false, not a missing value)


# --- Breaking changes and the migration guide (ValidateMetadata, CheckMigrationGuide) ---------------------------

def test_breaking_changes_keep_1_0_0_add_2_0_0_and_the_current_one_has_a_deadline_action():
    breaking = METADATA["releases"]["breakingChanges"]
    assert list(breaking) == ["2.0.0", "1.0.0"]
    assert str(breaking["1.0.0"]["upgradeDeadline"]) == "2023-11-29"
    # A major version needs its own entry, and an unreleased version's entry a deadlineAction.
    assert Version(VERSION).minor == Version(VERSION).micro == 0 and VERSION in breaking
    assert breaking[VERSION]["deadlineAction"] in {"auto_upgrade", "disable"}


def test_current_breaking_change_deadline_is_more_than_a_week_after_its_release():
    released = date.fromisoformat(changelog_rows()[0][1])
    deadline = date.fromisoformat(METADATA["releases"]["breakingChanges"][VERSION]["upgradeDeadline"])
    assert deadline > released + timedelta(days=7)


def test_migration_guide_title_is_the_metadata_name():
    assert MIGRATIONS.splitlines()[0] == f"# {NAME} Migration Guide" == "# ChartMogul Migration Guide"


def test_migration_guide_has_one_upgrading_section_per_breaking_change_newest_first():
    versions = [line.strip()[len("## Upgrading to "):] for line in MIGRATIONS.splitlines()
                if line.strip().startswith("## Upgrading to ")]
    breaking = list(METADATA["releases"]["breakingChanges"])

    # Airbyte sorts the version strings as text; semantic order must agree.
    assert versions == sorted(breaking, reverse=True) == sorted(breaking, key=Version, reverse=True) == ["2.0.0", "1.0.0"]


def test_every_breaking_change_is_a_changelog_version():
    assert set(METADATA["releases"]["breakingChanges"]) <= {row[0] for row in changelog_rows()}


# --- The changelog (CheckChangelogEntry, CheckChangelogSectionContent) -------------------------------------------

def test_changelog_is_one_section_and_its_table_sits_inside_details_expand_to_review():
    (body,) = section(DOCS, "Changelog")
    assert body.strip().startswith("<details>\n  <summary>Expand to review</summary>\n\n"
                                   "| Version | Date | Pull Request | Subject |\n| --- | --- | --- | --- |\n")
    assert body.strip().endswith("|\n\n</details>")


def test_changelog_rows_are_newest_first_with_non_increasing_dates_and_the_current_version_on_top():
    rows = changelog_rows()
    versions = [Version(row[0]) for row in rows]
    dates = [date.fromisoformat(row[1]) for row in rows]

    assert rows[0][0] == VERSION
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert dates == sorted(dates, reverse=True)
    assert all(len(row) == 4 and row[3] for row in rows)


def test_changelog_keeps_every_published_release_with_its_date_and_airbyte_pull_request():
    rows = {row[0]: row for row in changelog_rows()}

    assert list(rows) == [VERSION] + [version for version, _, _ in PUBLISHED]
    for version, released, pull_request in PUBLISHED:
        assert rows[version][1] == released, version
        assert rows[version][2] == f"[{pull_request}](https://github.com/airbytehq/airbyte/pull/{pull_request})", version


def test_current_version_has_a_changelog_line_after_the_changelog_heading():
    after = DOCS.lower().split("# changelog", 1)[1]
    assert any(line.startswith(f"| {VERSION} |") for line in after.splitlines())


# --- The documentation page (CheckDocumentationHeadersOrder and the section checks) ------------------------------

def test_docs_headings_follow_airbyte_s_template_order():
    doc = [text for level, text, _ in headings(DOCS) if level <= 4]

    assert template_order_problems(doc) == []
    # Beyond the required ones, the page keeps every template heading but the optional Tutorials, in order.
    assert [h for h in doc if h in TEMPLATE] == [
        NAME, "Prerequisites", "Setup guide", f"Set up {NAME}", f"Set up the {NAME} connector in Airbyte",
        "For Airbyte Cloud:", "For Airbyte Open Source:", "Supported sync modes", "Supported Streams",
        "IP allow list", "Performance considerations", "Data type map", "Limitations & Troubleshooting", "Changelog",
    ]
    assert [text for level, text, _ in headings(DOCS) if level == 1] == [NAME]


@pytest.mark.parametrize("doc, problem", [
    pytest.param(["ChartMogul", "Prerequisites", "Setup guide", "Set up ChartMogul", "Supported sync modes",
                  "Supported streams"], "heading 'Supported streams' is out of place: expected 'Supported Streams'",
                 id="case matters"),
    pytest.param(["ChartMogul", "Prerequisites", "Setup guide", "Set up ChartMogul", "Supported sync modes", "Notes",
                  "Supported Streams"], "heading 'Notes' is out of place: expected 'Supported Streams'",
                 id="no heading between sync modes and streams"),
    pytest.param(["ChartMogul", "Prerequisites", "Setup guide", "Set up ChartMogul", "Supported sync modes",
                  "Supported Streams", "Changelog"], "heading 'Changelog' is out of place: expected 'IP allow list'",
                 id="IP allow list required"),
    pytest.param(["ChartMogul", "Prerequisites", "Setup guide", "Set up ChartMogul", "Supported sync modes",
                  "Supported Streams", "Notes"], "required headings missing: ['IP allow list', 'Changelog']",
                 id="page ends early"),
])
def test_the_heading_rule_rejects_what_airbyte_rejects(doc, problem):
    assert template_order_problems(doc) == [problem]


def test_docs_open_with_the_template_s_hidden_intro():
    (body,) = section(DOCS, NAME)
    with_links_replaced = re.sub(r"https?://[^\s)]+", "{docs_link}", body)
    assert ("<HideInUI>\n\nThis page contains the setup guide and reference information for the "
            f"[{NAME}]({{docs_link}}) source connector.\n\n</HideInUI>") in with_links_replaced


def test_prerequisites_name_every_required_setting_by_its_title():
    spec = MANIFEST["spec"]["connection_specification"]
    titles = [spec["properties"][field]["title"].lower() for field in spec["required"]]
    (prerequisites,) = section(DOCS, "Prerequisites")

    assert titles == ["api key", "start date", "interval"]
    assert [title for title in titles if title not in prerequisites.lower()] == []


def test_supported_sync_modes_open_with_the_template_sentence():
    (body,) = section(DOCS, "Supported sync modes")
    assert body.strip().startswith(f"The {NAME} source connector supports the following "
                                   "[sync modes](https://docs.airbyte.com/cloud/core-concepts/#connection-sync-modes):")


def test_cloud_and_open_source_setup_steps_follow_the_template():
    """The template's steps, which Airbyte matches loosely (difflib, 0.6 similarity), in the second pair of sections."""
    cloud = section(DOCS, "For Airbyte Cloud:")
    open_source = section(DOCS, "For Airbyte Open Source:")
    assert len(cloud) == len(open_source) == 1  # only under "Set up the ChartMogul connector in Airbyte"
    assert "(https://cloud.airbyte.com/workspaces)" in cloud[0] and f"pick {NAME} from the Source type dropdown" in cloud[0]
    assert "Airbyte Open Source" in open_source[0] and "dashboard" in open_source[0]


def test_ip_allow_list_points_to_airbyte_cloud_s_addresses():
    (body,) = section(DOCS, "IP allow list")
    assert "[Airbyte Cloud IP addresses](https://docs.airbyte.com/platform/operating-airbyte/ip-allowlist)" in body


def test_data_type_map_covers_every_schema_type_the_streams_use():
    used = set()

    def walk(schema):
        types = schema.get("type", [])
        for kind in [types] if isinstance(types, str) else types:
            if kind != "null":
                used.add((kind, schema.get("format")))
        for child in schema.get("properties", {}).values():
            walk(child)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"])

    for path in (ROOT / "source_chartmogul" / "schemas").glob("*.json"):
        for field in json.loads(path.read_text())["properties"].values():
            walk(field)
    (body,) = section(DOCS, "Data type map")
    documented = set()
    for first_cell in (row.split("|")[1] for row in body.splitlines() if row.startswith("| `")):
        kind, fmt = re.match(r"\s*`(\w+)`", first_cell).group(1), re.search(r"`format: ([\w-]+)`", first_cell)
        documented.add((kind, fmt.group(1) if fmt else None))

    assert used <= documented
    assert documented == {("string", None), ("string", "date-time"), ("string", "date"), ("integer", None),
                          ("number", None), ("boolean", None), ("object", None), ("array", None)}


# --- Security (CheckConnectorUsesHTTPSOnly) ----------------------------------------------------------------------

# Airbyte's check skips these folders wherever they sit, and these files. .git, __pycache__, dist and secrets are
# local, git-ignored or generated here and never reach the monorepo. benchmarks/, scripts/ and docs/ are scanned:
# in this flat layout they sit in the connector's folder.
IGNORED_FOLDERS = {".venv", "tests", "unit_tests", "integration_tests", "build", "source-file", ".pytest_cache",
                   "acceptance_tests_logs", ".hypothesis", ".ruff_cache", "htmlcov", "test-integration",
                   ".git", "__pycache__", "dist", "secrets"}
IGNORED_FILES = ("*Test.java", "*.jar", "*.pyc", "*.gz", "*.svg", "expected_records.jsonl", "expected_records.json")
COMMENT_PREFIX = {".py": "#", ".yml": "#", ".yaml": "#", ".java": "//", ".md": "<!--"}


def files_scanned(root: Path) -> List[Path]:
    """Every file under root outside the ignored folders (not walked into at all) and not an ignored file."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in IGNORED_FOLDERS)
        found += [Path(folder) / name for name in sorted(files) if name not in IGNORED_FOLDERS  # as any path part
                  and not any((Path(folder) / name).match(pattern) for pattern in IGNORED_FILES)]
    return found


def plain_http_lines(root: Path) -> List[str]:
    found = []
    for path in files_scanned(root):
        relative = path.relative_to(root)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            prefix = COMMENT_PREFIX.get(path.suffix)
            if (prefix and line.lstrip().startswith(prefix)) or "# ignore-https-check" in line:
                continue
            line = line.lower().replace("http://json-schema.org", "").replace("http://localhost", "")
            if "http://" in line:
                found.append(f"{relative}:{number}")
    return found


def test_connector_files_use_https_only():
    scanned = {str(path.relative_to(ROOT)) for path in files_scanned(ROOT)}

    assert {"metadata.yaml", "pyproject.toml", "source_chartmogul/manifest.yaml", "docs/chartmogul.md",
            "benchmarks/sync_benchmark.py", "scripts/builder_manifest.py", "README.md"} <= scanned
    assert not any(name.startswith(("unit_tests/", "integration_tests/", ".venv/")) for name in scanned)
    assert plain_http_lines(ROOT) == []


def test_https_scan_finds_plain_http_outside_comments(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("See http://example.com\n<!-- http://example.com -->\n")
    (tmp_path / "code.py").write_text("# http://example.com\nURL = 'http://localhost:8000'\nX = 'http://json-schema.org/x'\n")
    (tmp_path / "unit_tests").mkdir()
    (tmp_path / "unit_tests" / "fake.py").write_text("URL = 'http://127.0.0.1'\n")

    assert plain_http_lines(tmp_path) == ["docs/page.md:1"]


# --- maxSecondsBetweenMessages covers the manifest's longest silence ----------------------------------------------

def test_max_seconds_between_messages_covers_one_request_s_whole_retry_chain():
    """The longest a healthy sync stays silent: every thread waiting on one request's retries. With the hidden
    max_retries setting at its maximum, each attempt may take the connect plus the read timeout, and each retry
    first sleeps the exponential backoff plus the one second the CDK adds to every backoff."""
    from airbyte_cdk.sources.declarative.requesters.error_handlers.backoff_strategies.exponential_backoff_strategy import (
        ExponentialBackoffStrategy,
    )

    requester, handler = MANIFEST["definitions"]["requester"], MANIFEST["definitions"]["error_handler"]
    max_retries = MANIFEST["spec"]["connection_specification"]["properties"]["max_retries"]
    assert handler["max_retries"] == "{{ config.get('max_retries', 8) }}" and max_retries["default"] == 8
    (exponential,) = [s for s in handler["backoff_strategies"] if s["type"] == "ExponentialBackoffStrategy"]
    strategy = ExponentialBackoffStrategy(parameters={}, config={}, factor=exponential["factor"])
    retries = max_retries["maximum"]

    attempts = (retries + 1) * (requester["connect_timeout_in_seconds"] + requester["read_timeout_in_seconds"])
    waits = sum(strategy.backoff_time(None, attempt_count=k) + 1 for k in range(1, retries + 1))

    assert (retries, attempts, waits) == (10, 770, 2056)
    assert METADATA["maxSecondsBetweenMessages"] == 3600 >= attempts + waits
