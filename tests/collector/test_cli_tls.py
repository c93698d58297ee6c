"""`fernwart-collector serve --tls-cert --tls-key`: unusable files are refused by name before serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from fernwart.collector.cli import main
from tests.tlscerts import issue, make_ca


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return issue(make_ca(tmp_path), tmp_path)


def serve(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["serve", "--port", "1", *args])
    return code, capsys.readouterr().err


def test_a_key_of_another_certificate_is_refused(
    tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, other_key = issue(make_ca(tmp_path / "other"), tmp_path / "other")
    code, err = serve(capsys, "--tls-cert", str(pair[0]), "--tls-key", str(other_key))
    assert code == 2
    assert err == (f"fernwart-collector: --tls-key {other_key} does not belong to --tls-cert {pair[0]} "
                   "(key values mismatch)\n")


@pytest.mark.parametrize("which", ["cert", "key"])
def test_a_missing_file_is_named(
    tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str], which: str
) -> None:
    cert, key = pair
    missing = tmp_path / "nope.pem"
    args = ["--tls-cert", str(missing if which == "cert" else cert),
            "--tls-key", str(missing if which == "key" else key)]
    code, err = serve(capsys, *args)
    assert code == 2
    assert err == f"fernwart-collector: --tls-{which} {missing}: cannot read it: No such file or directory\n"


def test_an_unreadable_key_is_named(
    tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cert, _ = pair
    code, err = serve(capsys, "--tls-cert", str(cert), "--tls-key", str(tmp_path))  # a directory
    assert code == 2 and err.startswith(f"fernwart-collector: --tls-key {tmp_path}: cannot read it: ")


def test_a_file_that_is_not_pem_is_named(
    tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    code, err = serve(capsys, "--tls-cert", str(junk), "--tls-key", str(pair[1]))
    assert (code, err) == (2, f"fernwart-collector: --tls-cert {junk}: not a PEM file with a certificate\n")
    code, err = serve(capsys, "--tls-cert", str(pair[0]), "--tls-key", str(pair[0]))
    assert (code, err) == (2, f"fernwart-collector: --tls-key {pair[0]}: not a PEM file with a private key\n")


def test_cert_and_key_go_together(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, err = serve(capsys, "--tls-cert", str(pair[0]))
    assert code == 2 and "--tls-cert and --tls-key go together" in err
