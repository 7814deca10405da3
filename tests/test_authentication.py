from mailbot.checks.authentication import sender_authenticated
from mailbot.parse import parse_message

OURS = "mx.hospital.example.org"


def msg(*auth_headers: str, sender="francesca.rinaldi@example.org"):
    head = "".join(f"Authentication-Results: {h}\r\n" for h in auth_headers)
    return parse_message((head + f"From: {sender}\r\nSubject: Re: x\r\n\r\nAPPROVE\r\n").encode())


def test_dkim_or_spf_pass_from_our_own_server_counts():
    assert sender_authenticated(msg(f"{OURS}; dkim=pass header.d=example.org header.s=sel"), OURS)
    assert sender_authenticated(msg(f"{OURS}; spf=pass smtp.mailfrom=francesca.rinaldi@example.org"), OURS)
    assert sender_authenticated(msg(f"{OURS};\r\n dkim=pass (2048-bit key) header.d=example.org"), OURS)


def test_forged_failing_or_foreign_verdicts_do_not_count():
    assert not sender_authenticated(msg("evil.example.net; dkim=pass header.d=example.org"), OURS)
    assert not sender_authenticated(msg(f"{OURS}; dkim=fail header.d=example.org; spf=softfail smtp.mailfrom=x@example.org"), OURS)
    assert not sender_authenticated(msg(f"{OURS}; dkim=pass header.d=attacker.example.net"), OURS)
    assert not sender_authenticated(msg(), OURS)
    assert not sender_authenticated(msg(f"{OURS}; dkim=pass header.d=example.org"), "")


def test_a_forged_pass_below_our_servers_fail_does_not_count():
    ours_fail = f"{OURS}; dkim=fail header.d=example.org; spf=fail smtp.mailfrom=x@example.org"
    forged_pass = f"{OURS}; dkim=pass header.d=example.org; spf=pass smtp.mailfrom=x@example.org"
    assert not sender_authenticated(msg(ours_fail, forged_pass), OURS)
    # below a header of another server nothing counts, even with our id
    assert not sender_authenticated(msg("relay.example.net; dkim=pass header.d=example.org", forged_pass), OURS)
    # our server may write more than one header at the top: each method's topmost verdict counts
    assert sender_authenticated(msg(f"{OURS}; spf=none", f"{OURS}; dkim=pass header.d=example.org"), OURS)
    assert not sender_authenticated(msg("garbage without structure ;;; =", forged_pass), OURS)


def test_the_pass_must_be_for_the_from_domain():
    assert not sender_authenticated(msg(f"{OURS}; spf=pass smtp.mailfrom=someone@attacker.example.net"), OURS)
    assert not sender_authenticated(msg(f"{OURS}; dkim=pass header.d=sub.example.org"), OURS)
    assert sender_authenticated(msg(f"{OURS}; dkim=pass header.i=@example.org"), OURS)
