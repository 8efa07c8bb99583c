import hvac


def test_hvac_kv_roundtrip(dev_server):
    client = hvac.Client(url=dev_server.addr, token="root")
    assert client.is_authenticated()
    client.secrets.kv.v2.create_or_update_secret(path="smoke/app", secret={"password": "hunter2"})
    read = client.secrets.kv.v2.read_secret_version(path="smoke/app", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "hunter2"}
    assert read["data"]["metadata"]["version"] == 1
