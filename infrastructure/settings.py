"""Every configuration variable of Vorgang, documented where it is defined."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_ID_SECRET = "development-only-id-secret-do-not-use"  # noqa: S105


class Environment(StrEnum):
    """Where Vorgang runs: development allows built-in secrets, production refuses them."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class UnsafeSettings(ValueError):
    """A setting that must not be used outside development."""


class Settings(BaseSettings):
    """Configuration from ``VORGANG_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="VORGANG_", env_file=".env", extra="ignore")

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development or production; production refuses development secrets.",
    )
    database_url: str = Field(
        default="sqlite:///./var/vorgang.db",
        description=(
            "Where events and read models live: sqlite:///path/to/file.db (embedded "
            "default) or postgresql://user[:password]@host:port/dbname[?schema=name]."
        ),
    )
    connect_timeout_seconds: int = Field(
        default=5,
        ge=1,
        le=120,
        description="How long to wait for PostgreSQL before reporting it unreachable.",
    )
    id_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ID_SECRET),
        description=(
            "HMAC secret (16+ bytes) for case ids derived from Idempotency-Keys and for "
            "request fingerprints. Changing it changes which retries are recognised."
        ),
    )
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        description="auto (console on a terminal, JSON otherwise), json or console.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @model_validator(mode="after")
    def refuse_development_secrets_in_production(self) -> Self:
        """Outside development every secret must be set explicitly."""
        production = self.environment is Environment.PRODUCTION
        if production and self.id_secret.get_secret_value() == DEVELOPMENT_ID_SECRET:
            raise UnsafeSettings(
                "VORGANG_ID_SECRET must be set in production (the development default is public)"
            )
        return self
