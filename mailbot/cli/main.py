"""The command line: verbs, exit codes and logging set-up. No decisions here."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mailbot import __version__
from mailbot.errors import MailbotError

STATES = ("queued", "failed", "sent")   # of an outgoing message
EXIT_CODES = """exit codes (every verb):
  0  done
  1  work remains: messages left unprocessed, due mail undelivered, a check failed
  2  configuration or rules error (one line: file and key)
  3  a service unreachable: mailbox, database, storage (SMTP for auth check); one line: what and where"""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="config file (default: $MAILBOT_CONFIG or ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log debugging detail too (still no patient data)")
    common.add_argument("--log-format", choices=("text", "json"), default=argparse.SUPPRESS,
                        help="text, or json: one JSON object per line, for log collectors "
                             "(default: $MAILBOT_LOG_FORMAT, else text)")
    p = argparse.ArgumentParser(prog="mailbot", parents=[common], epilog=EXIT_CODES,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Email intake robot for a medical second-opinion office.")
    p.add_argument("--version", action="version", version=f"mailbot {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB", help="what to do (mailbot VERB --help)")
    sub.add_parser("run", parents=[common], help="the daemon: poll the mailbox until SIGTERM")
    sub.add_parser("once", parents=[common], help="one full cycle, then exit")
    rules = sub.add_parser("rules", parents=[common], help="rule files")
    rules_sub = rules.add_subparsers(dest="rules_verb", required=True, metavar="ACTION", help="check or init")
    check = rules_sub.add_parser("check", parents=[common], help="validate the rule files")
    check.add_argument("dir", nargs="?", help="the folder to check (default: [rules] dir of the config)")
    init = rules_sub.add_parser("init", parents=[common], help="write the default rule files into a folder, to edit")
    init.add_argument("dir", help="the folder to create (an existing rule file there is never overwritten)")
    cases = sub.add_parser("cases", parents=[common], help="table of cases")
    _state_option(cases)
    case = sub.add_parser("case", parents=[common], help="one case in full")
    case.add_argument("ref", help="the case reference, e.g. SO-2026-00042")
    case.add_argument("--set-email", nargs=2, metavar=("ROLE", "ADDRESS"),
                      help="record a corrected address for the requestor or the patient (same as an admin's "
                           "EMAIL email); the last mail that bounced is sent to it again")
    payment = sub.add_parser("payment", parents=[common], help="record a payment (same as an admin's PAID email)")
    payment.add_argument("ref", help="the case reference, e.g. SO-2026-00042")
    payment.add_argument("--amount", help="the amount received, e.g. 518.00 (default: the amount due)")
    replay = sub.add_parser("replay", parents=[common], help="run one saved message through the pipeline")
    replay.add_argument("file", help="the message, as a .eml file")
    replay.add_argument("--dry-run", action="store_true", help="print the decision and the replies, change nothing")
    outbox = sub.add_parser("outbox", parents=[common], help="outgoing mail (no addresses shown); requeue")
    outbox.add_argument("--state", choices=STATES, help="only mail in this state")
    outbox_sub = outbox.add_subparsers(dest="outbox_verb", metavar="ACTION", help="retry")
    retry = outbox_sub.add_parser("retry", parents=[common], help="send failed (or waiting) mail again now")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the outbox id shown by `mailbot outbox`")
    which.add_argument("--all-failed", action="store_true", help="every failed message")
    db = sub.add_parser("db", parents=[common], help="the database schema")
    db_sub = db.add_subparsers(dest="db_verb", required=True, metavar="ACTION", help="upgrade or check")
    db_sub.add_parser("upgrade", parents=[common], help="create the database or migrate it to this version's schema")
    db_sub.add_parser("check", parents=[common], help="exit 0 when the schema is this version's, 1 otherwise")
    auth = sub.add_parser("auth", parents=[common], help="mailbox logins")
    auth_sub = auth.add_subparsers(dest="auth_verb", required=True, metavar="ACTION", help="check")
    auth_sub.add_parser("check", parents=[common],
                        help="log in to IMAP and SMTP now and say as whom (exit 3: a server refused)")
    status = sub.add_parser("status", parents=[common],
                            help="is the office healthy? mailbox, schema, outbox, quarantine, deadlines "
                                 "(exit 0 healthy, 1 degraded)")
    status.add_argument("--json", action="store_true", help="one JSON object, for monitoring")
    demo = sub.add_parser("demo", parents=[common], help="zero-setup showcase")
    demo.add_argument("--dir", default="demo-output", help="where the demo writes its mailbox, outbox and database")
    return p


def _state_option(cases: argparse.ArgumentParser) -> None:
    """`cases --state S`: only real case states (argparse lists them and exits 2 on another)."""
    from mailbot.workflow.model import CLOSED_STATES, OPEN_STATES
    states = [*OPEN_STATES, *CLOSED_STATES]
    cases.add_argument("--state", choices=states, metavar="STATE",
                       help=f"only cases in this state: {', '.join(states)}")


def office_addresses(config) -> list[str]:
    """What logs may name: the office's From, every mailbox login ([imap] or each [[mailboxes]]
    entry), the SMTP login and every hospital's addresses, so a log line says which mailbox to
    fix. Rules that do not load add no hospital (`rules check` and the start say why)."""
    from mailbot.errors import MailbotError
    from mailbot.rulebook import load_rulebook
    own = [config.office.address, config.smtp and config.smtp.username]
    own += [one.imap.username for _name, one in config.mailbox_configs() if one.imap is not None]
    try:
        rulebook = load_rulebook(config.path(config.rules.dir))
    except (MailbotError, OSError):
        return own
    return own + [str(a) for hospital in rulebook.hospitals.values() for a in hospital.addresses]


def _config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or os.environ.get("MAILBOT_CONFIG") or "config.toml")


PRIVATE_UMASK = 0o077   # files 0600, folders 0700: the database, store and outbox hold patient data


def main(argv: list[str] | None = None) -> int:
    previous_umask = os.umask(PRIVATE_UMASK)
    try:
        return _main(argv)
    finally:
        os.umask(previous_umask)   # for callers in the same process (tests); a CLI run just exits


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    from mailbot.cli.logs import setup_logging
    log_format = getattr(args, "log_format", None) or os.environ.get("MAILBOT_LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        print(f"mailbot: MAILBOT_LOG_FORMAT={log_format!r}: use text or json", file=sys.stderr)
        return 2
    setup_logging(verbose=getattr(args, "verbose", False), log_format=log_format)
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
    if args.verb == "db":
        return _db(args)
    if args.verb == "demo":
        from mailbot.cli.demo import run_demo
        return run_demo(Path(args.dir))

    from mailbot.config import load_config
    from mailbot.cli.logs import use_office_zone
    from mailbot.faults import keep_office_addresses
    config = load_config(_config_path(args))
    use_office_zone(config.office.zone)
    keep_office_addresses(office_addresses(config))
    if args.verb == "status":
        return _status(config, as_json=args.json)
    if args.verb == "auth":
        from mailbot.auth.check import check_logins
        code, lines = check_logins(config)
        print("\n".join(lines))
        return code
    if args.verb == "replay":
        _readable_file(Path(args.file))
    if args.verb == "run":
        from mailbot.daemon import start_app
        app = start_app(config)
        return 0 if app is None else _run(app)
    from mailbot.app import build_app
    app = build_app(config)
    if args.verb == "once":
        return _once(app)
    if args.verb == "outbox":
        return _outbox(app, args)
    if args.verb == "cases":
        from mailbot.cli.views import cases_table
        print(cases_table(app, state=args.state))
        return 0
    if args.verb == "case" and args.set_email:
        return _set_email(app, args.ref, *args.set_email)
    if args.verb == "case":
        from mailbot.cli.views import case_detail
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


def _status(config, *, as_json: bool) -> int:
    """0 healthy, 1 degraded: what monitoring needs, without the daemon's help."""
    from mailbot.cli.status import gather_status
    status = gather_status(config)
    print(json.dumps(status.as_dict(), indent=2, ensure_ascii=False) if as_json else status.text())
    return 0 if status.healthy else 1


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
    from mailbot.daemon import Worker, is_loop_service
    worker = Worker(app)
    try:
        report = worker.cycle()
    finally:
        worker.close()
    d = report.delivery
    print(f"processed {report.processed}, quarantined {report.quarantined}, errors {report.errors}, "
          f"left {report.left}; sent {d.sent}, retrying {d.retrying}, failed {d.failed}, "
          f"undelivered {report.undelivered}")
    down = [s for s in report.down if is_loop_service(s)]
    if down:
        print(f"mailbot: unavailable: {', '.join(down)} (see the log above)", file=sys.stderr)
        return 3
    return 1 if report.errors or report.left or report.undelivered or d.failed else 0


