"""`anomaly { }` / `alerts { }` in the server config file: defaults, overrides, and clear errors."""

from __future__ import annotations

import pytest

from strongroom.server.config import ConfigError, parse

BASE = 'storage "sqlite" { path = "/tmp/x.db" }\n'


def test_defaults_without_blocks() -> None:
    a = parse(BASE).anomaly
    assert a.enabled and a.denial_burst.threshold == 10 and a.auth_failure_burst.threshold == 5
    assert a.first_access.learning_period == 86400 and a.webhook.url == ""


def test_blocks_override_and_secret_is_not_in_repr() -> None:
    cfg = parse(BASE + '''
anomaly {
  evaluate_interval = "100ms"
  denial_burst { threshold = 3  window = "10s"  cooldown = 0 }
  rate_spike { enabled = false }
  first_access { learning_period = "0s" }
}
alerts {
  retention = "7d"
  max_alerts = 50
  webhook { url = "http://127.0.0.1:9/hook"  secret = "whsec-PLANTED"  max_attempts = 2 }
}
''')
    a = cfg.anomaly
    assert a.evaluate_interval == pytest.approx(0.1) and a.denial_burst.threshold == 3
    assert a.denial_burst.window == 10 and a.denial_burst.cooldown == 0 and not a.rate_spike.enabled
    assert a.retention == 7 * 86400 and a.max_alerts == 50 and a.webhook.max_attempts == 2
    assert "whsec-PLANTED" not in repr(cfg.anomaly)


def test_json_config_works_too() -> None:
    cfg = parse('{"storage": {"sqlite": {"path": "/tmp/x.db"}}, "anomaly": {"enumeration": '
                '{"distinct_paths": 7}}}')
    assert cfg.anomaly.enumeration.distinct_paths == 7


@pytest.mark.parametrize(("block", "message"), [
    ("anomaly { foo = 1 }", "anomaly: unknown setting(s): foo"),
    ('anomaly { denial_burst { threshold = "many" } }', "anomaly.denial_burst.threshold must be a number"),
    ('anomaly { denial_burst { window = "soon" } }', "anomaly.denial_burst.window must be a duration"),
    ("anomaly { denial_burst { threshold = 0 } }", "must be positive"),
    ('anomaly { enabled = "maybe" }', "anomaly.enabled must be true or false"),
    ('anomaly { retention = "1h" }', "belong(s) in the alerts"),
    ('alerts { webhook { url = "ftp://x" } }', "must be an http:// or https:// URL"),
    ("alerts { color = 1 }", "alerts: unknown setting(s): color"),
    ("anomaly { rate_spike { alpha = 2 } }", "alpha must be between 0 and 1"),
])
def test_bad_settings_name_the_setting(block: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse(BASE + block)
    assert message in str(e.value)
