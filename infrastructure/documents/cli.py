"""``vorgang documents``: make the deployment's seal, and check a sealed document (auditors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infrastructure.documents.seal import make_seal, verify

app = typer.Typer(help="Issued documents: the deployment's seal, and checking a sealed PDF.")


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


@app.command("new-seal")
def new_seal(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the key and the certificate.")
    ],
    organisation: Annotated[
        str, typer.Option(help="The authority the seal speaks for, e.g. 'Stadt Usingen'.")
    ],
) -> None:
    """Make a seal key (RSA-3072, mode 0600) and its self-signed certificate (10 years)."""
    try:
        key_path, cert_path = make_seal(directory, organisation)
    except FileExistsError as error:
        typer.echo(f"vorgang: {error}", err=True)
        raise typer.Exit(code=2) from None
    key_path, cert_path = key_path.resolve(), cert_path.resolve()
    typer.echo(f"key:         {key_path}  (mode 0600: keep it secret, back it up)")
    typer.echo(f"certificate: {cert_path}  (give it to whoever checks documents)")
    typer.echo("set for serve and worker:")
    typer.echo(f"  VORGANG_SEAL_KEY_FILE={key_path}")
    typer.echo(f"  VORGANG_SEAL_CERTIFICATE_FILE={cert_path}")


@app.command("verify")
def verify_document(
    file: Annotated[Path, typer.Argument(help="The sealed PDF.", exists=True, dir_okay=False)],
    certificate: Annotated[
        Path,
        typer.Option(help="The seal's certificate (PEM) to trust.", exists=True, dir_okay=False),
    ],
) -> None:
    """Check a document's seal: exit 0 when intact, valid, trusted and nothing was appended."""
    check = verify(file.read_bytes(), certificate.read_bytes())
    if not check.sealed:
        typer.echo(f"{file}: not checked: {check.problem}")
        raise typer.Exit(code=1)
    typer.echo(f"sealed by:         {check.signer or '-'}")
    typer.echo(f"intact:            {_yes(check.intact)}")
    typer.echo(f"signature valid:   {_yes(check.valid)}")
    typer.echo(f"trusted:           {_yes(check.trusted)}")
    typer.echo(f"covers whole file: {_yes(check.covers_whole_file)}")
    if check.problem:
        typer.echo(f"problem:           {check.problem}")
    typer.echo("seal OK" if check.ok else "seal NOT OK")
    if not check.ok:
        raise typer.Exit(code=1)
