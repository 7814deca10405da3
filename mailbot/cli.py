"""The command line (SPEC §3): verbs, exit codes and logging set-up. No decisions here."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from mailbot.errors import MailbotError

STATES = ("queued", "failed", "sent")   # of an outgoing message
EXIT_CODES = """exit codes (every verb):
  0  done
  1  work remains: messages left unprocessed, due mail undelivered, a check failed
  2  configuration or rules error (one line: file and key)
  3  a service unreachable: mailbox, database or storage (one line: what and where)"""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="config file (default: $MAILBOT_CONFIG or ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    p = argparse.ArgumentParser(prog="mailbot", parents=[common], epilog=EXIT_CODES,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Email intake robot for a medical second-opinion office.")
    sub = p.add_subparsers(dest="verb", required=True)
    sub.add_parser("run", parents=[common], help="the daemon: poll the mailbox until SIGTERM")
    sub.add_parser("once", parents=[common], help="one full cycle, then exit")
    rules = sub.add_parser("rules", parents=[common], help="rule files")
    rules_sub = rules.add_subparsers(dest="rules_verb", required=True)
    check = rules_sub.add_parser("check", parents=[common], help="validate the rule files")
    check.add_argument("dir", nargs="?")
    cases = sub.add_parser("cases", parents=[common], help="table of cases")
    cases.add_argument("--state")
    case = sub.add_parser("case", parents=[common], help="one case in full")
    case.add_argument("ref")
    payment = sub.add_parser("payment", parents=[common], help="record a payment (same as an admin's PAID email)")
    payment.add_argument("ref")
    payment.add_argument("--amount")
    replay = sub.add_parser("replay", parents=[common], help="run one saved message through the pipeline")
    replay.add_argument("file")
    replay.add_argument("--dry-run", action="store_true")
    outbox = sub.add_parser("outbox", parents=[common], help="outgoing mail (no addresses shown); requeue")
    outbox.add_argument("--state", choices=STATES)
    outbox_sub = outbox.add_subparsers(dest="outbox_verb")
    retry = outbox_sub.add_parser("retry", parents=[common], help="send failed (or waiting) mail again now")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the outbox id shown by `mailbot outbox`")
    which.add_argument("--all-failed", action="store_true")
    demo = sub.add_parser("demo", parents=[common], help="zero-setup showcase")
    demo.add_argument("--dir", default="demo-output", help="where the demo writes its mailbox, outbox and database")
    return p


def _config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or os.environ.get("MAILBOT_CONFIG") or "config.toml")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # per-file parse chatter; findings carry what matters
    try:
        return _dispatch(args)
    except MailbotError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 1 if args.verb == "rules" else exc.exit_code
    except Exception as exc:
        from mailbot.faults import describe, infrastructure_fault
        service = infrastructure_fault(exc)
        if service is None or getattr(args, "verbose", False):
            raise   # a bug: the traceback is what a developer needs
        print(f"mailbot: {service} unavailable: {describe(exc)}", file=sys.stderr)
        return 3


def _dispatch(args: argparse.Namespace) -> int:
    if args.verb == "rules":
        return _rules_check(args)
    if args.verb == "demo":
        from mailbot.demo import run_demo
        return run_demo(Path(args.dir))

    from mailbot.app import build_app
    from mailbot.config import load_config
    config = load_config(_config_path(args))
    if args.verb == "replay":
        _readable_file(Path(args.file))
    if args.verb == "run":
        from mailbot.daemon import start_app
        app = start_app(config)
        return 0 if app is None else _run(app)
    app = build_app(config)
    if args.verb == "once":
        return _once(app)
    if args.verb == "outbox":
        return _outbox(app, args)
    if args.verb == "cases":
        from mailbot.caseview import cases_table
        print(cases_table(app, state=args.state))
        return 0
    if args.verb == "case":
        from mailbot.caseview import case_detail
        text = case_detail(app, args.ref)
        if text is None:
            print(f"mailbot: no case {args.ref}", file=sys.stderr)
            return 1
        print(text)
        return 0
    if args.verb == "replay":
        return _replay(app, Path(args.file), args.dry_run)
    if args.verb == "payment":
        return _payment(app, args.ref, args.amount)
    raise AssertionError(args.verb)


def _readable_file(path: Path) -> None:
    from mailbot.errors import ConfigError
    if not path.exists():
        raise ConfigError(f"replay: {path}: no such file")
    if not path.is_file():
        raise ConfigError(f"replay: {path}: not a file (give one saved .eml message)")


def _run(app) -> int:
    from mailbot.daemon import Worker
    worker = Worker(app)
    try:
        worker.run_forever()
        return 0
    finally:
        worker.close()


def _once(app) -> int:
    """One cycle; 3 when the mailbox, database or storage could not be used, 1 when work
    remains (messages left in the inbox, mail still queued, a reply refused for good in this
    cycle), else 0."""
    from mailbot.daemon import LOOP_SERVICES, Worker
    worker = Worker(app)
    try:
        report = worker.cycle()
    finally:
        worker.close()
    d = report.delivery
    print(f"processed {report.processed}, quarantined {report.quarantined}, errors {report.errors}, "
          f"left {report.left}; sent {d.sent}, retrying {d.retrying}, failed {d.failed}, "
          f"undelivered {report.undelivered}")
    down = [s for s in report.down if s in LOOP_SERVICES]
    if down:
        print(f"mailbot: unavailable: {', '.join(down)} (see the log above)", file=sys.stderr)
        return 3
    return 1 if report.errors or report.left or report.undelivered or d.failed else 0


def _outbox(app, args: argparse.Namespace) -> int:
    from mailbot.caseview import outbox_table
    from mailbot.outbox.queue import requeue
    if args.outbox_verb != "retry":
        print(outbox_table(app, state=args.state))
        return 0
    ids = requeue(app.sessions, app.clock, outbox_id=args.id, all_failed=args.all_failed)
    if not ids:
        what = "no failed outgoing mail" if args.all_failed else \
            f"no queued or failed outgoing mail with id {args.id} (sent mail is never sent again)"
        print(f"mailbot: {what}", file=sys.stderr)
        return 0 if args.all_failed else 1
    print(f"requeued {len(ids)} message(s): {', '.join(map(str, ids))}; `mailbot once` or the daemon sends them")
    return 0


def _rules_check(args: argparse.Namespace) -> int:
    from mailbot.rulebook import check_rules
    if args.dir:
        directory = Path(args.dir)
    else:
        directory = None
        try:
            from mailbot.config import load_config
            config = load_config(_config_path(args))
            directory = config.path(config.rules.dir)
        except MailbotError:
            from mailbot.resources import default_rules_dir
            directory = default_rules_dir()
    problems = check_rules(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"rules OK: {directory}")
    return 0


def _payment(app, ref: str, amount: str | None) -> int:
    from mailbot.workflow.commands import parse_amount
    if amount is not None and parse_amount(amount) is None:
        print(f"mailbot: --amount {amount!r} is not an amount (e.g. 500 or 518.00)", file=sys.stderr)
        return 2
    outcome = app.intake.record_payment(ref, str(parse_amount(amount)) if amount else None)
    decision = outcome.decision
    if decision is None or decision.payment is None:
        print(f"mailbot: payment not recorded: {ref} is not awaiting payment "
              f"(state {decision.state_before if decision else '?'}); admins were notified", file=sys.stderr)
        return 1
    print(f"payment recorded on {ref}: {decision.payment['amount']} (due {decision.payment['expected']})")
    for recipients, subject, _raw in outcome.replies:
        print(f"  queued to {', '.join(recipients)}: {subject}")
    return 0


def _replay(app, path: Path, dry_run: bool) -> int:
    raw = path.read_bytes()
    outcome = app.intake.process(raw, dry_run=dry_run)
    if outcome.already_done:
        print("already processed (same message seen before): nothing to do")
        return 0
    decision = outcome.decision.as_dict() if outcome.decision else {}
    for a in decision.get("attachments", []):
        a.pop("form_fields", None), a.pop("consent_fields", None)
    print(json.dumps({"dry_run": dry_run, "disposition": outcome.disposition, "case": outcome.case_ref,
                      "decision": decision}, indent=2, default=str, ensure_ascii=False))
    for recipients, subject, raw_reply in outcome.replies:
        print("\n" + "=" * 72)
        print(f"To: {', '.join(recipients)}\nSubject: {subject}\n")
        import email
        from email import policy
        msg = email.message_from_bytes(raw_reply, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        print(body.get_content() if body else "")
        names = [part.get_filename() for part in msg.iter_attachments() if part.get_filename()]
        if names:
            print("Attachments: " + ", ".join(names))
    return 0
