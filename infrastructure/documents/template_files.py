"""WeasyPrint's view of the templates' files: along the search path, never the network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse


class TemplateFiles(URLFetcher):  # type: ignore[misc]  # weasyprint ships no types
    """Finds a file a letter refers to (a logo, a font, an image) along the templates' search
    path, so ``logo.png`` is the town's own when it has one; and fetches nothing from the
    network: a letter renders the same every time and tells no server that it was made."""

    def __init__(self, base: Path, search: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self._base = base
        self._search = search

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """The file the URL names, from the most specific directory that has it."""
        if url.startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path))
            if path.is_relative_to(self._base):
                relative = path.relative_to(self._base)
                for directory in self._search:
                    if (directory / relative).is_file():
                        url = (directory / relative).as_uri()
                        break
        response: URLFetcherResponse = super().fetch(url, headers)
        return response
