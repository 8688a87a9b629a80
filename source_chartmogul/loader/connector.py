"""`source-chartmogul read` in a process of its own, and its messages.

The loader runs the connector exactly as Airbyte does: the installed `source-chartmogul` command with a config, a
configured catalog and a state file, its Airbyte protocol messages on standard output, one JSON object per line. One
process per load: no `check` and no `discover` before it (a wrong key fails the read's first requests, in the
connector's words, before any table changes; the catalog comes from the packaged manifest, `catalog`).

Those files live in a folder only this user can read (the config holds the API key), removed when the read ends,
however it ends.

A RECORD line is not parsed: the stream it belongs to is read from its first bytes, which the CDK writes as
`{"type":"RECORD","record":{"stream":"<name>",`, and the line is handed as it came to that stream's table
(`tables.Spool`). Any other line, and a record line in another layout, is parsed (orjson) and yielded.
"""

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import orjson

CONNECTOR = "source-chartmogul"
RECORD_PREFIX = b'{"type":"RECORD","record":{"stream":"'
STOP_SECONDS = 5.0  # how long a connector asked to stop may take to remove its files before it is killed
REQUESTS_LINE = "Requests sent to ChartMogul: "  # the connector's last LOG line of a read (source.py)
# The connector's LOG messages passed on while it reads: its warnings (a hook skipped, a plan whose metrics cannot be
# asked for). Its ERROR lines repeat, with a traceback, the error that ends the read, which is said once.
LOG_LEVELS_SHOWN = ("WARN", "WARNING")


class ConnectorMissing(Exception):
    """No `source-chartmogul` command beside this one, in this Python's scripts folder or on PATH."""


def executable() -> str:
    """The `source-chartmogul` command installed with this package: beside the running command, in this Python's
    scripts folder, or on PATH."""
    for folder in (Path(sys.argv[0]).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / CONNECTOR).is_file():
            return str(folder / CONNECTOR)
    found = shutil.which(CONNECTOR)
    if not found:
        raise ConnectorMissing(f"`{CONNECTOR}` is not installed in this environment: reinstall the package "
                               "(pip install 'airbyte-source-chartmogul[load]').")
    return found


class ConnectorRead:
    """A read by the connector: `with ConnectorRead(...) as read: for message, line in read.messages(records): ...`.

    Leaving the `with` block before the connector ended (an error, Ctrl-C) stops it with SIGTERM, on which it removes
    its own temporary folder and ends at once (source.run), and kills it if it has not within STOP_SECONDS."""

    def __init__(self, command: str, config: Mapping[str, Any], catalog: Mapping[str, Any],
                 state: Optional[List[Mapping[str, Any]]] = None) -> None:
        self.command, self.config, self.catalog, self.state = command, config, catalog, state
        self.process: Optional[subprocess.Popen] = None
        self._folder: Optional[Path] = None
        self._stderr: Any = None

    def __enter__(self) -> "ConnectorRead":
        self._folder = Path(tempfile.mkdtemp(prefix="source-chartmogul-duckdb-"))  # mode 0700
        try:
            args = [self.command, "read"]
            for option, content in (("config", self.config), ("catalog", self.catalog), ("state", self.state)):
                if content is not None:
                    path = self._folder / f"{option}.json"
                    path.write_text(json.dumps(content))
                    args += [f"--{option}", str(path)]
            self._stderr = open(self._folder / "stderr.txt", "w+b")
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL,
                                            bufsize=1024 * 1024)
        except BaseException:
            self._clean()
            raise
        return self

    def messages(self, records: Mapping[bytes, Callable[[bytes], None]]) -> Iterator[Tuple[Dict[str, Any], bytes]]:
        """Each message of the connector but the records `records` takes ((parsed message, line as it came)). A RECORD
        of a stream in `records` (by its name, as bytes) goes to its callable, unparsed."""
        assert self.process is not None and self.process.stdout is not None
        start = len(RECORD_PREFIX)
        for line in self.process.stdout:
            if line.startswith(RECORD_PREFIX):
                take = records.get(line[start:line.find(b'"', start)])
                if take is not None:
                    take(line)
                    continue
            if not line.strip():
                continue
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:  # not a protocol message: what a library printed
                message = {"type": "TEXT", "text": line.decode(errors="replace").rstrip()}
            if not isinstance(message, dict):
                message = {"type": "TEXT", "text": line.decode(errors="replace").rstrip()}
            yield message, line

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()

    def stderr_tail(self, characters: int = 2000) -> str:
        """The end of what the connector wrote on its standard error (a crash's traceback)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-characters:].strip()

    def stop(self) -> None:
        """End the connector if it still runs: SIGTERM, then SIGKILL after STOP_SECONDS."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        if process.stdout is not None:
            process.stdout.close()  # a connector blocked writing to us gets EPIPE instead of waiting
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __exit__(self, *exc: Any) -> None:
        try:
            self.stop()
        finally:
            self._clean()

    def _clean(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


@dataclass
class Outcome:
    """What a read said besides its records."""

    states: Dict[str, Any] = field(default_factory=dict)  # stream → the `state` of its last STATE message
    error: Optional[str] = None  # the first error the connector reported: the read stops there
    requests: Optional[str] = None  # the connector's line on the requests it sent


def follow(read: ConnectorRead, records: Mapping[bytes, Callable[[bytes], None]], status: Callable[[str, str], None],
           say: Callable[[str], None], check: Callable[[], None]) -> Outcome:
    """Read the connector's messages until it ends or reports an error: records to `records` (by stream), each
    STREAM_STATUS to `status(stream, status)`, its warnings and any text it printed to `say` (each once); `check` runs
    at each message that is not a record (a Ctrl-C that something turned into something else stops the read there)."""
    outcome, said = Outcome(), set()

    def say_once(line: str) -> None:
        if line not in said:
            said.add(line)
            say(line)

    for message, line in read.messages(records):
        check()
        kind = message.get("type")
        if kind == "RECORD":  # in another layout than RECORD_PREFIX
            take = records.get(str((message.get("record") or {}).get("stream")).encode())
            if take is not None:
                take(line)
        elif kind == "STATE":
            state = message.get("state") or {}
            outcome.states[((state.get("stream") or {}).get("stream_descriptor") or {}).get("name")] = state
        elif kind == "TRACE" and (message["trace"].get("stream_status") or {}).get("status"):
            stream_status = message["trace"]["stream_status"]
            status(stream_status["stream_descriptor"]["name"], stream_status["status"])
        elif kind == "TRACE" and message["trace"].get("error"):
            outcome.error = message["trace"]["error"].get("message") or "the connector reported an error"
            return outcome  # the load fails whatever the other streams do: stop now, not after reading them
        elif kind == "LOG":
            log = message.get("log") or {}
            text = str(log.get("message", ""))
            if text.startswith(REQUESTS_LINE):
                outcome.requests = text
            elif log.get("level") in LOG_LEVELS_SHOWN:
                say_once(f"{CONNECTOR}: {text.splitlines()[0] if text else text}")
        elif kind == "TEXT":
            say_once(f"{CONNECTOR}: {message['text']}")
    return outcome


def stopped_by_signal(status: int) -> bool:
    return status in (-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM)

