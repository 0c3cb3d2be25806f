"""Bearer-token parsing and checks (no server): file lines, env pairs, tenants' services."""

from __future__ import annotations

import pytest
from voxgate import auth


def test_token_file_lines_become_tenants_by_digest():
    text = (
        "# comment\n\n"
        f"acme {auth.digest('a' * 20)}\n"
        f"kiosk {auth.digest('k' * 20)} SynthesisService,ChatService  # trailing comment\n"
    )
    entries = auth.parse_token_file(text)
    assert entries[auth.digest("a" * 20)] == auth.Tenant("acme")
    kiosk = entries[auth.digest("k" * 20)]
    assert kiosk.may_call("voxgate.v1.ChatService") and not kiosk.may_call(
        "voxgate.v1.TokenizerService"
    )


@pytest.mark.parametrize(
    "line",
    [
        "acme secret-in-plain-text",
        "acme sha256:abc",
        "bad name! sha256:" + "0" * 64,
        "acme sha256:" + "0" * 64 + " A B",
    ],
)
def test_bad_token_file_lines_name_their_line(line):
    with pytest.raises(ValueError, match=r"tokens\.txt line 2: expected"):
        auth.parse_token_file("# ok\n" + line, "tokens.txt")


def test_a_token_listed_twice_is_refused():
    line = f"acme {auth.digest('x' * 20)}\n"
    with pytest.raises(ValueError, match="line 2: the same token is listed twice"):
        auth.parse_token_file(line + line.replace("acme", "other"))


def test_env_tokens_are_hashed_and_must_be_long():
    entries = auth.parse_env_tokens("ops=" + "o" * 16 + ", ci=" + "c" * 30)
    assert {t.name for t in entries.values()} == {"ops", "ci"}
    assert auth.digest("o" * 16) in entries and "o" * 16 not in str(entries)
    with pytest.raises(ValueError, match="16\\+ characters"):
        auth.parse_env_tokens("ops=short")


def test_authenticate_reads_the_bearer_scheme_case_insensitively():
    checker = auth.TokenAuth(env_tokens="ops=" + "o" * 16)
    service = "voxgate.v1.TokenizerService"
    assert checker.authenticate(service, [("authorization", "bearer " + "o" * 16)]) == "ops"
    assert checker.authenticate("grpc.health.v1.Health", []) == ""  # open by default
    for metadata, says in [
        ([], "missing credentials"),
        ([("authorization", "Basic b3BzOnB3")], "missing credentials"),
        ([("authorization", "Bearer " + "x" * 16)], "invalid token"),
    ]:
        with pytest.raises(auth.Unauthenticated, match=says):
            checker.authenticate(service, metadata)


def test_no_tokens_means_no_auth_and_unknown_open_names_are_refused(tmp_path):
    assert auth.from_settings(None, "health", {}) is None
    empty = tmp_path / "t.txt"
    empty.write_text("# nobody yet\n")
    with pytest.raises(ValueError, match="no tokens are configured"):
        auth.from_settings(empty, "health", {})
    with pytest.raises(ValueError, match="unknown \\['metrics'\\]"):
        auth.TokenAuth(env_tokens="ops=" + "o" * 16, open_services=["metrics"])
