"""Issued documents carry the deployment's seal: invisible PAdES, appended, checkable."""

from __future__ import annotations

import hashlib
import io
import re
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pypdf import PdfReader, PdfWriter
from pypdf.generic import StreamObject
from typer.testing import CliRunner

from infrastructure.documents.cli import app
from infrastructure.documents.seal import PadesSeal, development_seal, make_seal, verify

MARKER = b"BescheidVORGANG4711"


@pytest.fixture(scope="module")
def seal_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One seal for the module: making an RSA-3072 key is the slow part."""
    return make_seal(tmp_path_factory.mktemp("seal"), "Stadt Usingen")


@pytest.fixture(scope="module")
def seal(seal_files: tuple[Path, Path]) -> PadesSeal:
    return PadesSeal.from_files(*seal_files)


@pytest.fixture(scope="module")
def certificate(seal_files: tuple[Path, Path]) -> bytes:
    return seal_files[1].read_bytes()


def small_pdf() -> bytes:
    """One blank page whose title (stored in clear) is the marker."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": MARKER.decode()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_sealed_document_checks_intact_valid_and_trusted(
    seal: PadesSeal, certificate: bytes
) -> None:
    sealed = seal.seal(small_pdf(), reason="Bescheid Nr. 1", location="Usingen")
    check = verify(sealed, certificate)
    assert check.sealed
    assert check.intact
    assert check.valid
    assert check.trusted
    assert check.covers_whole_file
    assert check.signer == "CN=Vorgang Siegel,O=Stadt Usingen"
    assert check.ok


def test_the_seal_is_appended_and_the_content_unchanged(seal: PadesSeal) -> None:
    original = small_pdf()
    sealed = seal.seal(original, reason="Bescheid Nr. 1", location="Usingen")
    assert len(sealed) > len(original)
    assert sealed.startswith(original)
    assert PdfReader(io.BytesIO(sealed)).metadata.title == MARKER.decode()  # type: ignore[union-attr]


def test_one_byte_changed_inside_the_sealed_range_breaks_the_seal(
    seal: PadesSeal, certificate: bytes
) -> None:
    sealed = seal.seal(small_pdf(), reason="Bescheid Nr. 1", location="Usingen")
    at = sealed.index(MARKER) + len(MARKER) - 1
    changed = sealed[:at] + b"2" + sealed[at + 1 :]
    check = verify(changed, certificate)
    assert check.sealed
    assert not check.intact
    assert not check.ok


def test_bytes_appended_after_the_seal_are_reported(seal: PadesSeal, certificate: bytes) -> None:
    sealed = seal.seal(small_pdf(), reason="Bescheid Nr. 1", location="Usingen")
    check = verify(sealed + b"\n% nachgetragen\n", certificate)
    assert check.intact
    assert not check.covers_whole_file
    assert not check.ok


def test_a_seal_is_trusted_only_against_its_own_certificate(
    seal: PadesSeal, tmp_path: Path
) -> None:
    _key, stranger = make_seal(tmp_path, "Gemeinde Schmitten")
    sealed = seal.seal(small_pdf(), reason="Bescheid Nr. 1", location="Usingen")
    check = verify(sealed, stranger.read_bytes())
    assert check.intact
    assert check.valid
    assert not check.trusted
    assert not check.ok


def test_an_unsealed_document_is_reported_as_such(certificate: bytes) -> None:
    check = verify(small_pdf(), certificate)
    assert not check.sealed
    assert check.problem == "the file carries no seal"


def test_a_pdf_a_from_weasyprint_keeps_its_identification_when_sealed(
    seal: PadesSeal, certificate: bytes
) -> None:
    from weasyprint import HTML

    html = "<html lang='de'><body><p>Bescheid über die Sondernutzung</p></body></html>"
    original = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    assert original is not None
    sealed = seal.seal(original, reason="Bescheid Nr. 1", location="Usingen")
    assert sealed.startswith(original)
    metadata = PdfReader(io.BytesIO(sealed)).root_object["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    assert b'pdfaid:part="3"' in metadata.get_data()  # pyHanko rewrote the XMP, kept the claim
    assert verify(sealed, certificate).ok


def test_the_description_names_the_kind_the_subject_and_the_fingerprint(
    seal: PadesSeal, certificate: bytes
) -> None:
    der = x509.load_pem_x509_certificate(certificate).public_bytes(Encoding.DER)
    assert seal.description == (
        "fortgeschrittenes elektronisches Siegel; CN=Vorgang Siegel,O=Stadt Usingen; "
        f"SHA-256 {hashlib.sha256(der).hexdigest()[:16]}"
    )


def test_the_seal_key_is_readable_by_its_owner_only(seal_files: tuple[Path, Path]) -> None:
    key_path, cert_path = seal_files
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment  # nonRepudiation
    assert not usage.key_cert_sign
    assert certificate.public_key().key_size == 3072  # type: ignore[union-attr]
    years = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days / 365.25
    assert 9.9 < years < 10.1


def test_a_seal_is_never_overwritten(seal_files: tuple[Path, Path]) -> None:
    key_path, _cert = seal_files
    before = key_path.read_bytes()
    with pytest.raises(FileExistsError):
        make_seal(key_path.parent, "Stadt Usingen")
    assert key_path.read_bytes() == before


def test_the_development_seal_is_made_once(tmp_path: Path) -> None:
    first = development_seal(tmp_path)
    assert (tmp_path / "seal" / "seal-key.pem").exists()
    assert development_seal(tmp_path).description == first.description


def test_the_cli_makes_a_seal_and_an_auditor_checks_a_document(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["new-seal", "--dir", str(tmp_path / "seal"), "--organisation", "Stadt Usingen"]
    )
    assert made.exit_code == 0, made.output
    key_line = re.search(r"VORGANG_SEAL_KEY_FILE=(\S+)", made.output)
    cert_line = re.search(r"VORGANG_SEAL_CERTIFICATE_FILE=(\S+)", made.output)
    assert key_line
    assert cert_line
    seal = PadesSeal.from_files(key_line[1], cert_line[1])
    document = tmp_path / "bescheid.pdf"
    document.write_bytes(seal.seal(small_pdf(), reason="Bescheid Nr. 1", location="Usingen"))

    good = runner.invoke(app, ["verify", str(document), "--certificate", cert_line[1]])
    assert good.exit_code == 0, good.output
    assert "seal OK" in good.output

    sealed = document.read_bytes()
    at = sealed.index(MARKER)
    document.write_bytes(sealed[:at] + b"b" + sealed[at + 1 :])
    bad = runner.invoke(app, ["verify", str(document), "--certificate", cert_line[1]])
    assert bad.exit_code == 1
    assert "intact:            NO" in bad.output

    again = runner.invoke(
        app, ["new-seal", "--dir", str(tmp_path / "seal"), "--organisation", "Stadt Usingen"]
    )
    assert again.exit_code == 2
