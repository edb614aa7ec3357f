"""Runtime settings: one model, read once at cold start from the function's environment."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LENDING_", frozen=True)

    region: str = "cn-north-1"
    applications_table: str
    documents_table: str
    loans_table: str
    funders_table: str
    idempotency_table: str
    documents_bucket: str
    data_key_id: str
    signing_key_id: str
    index_key_id: str
    session_key_id: str
    state_machine_arn: str
    # Model registry (S3 artefacts under models/ in the documents bucket + this table);
    # empty = the packaged German scorecard is the champion and no challengers run.
    model_registry_table: str = ""
    # Which model family the consumer/business admission decision uses.
    admission_family: str = "admission-german"
    # Weekly population-stability check: alarm above this PSI, on at least this many
    # decisions by the champion in the last 7 days (fewer = reported, never alarmed).
    psi_alarm_threshold: float = 0.25
    psi_min_sample: int = 100
    # Scheduled retraining: retrain when the champion is older than this many days.
    retrain_max_age_days: int = 90
    # JSON object: funder id -> its fund-request queue URL.
    funder_queues: str = "{}"
    # The payment channel: the queue of debit requests it pulls, and its public key (PEM)
    # that signs its callbacks (empty: no channel configured, callbacks refused).
    payment_requests_queue: str = ""
    payment_channel_public_key: str = ""
    # Finance's morning digest by email through the lender's SMTP relay (SES is not in
    # the China regions): sender, finance mailboxes (comma-separated); no relay or no
    # mailbox: the digest is kept in S3 and served by the API only.
    finance_sender: str = ""
    finance_recipients: str = ""
    finance_smtp_host: str = ""
    finance_smtp_port: int = 25
    finance_smtp_starttls: bool = True
    # Borrowers' reminders by WeChat subscription message (then SMS): the Secrets Manager
    # secret with the mini-program's {"appid", "secret"}, the reminder template's id
    # (empty: SMS only), WeChat's API, and which build the message opens.
    wechat_secret_arn: str = ""
    wechat_reminder_template_id: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_miniprogram_state: str = "formal"
    # The origins the front ends are served from (comma-separated): the only ones a
    # browser may call the API from across origins (CORS).
    front_end_origins: str = ""
    # Loans each call of a servicing job's page handles (about 20 ms each on AWS).
    servicing_page_size: int = 100
    # Only the local cloud and staging allow the sandbox login and sandbox data providers.
    sandbox: bool = False
    # Base URL browsers upload documents to (the local cloud's S3 on loopback); empty = AWS.
    s3_public_endpoint: str = ""
    # A review waiting longer than this is escalated by the scheduled sweep.
    review_escalation_seconds: int = 4 * 3600
    # How long the state machine waits for people and banks (seconds).
    review_timeout_seconds: int = 3 * 24 * 3600
    offer_timeout_seconds: int = 7 * 24 * 3600
    funding_timeout_seconds: int = 24 * 3600
    reupload_timeout_seconds: int = 3 * 24 * 3600

    def timeouts(self) -> dict[str, int]:
        return {
            "review": self.review_timeout_seconds,
            "offer": self.offer_timeout_seconds,
            "funding": self.funding_timeout_seconds,
            "reupload": self.reupload_timeout_seconds,
        }


@cache
def settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
