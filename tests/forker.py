"""A fork server for the crash test: imports mailbot once, then starts `mailbot once` processes in
milliseconds, so that twenty SIGKILLs at random moments fit in seconds, not minutes of imports.

    python tests/forker.py CONFIG
stdin "once" -> forks a child that runs `mailbot --config CONFIG once` (its stdout to /dev/null,
its log to our stderr) and prints the child's pid; stdin "wait PID" -> prints its exit code
(negative: killed by that signal). The forker itself has one thread, so forking is safe.
"""

from __future__ import annotations

import os
import sys

import psycopg  # noqa: F401  (imported before forking, like everything the child needs)
import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
import sqlalchemy.dialects.sqlite  # noqa: F401

import mailbot.app  # noqa: F401
import mailbot.daemon  # noqa: F401
import mailbot.mailbox.imap  # noqa: F401
import mailbot.outbox.smtp  # noqa: F401
from mailbot.app import build_app
from mailbot.documents.blank_forms_cache import blank_form
from mailbot.cli import main
from mailbot.config import load_config


def child(config: str) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    code = 70
    try:
        code = main(["--config", config, "once"])
    finally:
        os._exit(code)


def serve(config: str) -> None:
    for form in ("request_form", "consent_form"):
        for language in ("en", "it"):
            blank_form(form, language)   # built once here, inherited by every child
    # what the first build of the app loads lazily, loaded here; no connection is kept open
    build_app(load_config(config)).sessions.kw["bind"].dispose()
    print("ready", flush=True)
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "once":
            pid = os.fork()
            if pid == 0:
                child(config)
            print(pid, flush=True)
        elif command == "wait":
            _pid, status = os.waitpid(int(rest[0]), 0)
            print(os.waitstatus_to_exitcode(status), flush=True)


if __name__ == "__main__":
    serve(sys.argv[1])
