# Least-privilege policy for `strongroom kms-plugin serve --backend transit --transit-key k8s-kms`
# (OpenBao / Vault / Strongroom). Load with: bao policy write strongroom-kms deploy/kms-plugin/transit-policy.hcl
path "transit/encrypt/k8s-kms" {
  capabilities = ["update"]
}
path "transit/decrypt/k8s-kms" {
  capabilities = ["update"]
}
path "transit/keys/k8s-kms" {
  capabilities = ["read"]
}
