# ruff: noqa: E501  (example lines carry real-length fake secrets plus an allow comment)
"""Detection rules, as data.

Each rule carries its own true examples (must be found) and false examples (must not be found);
`tests/scanner/test_rules.py` runs every rule against its examples, so a rule cannot ship untested.
Example lines hold fake-but-realistic secrets and end with an allow comment so the scanner, run on
this repository, skips them (the examples are scanned as bare strings by the tests).

Priorities settle overlaps on the same span: a provider-specific rule (2) beats a contextual rule
(1), which beats a generic assignment rule (0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["RULES", "Rule", "rule_by_id"]

GENERIC = 0
CONTEXTUAL = 1
SPECIFIC = 2


@dataclass(frozen=True)
class Rule:
    """One detection rule. `pattern` must define a `secret` group (the value that is hashed and redacted)."""

    id: str
    description: str
    pattern: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    entropy: float | None = None
    validator: str | None = None
    priority: int = SPECIFIC
    multiline: bool = False
    generic: bool = False
    reveal_prefix: int = 0
    keyword_case: bool = False  # keywords match case-sensitively (fewer prefilter hits for `SK`, `eyJ`)
    remediation: str = "Revoke the credential, remove it from the file and its history, and load it at run time."
    flags: int = field(default=0)

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self.flags | (re.MULTILINE if not self.multiline else 0))


_ASSIGN = r"""["']?\s*(?:=|:=|:|=>|\?\?=|\|\|=)\s*"""
# A quoted value, or an unquoted config value running to the end of the token.
_VALUE = r"""(?P<q>["'`]?)(?P<secret>[^\s"'`;,]{4,200}?)(?P=q)(?=\s*(?:[;,)}\]]|//|$)|\s)"""

RULES: tuple[Rule, ...] = (
    Rule(
        id="aws-access-key-id",
        description="AWS access key ID",
        pattern=r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        keywords=("AKIA", "ASIA", "ABIA", "ACCA"),
        keyword_case=True,
        reveal_prefix=4,
        examples=(
            "aws_access_key_id = AKIAT7V4SEH2KVJ72CEU",  # strongroom:allow
            'const id = "ASIAT7V4SEH2KVJ72CEU";',  # strongroom:allow
        ),
        counter_examples=(
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "AKIA0000000000000000 is not base32",
            "see AKIAFOOBAR for details",
        ),
        entropy=2.5,
    ),
    Rule(
        id="aws-secret-access-key",
        description="AWS secret access key",
        pattern=r"(?i)\baws[\w.\-]{0,20}?(?:secret|sk)[\w.\-]{0,20}?"
        + _ASSIGN
        + r"""["']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])""",
        keywords=("aws",),
        entropy=3.5,
        priority=CONTEXTUAL,
        examples=(
            "aws_secret_access_key = RS+6ilI8ihN5KXSc7Tvo+hBKqFYY+kv5ZJr3J1TW",  # strongroom:allow
            'AWS_SECRET_ACCESS_KEY: "RS+6ilI8ihN5KXSc7Tvo+hBKqFYY+kv5ZJr3J1TW"',  # strongroom:allow
        ),
        counter_examples=(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
            "aws_secret_access_key = 0000000000000000000000000000000000000000",
        ),
    ),
    Rule(
        id="gcp-service-account",
        description="Google Cloud service-account private key (JSON key file)",
        pattern=r'"private_key"\s*:\s*"(?P<secret>-----BEGIN PRIVATE KEY-----(?:\\n)?[A-Za-z0-9+/=\\n]{100,}'
        r'-----END PRIVATE KEY-----(?:\\n)?)"',
        keywords=('"private_key"',),
        validator="pem_body",
        examples=(
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'  # strongroom:allow
            "dk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJNfbNH2EiauFTOK4aNABNM7oNJGrATIGxuvI+O/nu9fefK0k0r4f1Ug\\n"
            '-----END PRIVATE KEY-----\\n",',
        ),
        counter_examples=(
            '"private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n",',
            '"private_key_id": "0ad84173581569969e58b081006f7e3d0ad84173",',
        ),
    ),
    Rule(
        id="gcp-api-key",
        description="Google API key",
        pattern=r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])",
        keywords=("AIza",),
        keyword_case=True,
        entropy=3.0,
        reveal_prefix=4,
        examples=('apiKey: "AIzaKfzjsQGMrb9h-ImB-LK777pzNk8cL6j5IXA"',),  # strongroom:allow
        counter_examples=('apiKey: "AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"',),
    ),
    Rule(
        id="azure-storage-connection-string",
        description="Azure Storage connection string with an account key",
        pattern=r"(?i)DefaultEndpointsProtocol=https?;AccountName=[a-z0-9]{3,24};"
        r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
        keywords=("accountkey=",),
        entropy=4.0,
        examples=(
            "DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=dk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJNf"  # strongroom:allow
            "bNH2EiauFTOK4aNABNM7oNJGrATIGxuvI+O/nu9fefK0k0r4f1Ug==;EndpointSuffix=core.windows.net",
        ),
        counter_examples=(
            "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=<account-key>",
            "UseDevelopmentStorage=true",
        ),
    ),
    Rule(
        id="azure-sas-connection-string",
        description="Azure Service Bus / Event Hubs / IoT connection string with a shared access key",
        pattern=r"(?i)Endpoint=sb://[^;\s]+;SharedAccessKeyName=[^;\s]+;SharedAccessKey=(?P<secret>[A-Za-z0-9+/]{43}=)",
        keywords=("sharedaccesskey=",),
        entropy=4.0,
        examples=(
            "Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"  # strongroom:allow
            "SharedAccessKey=C2m5Sw2YLoW7VbZyqHJjes10Zvy2Dg6P8YRjsOSyuik=",
        ),
        counter_examples=(
            "Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=${SAS_KEY}",
        ),
    ),
    Rule(
        id="github-token",
        description="GitHub token (personal, OAuth, app, refresh), checksum-validated",
        pattern=r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36})\b",
        keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        validator="github_crc32",
        reveal_prefix=4,
        examples=(
            "GITHUB_TOKEN=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",  # strongroom:allow
            'token: "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"',  # strongroom:allow
        ),
        counter_examples=(
            "GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXX",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
    Rule(
        id="github-fine-grained-pat",
        description="GitHub fine-grained personal access token",
        pattern=r"\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        keywords=("github_pat_",),
        entropy=3.5,
        reveal_prefix=11,
        examples=(
            "GH_TOKEN=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",  # strongroom:allow
        ),
        counter_examples=("GH_TOKEN=github_pat_" + "x" * 22 + "_" + "x" * 59,),
    ),
    Rule(
        id="gitlab-token",
        description="GitLab personal, deploy, trigger, runner or OAuth token",
        pattern=r"\b(?P<secret>(?:glpat|gldt|glptt|glrt|gloas|glft|glsoat|glcbt)-[A-Za-z0-9_\-]{20,64})(?![A-Za-z0-9_\-])",
        keywords=("glpat-", "gldt-", "glptt-", "glrt-", "gloas-", "glft-", "glsoat-", "glcbt-"),
        entropy=3.0,
        reveal_prefix=6,
        examples=("CI_TOKEN: glpat-CnD8zRA9a9SkpXz9w3Ql",),  # strongroom:allow
        counter_examples=("CI_TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx", "see glpat-<token> in the docs"),
    ),
    Rule(
        id="slack-token",
        description="Slack bot, user, app or legacy token",
        pattern=r"\b(?P<secret>xox[abposr]-[0-9]{6,}-[0-9A-Za-z\-]{8,250}|xapp-\d-[A-Z0-9]{9,}-\d{6,}-[a-z0-9]{32,})",
        keywords=("xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-", "xapp-"),
        entropy=3.0,
        reveal_prefix=5,
        examples=("SLACK_BOT_TOKEN=xoxb-894447218737-608506254334-zV8fUkkibjL5DZPjN0MEQ7wj",),  # strongroom:allow
        counter_examples=("SLACK_BOT_TOKEN=xoxb-your-token-here", "xoxb-000000000000-000000000000-xxxxxxxx"),
    ),
    Rule(
        id="slack-webhook",
        description="Slack incoming webhook URL",
        pattern=r"(?P<secret>https://hooks\.slack\.com/(?:services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}"
        r"|(?:workflows|triggers)/T[A-Z0-9]{8,12}/A[A-Z0-9]{8,12}/\d{6,}/[A-Za-z0-9]{32}))",
        keywords=("hooks.slack.com",),
        entropy=3.0,
        validator="not_placeholder",
        reveal_prefix=33,
        examples=(
            "url: https://hooks.slack.com/services/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",  # strongroom:allow
        ),
        counter_examples=(
            "url: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "url: https://hooks.slack.com/services/...",
        ),
    ),
    Rule(
        id="stripe-secret-key",
        description="Stripe secret or restricted key",
        pattern=r"\b(?P<secret>(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{24,247})\b",
        keywords=("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        entropy=3.0,
        reveal_prefix=8,
        examples=("stripe.api_key = 'sk_live_HGb3CXlMaXZjljENUhJduRHH'",),  # strongroom:allow
        counter_examples=(
            "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'",
            "publishable: pk_live_HGb3CXlMaXZjljENUhJduRHH",
        ),
    ),
    Rule(
        id="sendgrid-api-key",
        description="SendGrid API key",
        pattern=r"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?![A-Za-z0-9_\-])",
        keywords=("SG.",),
        keyword_case=True,
        entropy=3.5,
        reveal_prefix=3,
        examples=(
            "SENDGRID_API_KEY=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",  # strongroom:allow
        ),
        counter_examples=("msg.send(SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)",),
    ),
    Rule(
        id="twilio-api-key",
        description="Twilio API key SID",
        pattern=r"\b(?P<secret>SK[0-9a-f]{32})\b",
        keywords=("SK",),
        keyword_case=True,
        entropy=3.0,
        reveal_prefix=2,
        examples=('TWILIO_API_KEY = "SK3732881584d8c4fa2815d2802827283e"',),  # strongroom:allow
        counter_examples=("SK00000000000000000000000000000000", "task_mask = 'SKIP'"),
    ),
    Rule(
        id="twilio-auth-token",
        description="Twilio auth token",
        pattern=r"(?i)twilio[\w.\-]{0,20}?(?:auth)?[_\-.]?(?:token|secret)"
        + _ASSIGN
        + r"""["']?(?P<secret>[0-9a-f]{32})\b""",
        keywords=("twilio",),
        entropy=3.0,
        priority=CONTEXTUAL,
        examples=("TWILIO_AUTH_TOKEN=0ad84173581569969e58b081006f7e3d",),  # strongroom:allow
        counter_examples=(
            "TWILIO_AUTH_TOKEN=${TWILIO_AUTH_TOKEN}",
            "TWILIO_AUTH_TOKEN=00000000000000000000000000000000",
        ),
    ),
    Rule(
        id="npm-token",
        description="npm access token, checksum-validated",
        pattern=r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
        keywords=("npm_",),
        validator="github_crc32",
        reveal_prefix=4,
        examples=("//registry.npmjs.org/:_authToken=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",),  # strongroom:allow
        counter_examples=(
            "npm_mxgJTeKdNnFRIBXuDL7DxtpYlSXpfK0IYYeX",
            "npm_config_registry_url_for_tests_abcdef",
        ),
    ),
    Rule(
        id="npmrc-auth-token",
        description="Registry auth token in an .npmrc",
        pattern=r"(?:^|:)_auth(?:Token)?\s*=\s*(?P<secret>[A-Za-z0-9_\-.+/=]{20,})",
        keywords=("_authtoken", "_auth"),
        entropy=3.5,
        priority=CONTEXTUAL,
        examples=("//npm.corp.example:8443/:_authToken=dk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJ",),  # strongroom:allow
        counter_examples=(
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "OID_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH",
        ),
    ),
    Rule(
        id="pypi-token",
        description="PyPI API token",
        pattern=r"\b(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
        keywords=("pypi-AgEIcHlwaS5vcmc",),
        keyword_case=True,
        entropy=3.5,
        reveal_prefix=5,
        examples=(
            "password = pypi-AgEIcHlwaS5vcmc_YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxaQWk8JzFalHlsZfYcMMDktXP_tKsf2",  # strongroom:allow
        ),
        counter_examples=("password = pypi-AgEIcHlwaS5vcmc<rest-of-token>",),
    ),
    Rule(
        id="docker-config-auth",
        description="Docker config.json registry credentials (base64 user:password)",
        pattern=r'"auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"',
        keywords=('"auth"',),
        validator="basic_auth_b64",
        priority=CONTEXTUAL,
        examples=('{"auths": {"ghcr.io": {"auth": "Ym90OlRyMHViNGRvciYzLXByb2Q="}}}',),  # strongroom:allow
        counter_examples=('{"auths": {"ghcr.io": {"auth": "dXNlcjo="}}}', '"auth": "Bearer"'),
    ),
    Rule(
        id="private-key",
        description="Private key (PEM, PKCS#8, OpenSSH, encrypted PEM)",
        pattern=r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?P<secret>[\s\S]{40,16000}?)"
        r"-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        keywords=("PRIVATE KEY-----",),
        keyword_case=True,
        validator="pem_body",
        multiline=True,
        examples=(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"  # strongroom:allow
            "dk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJNfbNH2EiauFTOK4aNABNM7oNJGrATIGxuvI+O\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"  # strongroom:allow
            "QyNTUxOQAAACDk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJNfbNH2EiauFQAAAJjT\n-----END OPENSSH PRIVATE KEY-----",
        ),
        counter_examples=(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgO\n"
            "-----END PUBLIC KEY-----",
            "-----BEGIN PRIVATE KEY-----\n...your key here...\n-----END PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
            "-----END CERTIFICATE-----",
        ),
    ),
    Rule(
        id="jwt",
        description="JSON Web Token",
        pattern=r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,})",
        keywords=("eyJ",),
        keyword_case=True,
        validator="jwt",
        reveal_prefix=3,
        examples=(
            "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6"  # strongroom:allow
            "ZGVmYXVsdDpidWlsZGVyIn0.dk0qWk12dwb4XYaQAkrWvaNAG-nIy8zJNfbNH2EiauFTOK4aNABNM7oNJGrATIGx",
        ),
        counter_examples=(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
            "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "eyJfoo.eyJbar.notajwtatall",
        ),
    ),
    Rule(
        id="database-url",
        description="Database or broker URL with an embedded password",
        pattern=r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|"
        r"cockroachdb|clickhouse|jdbc:[a-z]+)://(?P<user>[^:@/\s'\"]{1,64}):(?P<secret>[^@/\s'\"]{3,128})@(?!(?:[\w\-]+\.)*example\.(?:com|org|net)\b)[\w.\-\[\]]+",
        keywords=(
            "postgres",
            "mysql",
            "mariadb",
            "mongodb",
            "redis",
            "amqp",
            "mssql",
            "sqlserver",
            "cockroachdb",
            "clickhouse",
            "jdbc:",
        ),
        validator="not_placeholder",
        priority=CONTEXTUAL,
        examples=(
            'DATABASE_URL="postgresql://app:Zq8v!nR2kd7W@db.internal:5432/orders"',  # strongroom:allow
            "mongodb+srv://svc:Tr0ub4dor3x@cluster0.mongodb.net/app",  # strongroom:allow
        ),
        counter_examples=(
            "postgresql://app:${DB_PASSWORD}@db:5432/orders",
            "postgres://user:password@localhost/db",
            "mysql://root:<password>@127.0.0.1/test",
            "redis://redis:6379/0",
        ),
    ),
    Rule(
        id="url-credentials",
        description="HTTP(S) URL with an embedded password",
        pattern=r"(?i)\bhttps?://(?P<user>[^:@/\s'\"]{1,64}):(?P<secret>[^@/\s'\"]{3,128})@(?!(?:[\w\-]+\.)*example\.(?:com|org|net)\b)[\w.\-]+",
        keywords=("://",),
        validator="not_placeholder",
        priority=CONTEXTUAL,
        examples=(
            "pip install --index-url https://deploy:Qm3xT7pLw9Zc@pypi.corp.internal/simple app",  # strongroom:allow
        ),
        counter_examples=(
            "https://user:pass@example.com",
            'URL("https://jo%40email.com:a%20secret@sub.example.org/")',
            "https://${USER}:${PASS}@host/x",
            "http://localhost:8080/x",
        ),
    ),
    Rule(
        id="vault-token",
        description="HashiCorp Vault / OpenBao service, batch or recovery token",
        pattern=r"\b(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,})",
        keywords=("hvs.", "hvb.", "hvr."),
        entropy=3.5,
        reveal_prefix=4,
        examples=(
            "VAULT_TOKEN=hvs.AjlsHUqJoUD_-Ydua-5ZMs1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3OyV2dZAkg05rK",  # strongroom:allow
        ),
        counter_examples=("VAULT_TOKEN=hvs.xxxxxxxxxxxxxxxxxxxxxxxxxxxx",),
    ),
    Rule(
        id="openai-api-key",
        description="OpenAI API key",
        pattern=r"\b(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})",
        keywords=("T3BlbkFJ",),
        keyword_case=True,
        reveal_prefix=3,
        examples=("OPENAI_API_KEY=sk-proj-AjlsHUqJoUD_Ydua5ZMsT3BlbkFJ1SWOpQaPRYpzbLGViYXj",),  # strongroom:allow
        counter_examples=("OPENAI_API_KEY=sk-...",),
    ),
    Rule(
        id="generic-password",
        description="Hard-coded password in code or configuration",
        pattern=r"(?i)(?<![\w.\-])(?P<key>[\w.\-]{0,40}?(?:password|passwd|pwd)[\w.\-]{0,40})" + _ASSIGN + _VALUE,
        keywords=("password", "passwd", "pwd"),
        validator="generic_password",
        priority=GENERIC,
        generic=True,
        examples=(
            'db_password = "Zq8v!nR2kd7W"',  # strongroom:allow
            "spring.datasource.password=Tr0ub4dor&3x",  # strongroom:allow
            "  password: hK8#mW2qLz",  # strongroom:allow
            'export DB_PASSWORD="s3cr3t-Pa55w0rd"',  # strongroom:allow
            '  "adminPassword": "Vb7$kLq2Xp",',  # strongroom:allow
            'Password := "Nq4!rT8zWm"',  # strongroom:allow
        ),
        counter_examples=(
            'password = os.environ["DB_PASSWORD"]',
            "password: ${DB_PASSWORD}",
            'password = "changeme"',
            "password: {{ .Values.db.password }}",
            'password_file = "/run/secrets/db"',
            "PASSWORD_MIN_LENGTH = 12",
            'password = "<your-password>"',
            "password: password",
            "password = getpass()",
            'password = ""',
            "password: '********'",
            "passwordSecretRef: db-credentials",
        ),
    ),
    Rule(
        id="generic-secret",
        description="Hard-coded API key, token or secret in code or configuration",
        pattern=r"(?i)(?<![\w.\-])(?P<key>[\w.\-]{0,40}?(?:secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key"
        r"|credential|client[_\-]?secret)[\w.\-]{0,40})" + _ASSIGN + _VALUE,
        keywords=(
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "access_key",
            "accesskey",
            "access-key",
            "auth_key",
            "authkey",
            "private_key",
            "privatekey",
            "credential",
        ),
        validator="generic_secret",
        entropy=3.2,
        priority=GENERIC,
        generic=True,
        examples=(
            'API_KEY = "f9Kq2LmX7vR4tZ8wB3nY6pD1sH5jG0cE"',  # strongroom:allow
            "client_secret: 9bT4xQ7mK2vL8pZ3nR6wY1sD5fH0jG4c",  # strongroom:allow
            'resource "x" { api_token = "Qm3xT7pLw9Zc4Vb8Nk2Rj6Hd" }',  # strongroom:allow
            "SECRET_KEY=k7Hq2LmX9vR4tZ8wB3nY6pD1sH5jG0cE",  # strongroom:allow
        ),
        counter_examples=(
            'api_key = os.getenv("API_KEY")',
            "secretName: tls-ingress-cert",
            "token_url: https://auth.example.com/oauth/token",
            'SECRET_KEY = "your-secret-key-here"',
            "api_key: 123e4567-e89b-12d3-a456-426614174000",
            "client_secret: {{ .Values.oauth.clientSecret }}",
            'token = "d41d8cd98f00b204e9800998ecf8427e"',
            "secret: true",
            "accessKeyRef: aws-creds",
        ),
    ),
)


def rule_by_id(rule_id: str) -> Rule:
    for rule in RULES:
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)
