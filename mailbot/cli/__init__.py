"""The command line: `main` parses the verbs (main.py), `views` prints cases and the outbox, `demo` is the
zero-setup showcase."""

from mailbot.cli.main import main

__all__ = ["main"]
