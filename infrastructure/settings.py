"""Every configuration variable of Vorgang, documented where it is defined."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_ID_SECRET = "development-only-id-secret-do-not-use"  # noqa: S105
DEVELOPMENT_TOKEN_SECRET = "development-only-token-secret-0123456789abcdef"  # noqa: S105
# Public on purpose: personal data written in development is readable by anyone with the repo.
DEVELOPMENT_KEY_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZWstZG8tbm90LXVzZSE="
# The payment provider simulator's callback secret in development (public, like the above).
DEVELOPMENT_PAYMENT_SECRET = "whsec_ZGV2ZWxvcG1lbnQtb25seS1wYXltZW50LXNlY3JldA=="  # noqa: S105
# The seed of the development key that signs the log's checkpoints (public, like the KEK above).
DEVELOPMENT_INTEGRITY_SIGNING_KEY = "ZGV2ZWxvcG1lbnQtb25seS1zaWduaW5nLXNlZWQtISE="


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
            "request fingerprints. Changing it changes which retries are recognised. The "
            "case search's blind-index key is derived from it (HKDF): after a change, run "
            "`vorgang projections rebuild case_search`."
        ),
    )
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "Base64 of 32 random bytes (`vorgang privacy new-kek`): wraps the per-case keys "
            "that encrypt personal data. Required outside development; keep it out of the "
            "database backups' reach."
        ),
    )
    previous_key_encryption_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Comma-separated older KEKs, still able to unwrap keys until "
            "`vorgang privacy rotate-kek` has rewrapped them under the current one."
        ),
    )
    key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description=(
            "How long a process caches unwrapped data keys. An erasure in another process "
            "takes effect here within this time; 0 disables the cache."
        ),
    )
    token_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_TOKEN_SECRET),
        description=(
            "HS256 secret of the development token issuer (`vorgang token`). Refused in "
            "production, where tokens come from the municipal identity provider."
        ),
    )
    token_issuer: str = Field(default="vorgang-dev", description="Expected `iss` of tokens.")
    token_audience: str = Field(default="vorgang", description="Expected `aud` of tokens.")
    oidc_issuer: str | None = Field(
        default=None,
        description="Production identity: the OIDC issuer (`iss`), e.g. a Keycloak realm URL.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description=(
            "Where the issuer publishes its signing keys (JWKS). Unset: found through the "
            "issuer's discovery document ({issuer}/.well-known/openid-configuration)."
        ),
    )
    oidc_jwks_refresh_seconds: float = Field(
        default=300.0,
        ge=1,
        le=86400,
        description=(
            "How often the issuer's keys are fetched again: a key removed from its JWKS "
            "(revoked) is refused at the latest this long after."
        ),
    )
    oidc_unknown_kid_cooldown_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description=(
            "A token naming an unknown key id fetches the keys at once; the same unknown "
            "id fetches again only after this long."
        ),
    )
    oidc_fetch_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long one fetch of the issuer's keys or discovery document may take.",
    )
    oidc_audience: str = Field(
        default="vorgang",
        description="Expected `aud` (Keycloak access tokens default to `account`: configure it).",
    )
    oidc_roles_claim: str = Field(
        default="realm_access.roles",
        description=(
            "Path of the roles claim: dotted (realm_access.roles), a JSON pointer "
            '(/https:~1~1vorgang.example~1roles) or bracketed (["https://vorgang.example/roles"]).'
        ),
    )
    oidc_tenant_claim: str = Field(
        default="tenant", description="Path of the tenant (a string or a one-element list)."
    )
    oidc_teams_claim: str = Field(
        default="teams",
        description="Path of staff's teams: names or group paths like /usingen/bauamt.",
    )
    oidc_scope_claim: str = Field(
        default="scope",
        description="Path of a service account's scopes (space-separated or a list).",
    )
    oidc_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat."
    )
    oidc_client_id: str = Field(
        default="vorgang-console",
        description="The clerk console's client at the issuer (authorization code with PKCE).",
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The console client's secret if the issuer registers it as confidential; a "
            "public client needs none (PKCE protects the code)."
        ),
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24,
        description=(
            "How long a console sign-in lasts (the sealed session cookie's expiry); roles "
            "and teams are read from the token again at the next sign-in."
        ),
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, le=300, description="Retry-After sent with 503 while the database is down."
    )
    read_your_writes_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description=(
            "How long a read with ?min_position=N waits (on the event loop, holding no thread) "
            "for its view to include position N before answering 503 view-catching-up."
        ),
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description=(
            "Largest request body accepted; a larger one is refused with 413 before the "
            "token is checked or the body is parsed."
        ),
    )
    feed_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Heartbeat comment on idle event streams, below proxies' idle timeouts.",
    )
    feed_stream_seconds: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "An event stream ends after this long, so load spreads over processes again; "
            "the client reconnects with Last-Event-ID and misses nothing."
        ),
    )
    webhook_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000,36000",
        pattern=r"^\s*[0-9]+(\.[0-9]+)?(\s*,\s*[0-9]+(\.[0-9]+)?)*\s*$",
        description=(
            "Seconds between a webhook's failed attempt and the next, comma-separated (the "
            "Standard Webhooks example: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, about 28 "
            "hours in all). An event that fails them all goes to the dead letters; until then "
            "it holds its subscription back (delivery is in order): shorten it to move on sooner."
        ),
    )
    webhook_jitter: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Each retry waits its delay times a random factor in [1 - j, 1 + j].",
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="A receiver answers within this or the try failed."
    )
    webhook_allow: str = Field(
        default="",
        description=(
            "Comma-separated networks (CIDR) or host names a webhook may reach although they "
            "are private, loopback or link-local (an integrator inside the town's network). "
            "Outside development every other such address is refused."
        ),
    )
    webhook_parallel: int = Field(
        default=8, ge=1, le=256, description="Subscriptions delivered at the same time per process."
    )
    webhook_poll_seconds: float = Field(
        default=0.1,
        gt=0,
        le=60,
        description="How often the delivery looks for new events (a look at two heads).",
    )
    webhook_disable_after: int = Field(
        default=10,
        ge=1,
        description="Dead letters in a row after which a subscription is disabled as failing.",
    )
    webhook_delivery: bool = Field(
        default=True,
        description="Deliver webhooks where the read models are kept (serve, worker).",
    )
    nats_url: str | None = Field(
        default=None,
        description=(
            "NATS server (e.g. nats://127.0.0.1:4222): when set, the feed is relayed to "
            "JetStream where the read models are kept (serve, worker), without personal data."
        ),
    )
    nats_stream: str = Field(
        default="VORGANG",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The JetStream stream the relay publishes to (created if missing).",
    )
    nats_subject_prefix: str = Field(
        default="vorgang",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subjects are <prefix>.<tenant>.<service>.<type without de.vorgang.>.",
    )
    nats_retention: str = Field(
        default="limits",
        pattern=r"^(limits|interest|workqueue)$",
        description="The retention of a stream the relay creates: limits, interest, workqueue.",
    )
    nats_max_age_seconds: float = Field(
        default=0.0,
        ge=0,
        description="How long the stream keeps an event when the relay creates it (0: no limit).",
    )
    nats_duplicate_window_seconds: float = Field(
        default=7200.0,
        gt=0,
        description=(
            "JetStream drops a message whose Nats-Msg-Id (the event id) it stored this recently: "
            "it covers a relay's crash and restart. Consumers still dedupe by id beyond it."
        ),
    )
    nats_batch: int = Field(
        default=256, ge=1, le=10_000, description="Events published per acknowledged batch."
    )
    nats_poll_seconds: float = Field(
        default=0.05, gt=0, le=60, description="How often the relay looks for new feed events."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "When set, GET /metrics needs `Authorization: Bearer <this token>` (401 "
            "without); unset, /metrics is open to whoever reaches the port."
        ),
    )
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        description="auto (console on a terminal, JSON otherwise), json or console.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    scheduler: bool = Field(
        default=True,
        description=(
            "Fire due timers (finality, reminders, escalations) beside the read models in "
            "`serve` and `worker`. Off: no process of this configuration fires them."
        ),
    )
    reminder_working_days: int = Field(
        default=3,
        ge=0,
        le=60,
        description=(
            "The clerk holding a case is reminded of the processing period's due date once "
            "no more than this many working days (Monday to Friday, not a Hessian public "
            "holiday) lie before it; 0 reminds on the due date itself."
        ),
    )
    access_log_retention_days: int = Field(
        default=730,
        ge=1,
        le=36500,
        description=(
            "Days a line of the access log of staff reads is kept (default two years: a "
            "data subject's request for who read their data, Art. 15 GDPR, and a "
            "data-protection officer's review reach back that far). Older lines are pruned "
            "daily beside the timers and by `vorgang audit prune-access-log`; the chain "
            "continues from a signed anchor."
        ),
    )
    scheduler_tick_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description=(
            "How often the scheduler (beside the read models: `serve`, `worker`) looks for "
            "timers due today; each timer fires once whichever process finds it first."
        ),
    )

    documents_dir: str = Field(
        default="./var/documents",
        description=(
            "Where issued documents are kept, each encrypted under the keys of the data "
            "subjects it names (erasure makes it unreadable). Unused with documents_s3_bucket."
        ),
    )
    documents_s3_bucket: str | None = Field(
        default=None,
        description=(
            "Keep documents in this bucket of an S3-compatible store instead (needs the "
            "`s3` extra: pip install 'vorgang[s3]'); credentials from the usual AWS_* variables."
        ),
    )
    documents_s3_endpoint_url: str | None = Field(
        default=None,
        description="The S3-compatible store's endpoint (MinIO, Ceph, a municipal cloud).",
    )
    letter_templates_dir: str | None = Field(
        default=None,
        description=(
            "A directory of the towns' own letter templates (the shipped layout: "
            "<town>/<service>/, <town>/, services/<service>/, then the base), searched before "
            "the shipped ones. Checked when the process starts: a broken template stops it."
        ),
    )
    seal_key_file: str | None = Field(
        default=None,
        description=(
            "PEM private key of the deployment's electronic seal (PAdES, an advanced seal, "
            "not a qualified one). Unset in development: a seal is made once under "
            "var/seal/ (`vorgang documents new-seal` makes one for production)."
        ),
    )
    seal_certificate_file: str | None = Field(
        default=None,
        description="PEM certificate of the seal key, with its chain (set with seal_key_file).",
    )
    postbox_dir: str = Field(
        default="./var/postbox",
        description=(
            "The postbox simulator's directory: it accepts messages for portal accounts and "
            "reports them retrieved or failed as the real BundID postbox does."
        ),
    )
    print_dir: str = Field(
        default="./var/print",
        description=(
            "Exchange directory with the town's print service: batches of letters go to "
            "outbox/, its posting reports (posting day per letter) come back in reports/."
        ),
    )

    payment_provider_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the payment provider (the simulator in development: `make run` "
            "starts one). Unset: no online payment; cases still charge fees and the cash "
            "office records receipts."
        ),
    )
    payment_provider_name: str = Field(
        default="simulator",
        pattern=r"^[a-z][a-z0-9_-]{1,30}$",
        description="The provider's name in callback URLs and records.",
    )
    payment_provider_secrets: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PAYMENT_SECRET),
        description=(
            "The provider's callback signing secrets (Standard Webhooks, whsec_...), "
            "comma-separated: the first is current, the others are accepted while a key is "
            "rotated."
        ),
    )
    payment_provider_api_key: SecretStr | None = Field(
        default=None, description="Bearer API key Vorgang presents to the provider, if any."
    )
    payment_request_minutes: int = Field(
        default=120,
        ge=5,
        le=60 * 24 * 14,
        description="How long a payment request waits for its payment before it expires.",
    )

    integrity_signing_key: SecretStr | None = Field(
        default=None,
        description=(
            "Base64 of the 32-byte Ed25519 seed that signs the log's checkpoints "
            "(`vorgang audit new-signing-key`). Required outside development (the "
            "development key is public); keep it apart from the database and its backups."
        ),
    )
    integrity_previous_public_keys: str = Field(
        default="",
        description=(
            "Comma-separated base64 public keys of retired signing keys: checkpoints they "
            "signed still verify."
        ),
    )
    integrity_checkpoint_every_events: int = Field(
        default=1000,
        ge=1,
        description="A checkpoint is signed once this many events were chained since the last.",
    )
    integrity_checkpoint_every_minutes: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Beside the timers, the chain's head is signed when the last checkpoint is older "
            "than this and the head moved since."
        ),
    )

    @model_validator(mode="after")
    def refuse_development_secrets_in_production(self) -> Self:
        """Outside development every secret must be set explicitly."""
        if (self.seal_key_file is None) != (self.seal_certificate_file is None):
            raise UnsafeSettings(
                "VORGANG_SEAL_KEY_FILE and VORGANG_SEAL_CERTIFICATE_FILE are set together"
            )
        if self.environment is not Environment.PRODUCTION:
            return self
        if self.id_secret.get_secret_value() == DEVELOPMENT_ID_SECRET:
            raise UnsafeSettings(
                "VORGANG_ID_SECRET must be set in production (the development default is public)"
            )
        if not self.oidc_issuer:
            raise UnsafeSettings(
                "VORGANG_OIDC_ISSUER must be set in production (the development token "
                "issuer is off there); its keys are found by discovery or VORGANG_OIDC_JWKS_URL"
            )
        kek = self.key_encryption_key
        if kek is None or kek.get_secret_value() == DEVELOPMENT_KEY_ENCRYPTION_KEY:
            raise UnsafeSettings(
                "VORGANG_KEY_ENCRYPTION_KEY must be set in production: without it personal "
                "data cannot be encrypted (create one with `vorgang privacy new-kek`)"
            )
        payment_secret = self.payment_provider_secrets.get_secret_value()
        if self.payment_provider_url and DEVELOPMENT_PAYMENT_SECRET in payment_secret:
            raise UnsafeSettings(
                "VORGANG_PAYMENT_PROVIDER_SECRETS must be set in production: callbacks signed "
                "with the public development secret would be accepted"
            )
        if self.seal_key_file is None:
            raise UnsafeSettings(
                "VORGANG_SEAL_KEY_FILE must be set in production: documents are sealed with "
                "the deployment's key (create one with `vorgang documents new-seal`)"
            )
        signing = self.integrity_signing_key
        if signing is None or signing.get_secret_value() == DEVELOPMENT_INTEGRITY_SIGNING_KEY:
            raise UnsafeSettings(
                "VORGANG_INTEGRITY_SIGNING_KEY must be set in production: checkpoints signed "
                "with the public development key prove nothing (create one with "
                "`vorgang audit new-signing-key`)"
            )
        return self

    def payment_secrets(self) -> list[str]:
        """The provider's callback secrets, the current one first."""
        raw = self.payment_provider_secrets.get_secret_value()
        return [part.strip() for part in raw.split(",") if part.strip()]

    def key_encryption_key_text(self) -> str:
        """The current KEK (the public development one when unset in development)."""
        if self.key_encryption_key is None:
            return DEVELOPMENT_KEY_ENCRYPTION_KEY
        return self.key_encryption_key.get_secret_value()

    def integrity_signing_key_text(self) -> str:
        """The checkpoint signing seed (the public development one when unset in development)."""
        if self.integrity_signing_key is None:
            return DEVELOPMENT_INTEGRITY_SIGNING_KEY
        return self.integrity_signing_key.get_secret_value()

    def integrity_previous_public_key_texts(self) -> list[str]:
        """Public keys of retired signing keys, whose checkpoints still verify."""
        return [p.strip() for p in self.integrity_previous_public_keys.split(",") if p.strip()]

    def webhook_retry_delays(self) -> tuple[float, ...]:
        """The seconds between a webhook's attempts (``webhook_retry_schedule``)."""
        return tuple(float(part) for part in self.webhook_retry_schedule.split(","))

    def webhook_allowed(self) -> tuple[str, ...]:
        """Networks and hosts a webhook may reach despite the SSRF guard."""
        return tuple(part.strip() for part in self.webhook_allow.split(",") if part.strip())

    def previous_key_encryption_key_texts(self) -> list[str]:
        """Older KEKs that may still unwrap keys."""
        if self.previous_key_encryption_keys is None:
            return []
        raw = self.previous_key_encryption_keys.get_secret_value()
        return [part.strip() for part in raw.split(",") if part.strip()]
