"""Deterministic synthetic repository with planted secrets and tricky look-alikes, plus scoring.

`generate(root, size_bytes, seed)` writes a tree of source, config and Kubernetes files and returns the
ground truth: one `Planted` per real secret (path, line range, the Strongroom rule meant to catch it).
Every secret is random, generated here; none is real. Negatives are placeholders, documented example
keys, hashes, UUIDs, lockfile integrity strings, public keys, certificates, SealedSecrets, invalid
checksums and code that reads secrets from the environment.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
WORDS = [
    "account",
    "order",
    "invoice",
    "user",
    "session",
    "cache",
    "queue",
    "worker",
    "config",
    "loader",
    "parser",
    "client",
    "server",
    "request",
    "response",
    "handler",
    "payment",
    "report",
    "metric",
    "event",
    "stream",
    "buffer",
    "record",
    "schema",
    "table",
    "index",
    "router",
    "service",
    "manager",
    "builder",
    "factory",
    "context",
    "option",
    "result",
    "value",
    "item",
    "entry",
    "batch",
    "job",
    "task",
    "node",
    "cluster",
    "region",
    "zone",
    "backup",
]


@dataclass(frozen=True)
class Planted:
    path: str
    line: int
    end_line: int
    rule: str


class Gen:
    """Random material for one corpus; all randomness flows from one seeded `random.Random`."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    # -- primitives ---------------------------------------------------------------------------------
    def s(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def word(self) -> str:
        return self.r.choice(WORDS)

    def ident(self) -> str:
        return f"{self.word()}_{self.word()}"

    def b64(self, n_bytes: int) -> str:
        return base64.b64encode(self.r.randbytes(n_bytes)).decode()

    def password(self) -> str:
        sym = "!#%&*+-=?@^_"
        parts = [self.s(3, string.ascii_uppercase), self.s(4, string.ascii_lowercase), self.s(3, string.digits)]
        core = "".join(parts) + self.r.choice(sym) + self.s(3, ALNUM)
        return self.r.choice(string.ascii_letters) + "".join(self.r.sample(core, len(core)))

    def token(self, n: int = 32) -> str:
        return self.s(n)

    def gh(self, prefix: str = "ghp_", valid: bool = True) -> str:
        body = self.s(30)
        n = zlib.crc32(body.encode())
        check = ""
        while n:
            n, rem = divmod(n, 62)
            check = B62[rem] + check
        check = check.rjust(6, "0")
        if not valid:
            check = check[:-1] + ("A" if check[-1] != "A" else "B")
        return prefix + body + check

    def aws_id(self) -> str:
        return "AKIA" + self.s(16, string.ascii_uppercase + "234567")

    def pem(self, kind: str = "RSA PRIVATE KEY", lines: int = 12) -> list[str]:
        body = [self.b64(48) for _ in range(lines)]
        return [f"-----BEGIN {kind}-----", *body, f"-----END {kind}-----"]

    def jwt(self) -> str:
        def enc(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        header = enc({"alg": "RS256", "kid": self.s(8)})
        payload = enc({"sub": f"system:serviceaccount:{self.word()}:{self.word()}", "iat": self.r.randrange(10**9)})
        return f"{header}.{payload}.{self.s(86, ALNUM + '-_')}"


# -- planted positives: each returns (lines, offset of the secret line, rule id, span of lines) --------
Positive = tuple[list[str], int, str, int]


def _pos_generic(g: Gen, ext: str) -> Positive:
    pw, tok = g.password(), g.token(g.r.randrange(24, 41))
    key_pw = g.r.choice(["password", "db_password", "adminPassword", "smtp_pass" + "word", "PASSWORD"])
    key_tok = g.r.choice(["api_key", "apiKey", "secret_key", "client_secret", "auth_token", "API_TOKEN"])
    use_pw = g.r.random() < 0.5
    key, value, rule = (key_pw, pw, "generic-password") if use_pw else (key_tok, tok, "generic-secret")
    forms = {
        ".py": f'{key} = "{value}"',
        ".js": f"const {key} = '{value}';",
        ".go": f'\t{key} := "{value}"',
        ".java": f'    private static final String {key.upper()} = "{value}";',
        ".tf": f'  {key.lower()} = "{value}"',
        ".yaml": f"  {key}: {value}",
        ".json": f'  "{key}": "{value}",',
        ".toml": f'{key.lower()} = "{value}"',
        ".ini": f"{key.lower()} = {value}",
        ".properties": f"app.datasource.{key} = {value}",
        ".env": f"{key.upper()}={value}",
    }
    return [forms[ext]], 0, rule, 1


def _pos_provider(g: Gen, ext: str) -> Positive:
    choice = g.r.randrange(16)
    if choice == 0:
        return [f'AWS_ACCESS_KEY_ID = "{g.aws_id()}"'], 0, "aws-access-key-id", 1
    if choice == 1:
        return [f"aws_secret_access_key = {g.s(40, ALNUM + '/+')}"], 0, "aws-secret-access-key", 1
    if choice == 2:
        return [f"GITHUB_TOKEN={g.gh(g.r.choice(['ghp_', 'gho_', 'ghs_']))}"], 0, "github-token", 1
    if choice == 3:
        return [f"gitlab_token: glpat-{g.s(20, ALNUM + '_-')}"], 0, "gitlab-token", 1
    if choice == 4:
        tok = f"xoxb-{g.s(12, string.digits)}-{g.s(12, string.digits)}-{g.s(24)}"
        return [f'slack_bot = "{tok}"'], 0, "slack-token", 1
    if choice == 5:
        team, bot = g.s(9, string.ascii_uppercase + string.digits), g.s(11, string.ascii_uppercase + string.digits)
        return [f"webhook: https://hooks.slack.com/services/T{team}/B{bot}/{g.s(24)}"], 0, "slack-webhook", 1
    if choice == 6:
        return [f"stripe.api_key = 'sk_live_{g.s(24)}'"], 0, "stripe-secret-key", 1
    if choice == 7:
        key = f"SG.{g.s(22, ALNUM + '_-')}.{g.s(43, ALNUM + '_-')}"
        return [f"SENDGRID_KEY={key}"], 0, "sendgrid-api-key", 1
    if choice == 8:
        return [f'twilio_sid = "SK{g.s(32, "0123456789abcdef")}"'], 0, "twilio-api-key", 1
    if choice == 9:
        return [f"//registry.npmjs.org/:_authToken={g.gh('npm_')}"], 0, "npm-token", 1
    if choice == 10:
        return [f"password = pypi-AgEIcHlwaS5vcmc{g.s(70, ALNUM + '_-')}"], 0, "pypi-token", 1
    if choice == 11:
        conn = f"DefaultEndpointsProtocol=https;AccountName={g.word()}{g.r.randrange(99)};AccountKey={g.b64(64)}"
        return [f'AZURE_STORAGE = "{conn};EndpointSuffix=core.windows.net"'], 0, "azure-storage-connection-string", 1
    if choice == 12:
        url = f"postgresql://{g.word()}:{g.password().replace('@', 'x')}@db-{g.word()}.internal:5432/{g.word()}"
        return [f'DATABASE_URL = "{url}"'], 0, "database-url", 1
    if choice == 13:
        return [f"Authorization: Bearer {g.jwt()}"], 0, "jwt", 1
    if choice == 14:
        return [f"VAULT_TOKEN=hvs.{g.s(90, ALNUM + '_-')}"], 0, "vault-token", 1
    return [f"GH_PAT={'github_pat_' + g.s(22) + '_' + g.s(59)}"], 0, "github-fine-grained-pat", 1


# -- whole-file positives ------------------------------------------------------------------------------
def _file_private_key(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    kind = g.r.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
    lines = g.pem(kind, g.r.randrange(6, 26))
    return ".pem", lines, [(1, len(lines), "private-key")]


def _file_gcp(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    pem = "\\n".join(g.pem("PRIVATE KEY", 20)) + "\\n"
    project = f"{g.word()}-{g.r.randrange(1000, 9999)}"
    lines = [
        "{",
        '  "type": "service_account",',
        f'  "project_id": "{project}",',
        f'  "private_key_id": "{g.s(40, "0123456789abcdef")}",',
        f'  "private_key": "{pem}",',
        f'  "client_email": "{g.word()}@{project}.iam.gserviceaccount.com",',
        f'  "client_id": "{g.s(21, string.digits)}",',
        '  "token_uri": "https://oauth2.googleapis.com/token"',
        "}",
    ]
    return ".json", lines, [(1, len(lines), "gcp-service-account")]


def _file_docker_config(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    auth = base64.b64encode(f"{g.word()}:{g.password()}".encode()).decode()
    lines = ["{", '  "auths": {', '    "registry.corp.internal": {', f'      "auth": "{auth}"', "    }", "  }", "}"]
    return ".json", lines, [(1, len(lines), "docker-config-auth")]


def _file_k8s_secret(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    pw = base64.b64encode(g.password().encode()).decode()
    user = base64.b64encode(b"admin").decode()
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: {g.word()}-db",
        "type: Opaque",
        "data:",
        f"  username: {user}",
        f"  password: {pw}",
    ]
    return ".yaml", lines, [(1, len(lines), "generic-password")]


def _file_kubeconfig(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    key = base64.b64encode("\n".join(g.pem("RSA PRIVATE KEY", 10)).encode()).decode()
    cert = base64.b64encode("\n".join(g.pem("CERTIFICATE", 10)).encode()).decode()
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        f"    certificate-authority-data: {cert}",
        f"    server: https://{g.word()}.k8s.internal:6443",
        f"  name: {g.word()}",
        "users:",
        f"- name: {g.word()}-admin",
        "  user:",
        f"    client-certificate-data: {cert}",
        f"    client-key-data: {key}",
    ]
    return ".kubeconfig", lines, [(9, len(lines), "private-key")]


def _file_dockerconfigjson_secret(g: Gen) -> tuple[str, list[str], list[tuple[int, int, str]]]:
    auth = base64.b64encode(f"{g.word()}:{g.password()}".encode()).decode()
    cfg = json.dumps({"auths": {"ghcr.io": {"auth": auth}}})
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: regcred",
        "type: kubernetes.io/dockerconfigjson",
        "data:",
        f"  .dockerconfigjson: {base64.b64encode(cfg.encode()).decode()}",
    ]
    return ".yaml", lines, [(1, len(lines), "docker-config-auth")]


FILE_POSITIVES: list[Callable[[Gen], tuple[str, list[str], list[tuple[int, int, str]]]]] = [
    _file_private_key,
    _file_gcp,
    _file_docker_config,
    _file_k8s_secret,
    _file_kubeconfig,
    _file_dockerconfigjson_secret,
]


# -- tricky negatives ------------------------------------------------------------------------------------
def _neg_lines(g: Gen, ext: str) -> list[str]:
    c = g.r.randrange(22)
    key = g.r.choice(["password", "api_key", "secret", "token", "db_password", "client_secret"])
    if c == 0:
        return ['aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"']
    if c == 1:
        return [f'{key} = "changeme"' if ext != ".yaml" else f"{key}: changeme"]
    if c == 2:
        return [f"{key}: ${{{key.upper()}}}"]
    if c == 3:
        return [f"  {key}: {{{{ .Values.{g.word()}.{key} }}}}"]
    if c == 4:
        return [f'{key} = os.environ["{key.upper()}"]' if ext == ".py" else f"const {key} = process.env.{key.upper()};"]
    if c == 5:
        return [f'checksum = "{g.s(64, "0123456789abcdef")}"', f'{key}_sha256 = "{g.s(64, "0123456789abcdef")}"']
    if c == 6:
        uid = "-".join(g.s(n, "0123456789abcdef") for n in (8, 4, 4, 4, 12))
        return [f'{key}_id = "{uid}"', f"request_id: {uid}"]
    if c == 7:
        return [f'      "integrity": "sha512-{g.b64(64)}",']
    if c == 8:
        return [f"ssh-rsa AAAAB3NzaC1yc2E{g.b64(200)} {g.word()}@laptop"]
    if c == 9:
        return g.pem("CERTIFICATE", 8)
    if c == 10:
        return g.pem("PUBLIC KEY", 6)
    if c == 11:
        return [f"GITHUB_TOKEN={g.gh(valid=False)}  # test fixture with a bad checksum"]
    if c == 12:
        return [f"{key} = '<your-{key.replace('_', '-')}-here>'"]
    if c == 13:
        return [f"password_hash = '$2b$12${g.s(53, ALNUM + './')}'"]
    if c == 14:
        return [f"stripe_publishable = 'pk_live_{g.s(24)}'"]
    if c == 15:
        return [f'DATABASE_URL = "postgresql://{g.word()}:${{DB_PASSWORD}}@db:5432/{g.word()}"']
    if c == 16:
        return [f"secretName: {g.word()}-tls", f"token_url: https://auth.{g.word()}.internal/oauth/token"]
    if c == 17:
        return [f"  passwordPolicy: {g.word()}", "  if not password:", "      raise ValueError('password required')"]
    if c == 18:
        return [f'background: url("data:image/png;base64,{g.b64(120)}");']
    if c == 19:
        return [f"commit {g.s(40, '0123456789abcdef')}", f"token = tokenizer.next_{g.word()}()"]
    if c == 20:
        return [
            "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6"
            "IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        ]
    return [f'{key} = "xxxxxxxxxxxxxxxxxxxxxxxx"', f"{key}: '********'"]


def _neg_file_sealed(g: Gen) -> list[str]:
    return [
        "apiVersion: bitnami.com/v1alpha1",
        "kind: SealedSecret",
        "metadata:",
        f"  name: {g.word()}",
        "spec:",
        "  encryptedData:",
        f"    password: Ag{g.b64(300)}",
        f"    api_key: Ag{g.b64(300)}",
        "---",
        "apiVersion: external-secrets.io/v1beta1",
        "kind: ExternalSecret",
        "metadata:",
        f"  name: {g.word()}",
        "spec:",
        "  data:",
        "  - secretKey: password",
        "    remoteRef:",
        f"      key: {g.word()}/password",
    ]


def _neg_file_lock(g: Gen) -> list[str]:
    out = ["{", '  "lockfileVersion": 3,', '  "packages": {']
    for _ in range(g.r.randrange(20, 60)):
        out += [
            f'    "node_modules/{g.word()}-{g.word()}": {{',
            f'      "version": "{g.r.randrange(9)}.{g.r.randrange(20)}.0",',
            f'      "resolved": "https://registry.npmjs.org/{g.word()}/-/{g.word()}-1.0.0.tgz",',
            f'      "integrity": "sha512-{g.b64(64)}"',
            "    },",
        ]
    return [*out, "  }", "}"]


# -- filler ------------------------------------------------------------------------------------------------
def _filler(g: Gen, ext: str) -> str:
    a, b, n = g.ident(), g.word(), g.r.randrange(1000)
    if ext == ".py":
        return g.r.choice(
            [
                f"def {a}({b}, limit={n}):",
                f"    return {b}.{g.word()}({n})",
                f"# {b} {g.word()} {g.word()}",
                f"    {a} = [{b} for {b} in {g.word()}s if {b}.{g.word()}]",
                f"import {b}",
                f"    logger.info('{b} %s', {a})",
                f"    token_count = len({b}.split())",
            ]
        )
    if ext in (".js", ".ts"):
        return g.r.choice(
            [
                f"function {a}({b}) {{",
                f"  return {b}.{g.word()}({n});",
                f"// {b} {g.word()}",
                f"const {a} = require('{b}');",
                f"  if (!{b}) throw new Error('{b} missing');",
                "}",
            ]
        )
    if ext == ".go":
        return g.r.choice(
            [
                f"func {a}({b} int) error {{",
                f"\treturn {b}.{g.word().title()}({n})",
                f"// {b} {g.word()}",
                f"\t{a} := {b}.New()",
                "}",
                f'\tif err != nil {{ return fmt.Errorf("{b}: %w", err) }}',
            ]
        )
    if ext == ".java":
        return g.r.choice(
            [
                f"    public void {b}{g.word().title()}(int {b}) {{",
                f"        return {b}.get{g.word().title()}();",
                f"    // {b} {g.word()}",
                "    }",
                f"    private final {b.title()}Service {b}Service;",
            ]
        )
    if ext == ".tf":
        return g.r.choice(
            [f'resource "aws_{b}" "{a}" {{', f'  name = "{a}"', f"  count = {n}", "}", f'  tags = {{ team = "{b}" }}']
        )
    if ext in (".yaml", ".kubeconfig"):
        return g.r.choice(
            [
                f"  {b}: {g.word()}",
                f"    replicas: {n}",
                f"# {b} {g.word()}",
                f"  - name: {a}",
                f"    image: ghcr.io/{b}/{g.word()}:{n}",
            ]
        )
    if ext == ".json":
        return g.r.choice([f'  "{a}": {n},', f'  "{b}": "{g.word()}",'])
    if ext in (".toml", ".ini", ".properties", ".env"):
        sep = "=" if ext != ".toml" else " = "
        return g.r.choice([f"{a}{sep}{n}", f"# {b} {g.word()}", f"{b}.{g.word()}{sep}{g.word()}"])
    return f"{b} {g.word()} {g.word()} {n}"


EXTS = [".py", ".js", ".go", ".java", ".tf", ".yaml", ".json", ".toml", ".ini", ".properties", ".env"]


def generate(root: Path, size_bytes: int = 5_000_000, seed: int = 1) -> list[Planted]:
    """Write the corpus under `root` and return the planted secrets."""
    g = Gen(seed)
    truth: list[Planted] = []
    written = 0
    index = 0
    while written < size_bytes:
        index += 1
        folder = root / g.word() / g.word()
        folder.mkdir(parents=True, exist_ok=True)
        roll = g.r.random()
        if roll < 0.06:
            ext, lines, spans = g.r.choice(FILE_POSITIVES)(g)
            rel = f"{folder.relative_to(root)}/f{index}{ext}"
            truth += [Planted(rel, a, b, rule) for a, b, rule in spans]
        elif roll < 0.09:
            ext, lines = ".yaml", _neg_file_sealed(g)
            rel = f"{folder.relative_to(root)}/sealed{index}.yaml"
        elif roll < 0.10:
            lines = _neg_file_lock(g)
            rel = f"{folder.relative_to(root)}/f{index}/package-lock.json"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
        else:
            ext = g.r.choice(EXTS)
            rel = f"{folder.relative_to(root)}/f{index}{ext}"
            lines = [_filler(g, ext) for _ in range(g.r.randrange(40, 300))]
            for _ in range(g.r.randrange(0, 3)):
                at = g.r.randrange(len(lines) + 1)
                lines[at:at] = _neg_lines(g, ext)
            if g.r.random() < 0.35:
                plant, offset, rule, span = (_pos_generic if g.r.random() < 0.4 else _pos_provider)(g, ext)
                at = g.r.randrange(len(lines) + 1)
                lines[at:at] = plant
                # later insertions would shift lines, so plant last
                truth.append(Planted(rel, at + offset + 1, at + offset + span, rule))
        text = "\n".join(lines) + "\n"
        (root / rel).write_text(text, encoding="utf-8")
        written += len(text)
    return truth


def save_truth(path: Path, truth: list[Planted]) -> None:
    path.write_text(json.dumps([asdict(t) for t in truth], indent=1), encoding="utf-8")


def load_truth(path: Path) -> list[Planted]:
    return [Planted(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


@dataclass
class Score:
    tp: int = 0  # planted secrets found
    fp: int = 0  # reported locations matching no planted secret
    fn: int = 0  # planted secrets missed
    reported_tp: int = -1  # reported locations inside a planted range (-1: same as tp)

    @property
    def precision(self) -> float:
        good = self.tp if self.reported_tp < 0 else self.reported_tp
        return good / (good + self.fp) if good + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_locations(truth: list[Planted], found: set[tuple[str, int]]) -> Score:
    """Tool-agnostic scoring: a planted secret is found if any reported line falls in its range;
    a reported (path, line) that is in no planted range is a false positive."""
    by_path: dict[str, list[Planted]] = {}
    for t in truth:
        by_path.setdefault(t.path, []).append(t)
    hit: set[Planted] = set()
    fp = 0
    for path, line in found:
        matches = [t for t in by_path.get(path, []) if t.line <= line <= t.end_line]
        if matches:
            hit.update(matches)
        else:
            fp += 1
    return Score(tp=len(hit), fp=fp, fn=len(truth) - len(hit), reported_tp=len(found) - fp)


def score_by_rule(truth: list[Planted], findings: list[tuple[str, int, str]]) -> dict[str, Score]:
    """Strongroom-specific: recall and precision for each rule id."""
    scores: dict[str, Score] = {}
    by_loc = {(t.path, line): t for t in truth for line in range(t.line, t.end_line + 1)}
    matched: set[Planted] = set()
    for path, line, rule in findings:
        t = by_loc.get((path, line))
        s = scores.setdefault(rule, Score())
        if t is not None and t.rule == rule:
            s.tp += 1
            matched.add(t)
        else:
            s.fp += 1
    for t in truth:
        if t not in matched:
            scores.setdefault(t.rule, Score()).fn += 1
    return scores
