"""The deployment's electronic seal on issued documents: PAdES with pyHanko.

What this seal is, legally: an *advanced* electronic seal (fortgeschrittenes elektronisches
Siegel, Art. 36 eIDAS) made with a key the deployment holds itself. It proves that the
document came from this deployment and was not changed since, to anyone holding the seal's
certificate; it is *not* a qualified seal (Art. 35 (2) eIDAS), which needs a qualified
certificate and a qualified signature creation device from a trust service provider. A
qualified seal plugs in behind the same ``Seal`` port (application/document_ports.py): a
remote-signing service (for example a CSC API) signs the document digest pyHanko computes,
through a pyHanko ``Signer`` of its own, and ``description`` names the qualified certificate.

The seal is invisible and added as an incremental update: the bytes of the rendered PDF/A
stay, unchanged, at the start of the sealed file, and the signature's byte range covers
them. SHA-256, PAdES baseline (``ETSI.CAdES.detached``), no time stamp yet (B-B level): the
signing time is the seal's own claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

SEAL_KIND = "fortgeschrittenes elektronisches Siegel"
KEY_FILE = "seal-key.pem"
CERTIFICATE_FILE = "seal-certificate.pem"
KEY_BITS = 3072
VALID_YEARS = 10
FIELD_PREFIX = "Siegel"


def fingerprint(certificate_der: bytes) -> str:
    """The first 16 hex digits of a certificate's SHA-256 fingerprint."""
    return hashlib.sha256(certificate_der).hexdigest()[:16]


def subject_of(certificate: asn1_x509.Certificate) -> str:
    """A certificate's subject as RFC 4514 text (``CN=Vorgang Siegel,O=Stadt Usingen``)."""
    return x509.load_der_x509_certificate(certificate.dump()).subject.rfc4514_string()


class _KeyParsedOnce(signers.SimpleSigner):
    """pyHanko's signer with the private key parsed once, not for every signature.

    ``SimpleSigner.sign_raw`` parses (and so checks) the RSA key each time it signs, twice
    per document: a quarter of a second, most of what sealing costs.
    """

    def __init__(self, private_key: PrivateKeyTypes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if (
            mechanism == "rsassa_pkcs1v15"
            and digest_algorithm == "sha256"
            and isinstance(self._private_key, rsa.RSAPrivateKey)
        ):
            return self._private_key.sign(data, PKCS1v15(), hashes.SHA256())
        return bytes(super().sign_raw(data, digest_algorithm))


class PadesSeal:
    """Seals PDFs invisibly (PAdES, SHA-256) with the deployment's key: an advanced seal."""

    def __init__(self, certificate: asn1_x509.Certificate, signer: signers.SimpleSigner) -> None:
        self._certificate = certificate
        self._signer = signer

    @classmethod
    def from_files(cls, key_pem: str | Path, cert_pem: str | Path) -> PadesSeal:
        """The seal of a PEM private key and its PEM certificate (the chain may follow it)."""
        private_key = serialization.load_pem_private_key(Path(key_pem).read_bytes(), None)
        chain = list(load_certs_from_pemder_data(Path(cert_pem).read_bytes()))
        if not chain:
            raise ValueError(f"no certificate in {cert_pem}")
        certificate = chain[0]
        signer = _KeyParsedOnce(
            private_key,
            signing_cert=certificate,
            signing_key=asn1_keys.PrivateKeyInfo.load(
                private_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )
        return cls(certificate, signer)

    @property
    def description(self) -> str:
        """What the seal is, as recorded with each document."""
        return (
            f"{SEAL_KIND}; {subject_of(self._certificate)}; "
            f"SHA-256 {fingerprint(self._certificate.dump())}"
        )

    def seal(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The PDF with an invisible PAdES seal appended as an incremental update."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        # A field name of its own per seal, so a document sealed again keeps both.
        taken = len(writer.prev.embedded_signatures)
        field_name = FIELD_PREFIX if taken == 0 else f"{FIELD_PREFIX}{taken + 1}"
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        out = signers.sign_pdf(
            writer,
            metadata,
            signer=self._signer,
            new_field_spec=SigFieldSpec(sig_field_name=field_name),  # no box: invisible
        )
        return bytes(out.getvalue())


def make_seal(directory: str | Path, organisation: str) -> tuple[Path, Path]:
    """A new RSA-3072 key (mode 0600) and its self-signed seal certificate in ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / KEY_FILE, folder / CERTIFICATE_FILE
    if key_path.exists() or cert_path.exists():
        raise FileExistsError(f"a seal already exists in {folder}: not overwritten")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, "Vorgang Siegel"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * VALID_YEARS + VALID_YEARS // 4))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created with mode 0600 from the start: the key is never readable by others, not even
    # for the moment between writing and a chmod.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key_pem)
    os.chmod(key_path, 0o600)  # the umask may have taken bits the mode asked for: exact
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def development_seal(var_dir: str | Path) -> PadesSeal:
    """The development seal under ``<var_dir>/seal/``, made on first use.

    Made in a folder of its own and renamed into place, so processes starting together
    (``serve --workers``) agree on one seal: whoever renames last finds it there already.
    """
    folder = Path(var_dir) / "seal"
    if not (folder / KEY_FILE).exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        making = Path(tempfile.mkdtemp(prefix=".seal-", dir=folder.parent))
        make_seal(making, "Vorgang Entwicklung")
        try:
            making.rename(folder)
        except OSError:  # another process put its seal there first: use that one
            shutil.rmtree(making, ignore_errors=True)
    return PadesSeal.from_files(folder / KEY_FILE, folder / CERTIFICATE_FILE)


@dataclass(frozen=True, slots=True)
class SealCheck:
    """What a check of a document's (latest) seal found."""

    sealed: bool  # the file carries a seal at all
    intact: bool  # the signed bytes hash to the digest the seal signed
    valid: bool  # the signature over that digest verifies with the signer's key
    trusted: bool  # the signer's certificate chains to the trusted certificate
    signer: str | None  # the signing certificate's subject
    covers_whole_file: bool  # nothing was appended after the seal
    problem: str | None = None  # why the file could not be checked, if it could not

    @property
    def ok(self) -> bool:
        """Sealed, intact, valid, trusted, and nothing appended since."""
        return (
            self.sealed and self.intact and self.valid and self.trusted and self.covers_whole_file
        )


def _unchecked(problem: str, *, sealed: bool = False) -> SealCheck:
    return SealCheck(sealed, False, False, False, None, False, problem)


def verify(pdf: bytes, trusted_cert_pem: bytes) -> SealCheck:
    """Check the PDF's latest seal against a trusted certificate (PEM, chain allowed)."""
    roots = list(load_certs_from_pemder_data(trusted_cert_pem))
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        seals = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError) as error:
        return _unchecked(f"not a readable PDF: {error}")
    if not seals:
        return _unchecked("the file carries no seal")
    latest = seals[-1]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(latest, context)
    except (SignatureValidationError, PdfError, ValueError) as error:
        return _unchecked(f"the seal cannot be checked: {error}", sealed=True)
    return SealCheck(
        sealed=True,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        signer=subject_of(status.signing_cert),
        covers_whole_file=status.coverage is SignatureCoverageLevel.ENTIRE_FILE,
    )
