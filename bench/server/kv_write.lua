-- POST a new version of a KV v2 secret (spread over 64 keys)
counter = 0
wrk.method = "POST"
wrk.headers["X-Vault-Token"] = os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/secret/data/bench/w" .. (counter % 64), nil,
                    '{"data":{"user":"app","password":"s3cr3t-' .. counter .. '"}}')
end