def _outbox(app, args: argparse.Namespace) -> int:
    from mailbot.cli.views import outbox_table
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
    """Check exactly the folder asked for: DIR, else the config's [rules] dir. A config that does
    not load is an error (exit 2), never a reason to check some other folder."""
    if args.rules_verb == "init":
        return _rules_init(Path(args.dir))
    from mailbot.rulebook import check_rules
    if args.dir:
        directory = Path(args.dir)
    else:
        from mailbot.config import load_config
        try:
            config = load_config(_config_path(args))
        except MailbotError as exc:
            print(f"mailbot: {exc}\nmailbot: cannot tell which rules folder to check; "
                  "fix the config or name the folder: mailbot rules check DIR", file=sys.stderr)
            return 2
        directory = config.path(config.rules.dir)
    problems = check_rules(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"rules OK: {directory}")
    return 0


def _rules_init(directory: Path) -> int:
    from mailbot.resources import copy_default_rules
    try:
        written = copy_default_rules(directory)
    except MailbotError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} rule files to {directory}: {', '.join(p.name for p in written)}")
    print(f"edit them, then: mailbot rules check {directory}")
    return 0


def _db(args: argparse.Namespace) -> int:
    """`db upgrade` / `db check`: on the config's database only, without rules or templates."""
    from sqlalchemy.exc import OperationalError

    from mailbot.config import load_config
    from mailbot.store.database import make_engine, sqlite_file
    from mailbot.store.schema import schema_state, upgrade
    config = load_config(_config_path(args))
    missing = sqlite_file(config.database_url)
    if args.db_verb == "check" and missing is not None and not missing.exists():
        print(f"no database at {missing}; `mailbot db upgrade` creates it")
        return 1
    engine = make_engine(config.database_url)
    try:
        if args.db_verb == "check":
            state = schema_state(engine)
            print(state.describe())
            return 0 if state.at_head else 1
        before, after = upgrade(engine)
        print(f"was: {before.describe()}\nnow: {after.describe()}")
        return 0
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        print(f"mailbot: database {where} unreachable: {type(exc.orig).__name__}", file=sys.stderr)
        return 3
    finally:
        engine.dispose()


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


def _set_email(app, ref: str, role: str, address: str) -> int:
    from mailbot.workflow.commands import EMAIL_ROLES, parse_command
    command = parse_command(f"EMAIL {role} {address}")
    if command is None or role.lower() not in EMAIL_ROLES:
        print(f"mailbot: --set-email wants a role ({', '.join(sorted(set(EMAIL_ROLES.values())))}) and an "
              f"address, e.g. --set-email patient maria.rossi@example.org", file=sys.stderr)
        return 2
    outcome = app.intake.set_email(ref, command.args[0], command.args[1])
    delivery = outcome.decision.delivery if outcome.decision else None
    if delivery is None:
        print(f"mailbot: address not changed on {ref}; see `mailbot case {ref}`", file=sys.stderr)
        return 1
    print(f"{ref}: {command.args[0]} address is now {command.args[1]}")
    if delivery.resend:
        print("  the last mail that bounced is queued to it again; `mailbot once` or the daemon sends it")
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
