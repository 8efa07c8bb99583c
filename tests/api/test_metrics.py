import httpx
import hvac


def test_prometheus_metrics(dev_server):
    c = hvac.Client(url=dev_server.addr, token="root")
    c.secrets.kv.v2.create_or_update_secret("metrics/x", {"a": "b"})
    r = httpx.get(f"{dev_server.addr}/v1/sys/metrics", params={"format": "prometheus"},
                  headers={"X-Vault-Token": "root"})
    assert r.status_code == 200
    text = r.text
    assert "strongroom_requests_total" in text
    assert 'strongroom_storage_operation_seconds_count{op="put"}' in text
    assert "strongroom_sealed 0.0" in text
    # needs a token
    assert httpx.get(f"{dev_server.addr}/v1/sys/metrics").status_code == 403
    # /metrics is off unless the config enables unauthenticated access
    assert httpx.get(f"{dev_server.addr}/metrics").status_code == 404
