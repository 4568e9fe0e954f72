"""Text from a policy file or an account never reaches the terminal raw: control characters
(an ESC that retitles the window or clears the screen, a bell) and the bidirectional overrides
of "Trojan Source" are shown as escapes in every console output."""

from __future__ import annotations

import json

from validator.cli import main
from validator.findings import Finding
from validator.render import console, lint_console
from validator.render.common import visible

HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\u202e"


def test_visible_escapes_controls_and_bidi_overrides_and_keeps_the_rest():
    assert visible(HOSTILE) == "\\x1b]0;PWNED\\x07\\x1b[2J\\u202e"
    assert visible("ec2:DescribeInstances é ✓") == "ec2:DescribeInstances é ✓"


def test_lint_shows_a_raw_control_character_escaped_with_the_caret_under_it(tmp_path, capsys):
    p = tmp_path / "policy.json"
    before = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get'
    p.write_text(before + HOSTILE + '","Resource":"*"}]}')
    assert main(["lint", str(p)]) == 2
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert lines[0].startswith(f"{p}:1:{len(before) + 1}: error[lint-not-json]: ")
    src, caret = lines[1], lines[2]
    assert "s3:Get\\x1b]0;PWNED\\x07\\x1b[2J\\u202e" in src
    assert src.index("\\x1b") == caret.index("^")


def finding(**over) -> Finding:
    base = dict(
        rule_id="queue-instance-key-pair",
        title="t",
        severity="high",
        status="fail",
        resource_type="AWS::EC2::Instance",
        resource_id="i-1",
        resource_name="valohai-i-queue",
        message=f"key pair {HOSTILE!s} does not exist",
        expected=f"{HOSTILE}",
        actual=f"a{HOSTILE}",
        fixable=False,
        fix="f",
    )
    return Finding(**{**base, **over})


def test_check_console_escapes_what_the_account_holds():
    text = console.render(
        [finding(resource_name=f"valohai-i-queue{HOSTILE}")],
        {"account_id": "123456789012", "region": f"eu-west-1{HOSTILE}"},
    )
    assert "\x1b" not in text and "\u202e" not in text
    assert "key pair \\x1b]0;PWNED\\x07\\x1b[2J\\u202e does not exist" in text
    assert "valohai-i-queue\\x1b" in text and "eu-west-1\\x1b" in text


def test_lint_console_escapes_file_names_and_messages():
    f = finding(file=f"evil{HOSTILE}.json", line=None, column=None, status="warn", severity="medium")
    text = lint_console.render([f], {"sources": {}})
    assert "\x1b" not in text and "\u202e" not in text
    assert text.startswith("evil\\x1b]0;PWNED\\x07\\x1b[2J\\u202e.json: warning[queue-instance-key-pair]: ")


def test_remediate_plan_console_escapes_resource_names():
    from validator.fixers.plan import FIX, Plan, Step
    from validator.render import plan as plan_render

    fields = Step.__dataclass_fields__
    step = Step(
        **{
            k: v
            for k, v in dict(
                id=1,
                risk=FIX,
                resource=f"sg{HOSTILE}",
                summary="add a rule",
                rule="sg-queue-ingress-http",
                call="ec2.authorize_security_group_ingress",
                arguments={"GroupId": "sg-1"},
            ).items()
            if k in fields
        }
    )
    text = plan_render.console(Plan(steps=[step]), {"account_id": "123456789012", "region": "eu-west-1"})
    assert "\x1b" not in text and "sg\\x1b]0;PWNED" in text
    assert json.loads(plan_render.as_json(Plan(steps=[step])))  # the JSON plan keeps the data as it is


def test_an_error_naming_a_file_with_control_characters_is_one_escaped_line(tmp_path, capsys):
    # an independent tester: a file name with ESC and a newline reached the terminal raw, on two lines
    p = tmp_path / "bad\x1b[31m\n\u202e.yaml"
    p.write_text("{}\n")
    assert main(["check", "--params", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\u202e" not in err
    assert err.startswith(f"vhv: {tmp_path}/bad\\x1b[31m\\x0a\\u202e.yaml: ")


def test_markdown_and_html_reports_carry_no_raw_control_characters():
    # an independent tester: `vhv check --format markdown` (or html) printed to a terminal sent ESC raw
    from validator.render import renderer

    for fmt in ("markdown", "html"):
        text = renderer(fmt)([finding()], {"account_id": "123456789012", "region": "eu-west-1"})
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, fmt
        assert "\\x1b]0;PWNED" in text and "\n" in text, fmt


def test_each_line_of_the_check_console_is_read_on_its_own_whatever_the_line_before_ends_with():
    # the report is printed in one call; text such as "[bold" or a backslash at the end of one
    # line must not join the next line's markup (styles, emoji codes) as it never could
    import io

    from rich.console import Console

    def lines(findings: list[Finding], intro: tuple[str, list[str]] | None = None) -> list[str]:
        buf = io.StringIO()
        con = Console(
            file=buf, force_terminal=True, color_system="truecolor", width=100, highlight=False, soft_wrap=True
        )
        console.print_report(findings, {"account_id": "1", "region": "r"}, console=con, intro=intro)
        return buf.getvalue().splitlines()

    after = finding(rule_id="queue-instance-exists", message="gone :smile: [x]", expected="e", actual="z")
    alone = lines([after])
    for end in ("[", "[bold", "[bold red", "[/", "a\\", "\\", ":smile", "[link=http://x", "[dim]"):
        before = finding(message=f"m {end}", expected=f"e {end}", actual=f"{end}", fix=f"f {end}")
        got = lines([before, after])
        assert got[3 - len(alone) : -1] == alone[3:-1], end  # the next finding's lines
        assert "\x1b[1;31mFAIL \x1b[0m" in got[3]  # and its own line keeps its styles
    assert lines([after], ("t", ["a [bold", "x] [link=http://y", "z]"]))[1:4] == [
        "  - a [bold",
        "  - x] [link=http://y",
        "  - z]",
    ]
