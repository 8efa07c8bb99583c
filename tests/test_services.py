import httpx
import psycopg


def test_postgres_is_real(pg):
    with psycopg.connect(pg.dsn()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_etcd_is_real(etcd_server):
    r = httpx.post(f"{etcd_server.endpoint}/v3/kv/put", json={"key": "Zm9v", "value": "YmFy"})
    assert r.status_code == 200
