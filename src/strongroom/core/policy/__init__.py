"""Vault/OpenBao-compatible ACL policies: parse HCL/JSON, compile to an immutable ACL, check and explain.

    policy = parse_policy("dev", text)               # InvalidRequest on bad input
    acl = ACL.compile([default_policy(), policy])    # cache it: ACLCache keyed by names + store generation
    acl.check("secret/data/app", Operation.READ)     # -> Decision(allowed, root_privs, ...)
    acl.capabilities("secret/data/app")              # -> ["list", "read"], as sys/capabilities
    acl.explain("secret/data/app", Operation.READ)   # -> which policy and rule decided, for humans

See docs/policies.md for the matching and merging rules.
"""

from strongroom.core.policy.acl import ACL, OPERATION_CAPABILITY, ExplainedRule, Explanation
from strongroom.core.policy.cache import ACLCache
from strongroom.core.policy.defaults import (
    DEFAULT_POLICY_HCL,
    RESPONSE_WRAPPING_POLICY_HCL,
    builtin_policies,
    default_policy,
    response_wrapping_policy,
    root_policy,
)
from strongroom.core.policy.model import Capability, Decision, PathRule, Policy, RuleKind
from strongroom.core.policy.names import (
    DEFAULT_POLICY,
    IMMUTABLE_POLICIES,
    NON_ASSIGNABLE_POLICIES,
    RESPONSE_WRAPPING_POLICY,
    ROOT_POLICY,
    check_policy_deletable,
    check_policy_writable,
    normalize_policy_name,
    sanitize_policy_names,
)
from strongroom.core.policy.parser import parse_duration, parse_policy

__all__ = [
    "ACL",
    "DEFAULT_POLICY",
    "DEFAULT_POLICY_HCL",
    "IMMUTABLE_POLICIES",
    "NON_ASSIGNABLE_POLICIES",
    "OPERATION_CAPABILITY",
    "RESPONSE_WRAPPING_POLICY",
    "RESPONSE_WRAPPING_POLICY_HCL",
    "ROOT_POLICY",
    "ACLCache",
    "Capability",
    "Decision",
    "ExplainedRule",
    "Explanation",
    "PathRule",
    "Policy",
    "RuleKind",
    "builtin_policies",
    "check_policy_deletable",
    "check_policy_writable",
    "default_policy",
    "normalize_policy_name",
    "parse_duration",
    "parse_policy",
    "response_wrapping_policy",
    "root_policy",
    "sanitize_policy_names",
]
