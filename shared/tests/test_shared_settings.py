"""Settings: environment variables, `<NAME>_FILE` secrets, secrets never shown."""

from __future__ import annotations

import pytest

from casebridge.amqp import AmqpTransport
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings, env_flag
from casebridge.topology import DEFAULT_RETRY_DELAYS, DEFAULT_TARGETS
from casebridge.transports import build_transport, topology_from

PASSWORD = "s3cr3t-pa55"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the developer's or CI's environment."""
    for name in (*BrokerSettings.model_fields, *LoggingSettings.model_fields):
        for variant in (name, f"{name}_file"):
            monkeypatch.delenv(variant.upper(), raising=False)
            monkeypatch.delenv(variant, raising=False)
    for name in HealthSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_apply_without_environment():
    settings = BrokerSettings()
    assert settings.transport == "amqp"
    assert settings.rabbitmq_url.get_secret_value() == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert settings.topology_prefix == "cb"
    assert settings.queue_type == "quorum"
    assert settings.retry_delays_s == DEFAULT_RETRY_DELAYS
    assert settings.max_attempts == 8
    assert LoggingSettings().log_format == "auto"
    assert HealthSettings().health_port == 8000


def test_environment_variables_are_read_case_insensitively(monkeypatch):
    monkeypatch.setenv("TOPOLOGY_PREFIX", "prod")
    monkeypatch.setenv("prefetch", "7")
    monkeypatch.setenv("RETRY_DELAYS_S", "[0.5, 2]")
    monkeypatch.setenv("TRANSPORT", "memory")
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://u:{PASSWORD}@rabbit:5672/%2F")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("HEALTH_PORT", "0")
    settings = BrokerSettings()
    assert settings.topology_prefix == "prod"
    assert settings.prefetch == 7
    assert settings.retry_delays_s == (0.5, 2.0)
    assert settings.transport == "memory"
    assert settings.rabbitmq_url.get_secret_value() == f"amqp://u:{PASSWORD}@rabbit:5672/%2F"
    assert LoggingSettings().log_level == "debug"
    assert HealthSettings().health_port == 0


def test_a_secret_file_wins_over_the_plain_variable(monkeypatch, tmp_path):
    secret = tmp_path / "rabbitmq_url"
    secret.write_text(f"amqp://u:{PASSWORD}@from-file:5672/%2F\n", encoding="utf-8")
    monkeypatch.setenv("RABBITMQ_URL", "amqp://guest:guest@from-env:5672/%2F")
    monkeypatch.setenv("RABBITMQ_URL_FILE", str(secret))
    url = BrokerSettings().rabbitmq_url.get_secret_value()
    assert url == f"amqp://u:{PASSWORD}@from-file:5672/%2F", "content read, whitespace stripped"


def test_any_field_can_come_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "prefix").write_text("from-file\n", encoding="utf-8")
    (tmp_path / "delays").write_text("[1, 3]", encoding="utf-8")
    monkeypatch.setenv("TOPOLOGY_PREFIX_FILE", str(tmp_path / "prefix"))
    monkeypatch.setenv("retry_delays_s_file", str(tmp_path / "delays"))
    settings = BrokerSettings()
    assert settings.topology_prefix == "from-file"
    assert settings.retry_delays_s == (1.0, 3.0)


def test_explicit_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("TOPOLOGY_PREFIX", "env")
    assert BrokerSettings(topology_prefix="arg").topology_prefix == "arg"


def test_the_rabbitmq_url_is_never_shown(monkeypatch):
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://u:{PASSWORD}@rabbit:5672/%2F")
    settings = BrokerSettings()
    for text in (repr(settings), str(settings), repr(settings.rabbitmq_url)):
        assert PASSWORD not in text
    assert PASSWORD not in settings.model_dump_json()
    assert "**********" in repr(settings)


def test_invalid_values_are_refused(monkeypatch):
    monkeypatch.setenv("TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValueError, match="transport"):
        BrokerSettings()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("", False)],
)
def test_env_flag_reads_truthy_words(monkeypatch, value, expected):
    monkeypatch.setenv("CB_TEST_FLAG", value)
    assert env_flag("CB_TEST_FLAG") is expected


def test_env_flag_is_false_when_unset(monkeypatch):
    monkeypatch.delenv("CB_TEST_FLAG", raising=False)
    assert env_flag("CB_TEST_FLAG") is False


def test_the_topology_follows_the_settings():
    settings = BrokerSettings(
        topology_prefix="x", retry_delays_s=(2.0,), delivery_limit=4, queue_type="classic"
    )
    topology = topology_from(settings, targets=("sink",))
    assert set(topology.work_queues) == {"x.transformer", "x.loader.sink"}
    wq = topology.work_queue("x.loader.sink")
    assert (wq.retry_delays, wq.delivery_limit, wq.queue_type) == ((2.0,), 4, "classic")
    default_targets = topology_from(BrokerSettings())
    assert len(default_targets.work_queues) == 1 + len(DEFAULT_TARGETS)


def test_the_transport_follows_the_settings():
    broker = MemoryBroker()
    memory = build_transport(BrokerSettings(transport="memory"), name="t", memory_broker=broker)
    assert isinstance(memory, MemoryTransport)
    assert memory.broker is broker
    amqp = build_transport(BrokerSettings(), name="t")  # constructing does not connect
    assert isinstance(amqp, AmqpTransport)
    assert not amqp.is_ready
