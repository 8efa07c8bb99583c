-- GET a KV v2 secret
wrk.method = "GET"
wrk.headers["X-Vault-Token"] = os.getenv("BENCH_TOKEN")
wrk.path = "/v1/secret/data/bench/read"
