-- POST transit/decrypt/bench with a ciphertext made at bootstrap
wrk.method = "POST"
wrk.headers["X-Vault-Token"] = os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.path = "/v1/transit/decrypt/bench"
wrk.body = '{"ciphertext":"' .. os.getenv("BENCH_CIPHERTEXT") .. '"}'
