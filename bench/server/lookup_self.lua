-- GET auth/token/lookup-self
wrk.method = "GET"
wrk.headers["X-Vault-Token"] = os.getenv("BENCH_TOKEN")
wrk.path = "/v1/auth/token/lookup-self"
