"""The document ports a deployment wires, from the settings.

Templates are checked when the process is built, so a broken template stops the start-up,
not the first decision. Everything that touches the disk (the seal made for development,
the postbox simulator's and the print service's directories) is made on first use: a
process that never issues a letter leaves no trace of one.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from application.document_ports import PrintService, Seal
from application.documents import DocumentPorts
from infrastructure.documents.letterheads import load_letterheads
from infrastructure.documents.postbox import PostboxSimulator
from infrastructure.documents.print_service import PrintBatches
from infrastructure.documents.rendering import WeasyPrintRenderer
from infrastructure.documents.vault import open_vault
from infrastructure.privacy.key_store import PersonalDataKeys
from infrastructure.settings import Settings

T = TypeVar("T")


class OnFirstUse(Generic[T]):
    """Stands for an object that is made the first time one of its attributes is used."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._made: T | None = None
        self._lock = threading.Lock()

    @property
    def made(self) -> T:
        """The object, made now if it was not yet."""
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._make()
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made, name)


def renderer(towns_dir: str | Path | None = None) -> WeasyPrintRenderer:
    """The towns' letters (the deployment's own templates in ``towns_dir`` before the shipped
    ones), checked once per process and directory: ``TemplateProblem`` when a template is
    broken, ``LetterheadProblem`` when a town's letterhead is incomplete."""
    return _checked_renderer(Path(towns_dir).absolute() if towns_dir is not None else None)


@functools.cache
def _checked_renderer(towns_dir: Path | None) -> WeasyPrintRenderer:
    letters = WeasyPrintRenderer(load_letterheads(), towns_dir=towns_dir)
    letters.check_templates()  # raises, and a raise is not cached: the next start checks again
    return letters


def seal_of(settings: Settings) -> Seal:
    """The configured seal, or the development seal under var/ (made when first needed)."""
    if settings.seal_key_file and settings.seal_certificate_file:
        key, certificate = Path(settings.seal_key_file), Path(settings.seal_certificate_file)
        contents = hashlib.sha256(key.read_bytes() + b"\0" + certificate.read_bytes()).digest()
        return _seal_of_files(key, certificate, contents)
    # pyHanko is imported when a seal is first needed, not with the wiring.
    from infrastructure.documents.seal import development_seal

    var_dir = Path(settings.documents_dir).parent
    return cast(Seal, OnFirstUse(lambda: development_seal(var_dir)))


@functools.lru_cache(maxsize=4)
def _seal_of_files(key: Path, certificate: Path, contents: bytes) -> Seal:
    """The seal of these files, loaded once per process while they read the same
    (``contents``): checking an RSA-3072 key takes a third of a second, at every start."""
    from infrastructure.documents.seal import PadesSeal

    return PadesSeal.from_files(key, certificate)


def document_ports(settings: Settings, keys: PersonalDataKeys) -> DocumentPorts:
    """Renderer, seal, vault, postbox and print service as the settings choose."""
    return DocumentPorts(
        renderer=renderer(settings.letter_templates_dir),
        seal=seal_of(settings),
        vault=open_vault(settings, keys),
        postbox=PostboxSimulator(settings.postbox_dir),  # makes its directory on first use
        print_service=cast(PrintService, OnFirstUse(lambda: PrintBatches(settings.print_dir))),
    )
