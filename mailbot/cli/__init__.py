"""The command line: `main` parses the verbs (main.py), `views` prints cases and the outbox, `status`
tells a healthy office from a degraded one, `logs` sets up what the operator reads, `demo` is the
zero-setup showcase."""

from mailbot.cli.main import main

__all__ = ["main"]
