"""Policies as data: typed, frozen objects loaded from the YAML files under ``states/policies/``.

A policy is one round or standing scheme from one notice in ``shared/seeds/`` (CONTRACT §2). The
YAML files are transcriptions of those notices; each rule in them cites its seed file and section.
Loading validates every field; an error names the file and the field path.

The package is split by responsibility: `model` (the typed objects), `yaml_text` (safe YAML with line
numbers), `parsing` (a file's text into a `Policy`; the bundled files) and `registry` (bundled plus
imported versions). Callers import from here.
"""

from states.policy.model import (
    POLICY_DIR,
    TITLE_LEVEL,
    Catalogue,
    CatalogueRow,
    Certificate,
    Committee,
    CommitteeTable,
    Cutoff,
    Decider,
    DistrictSet,
    EducationLevel,
    Fee,
    FraudBar,
    Frozen,
    Level,
    LevelRule,
    MailIn,
    Notice,
    Office,
    Platform,
    Policy,
    PolicyError,
    Scope,
    Source,
    Window,
)
from states.policy.parsing import CITY_DATA_FILES, POLICY_IDS, load_policies, load_policy, parse_policy
from states.policy.registry import (
    PolicyRegistry,
    PolicySource,
    StoredPolicy,
    get_policy,
    parse_stored,
    policies,
    registry,
)
from states.policy.yaml_text import Path_, YamlLoader, line_map, line_of, load_yaml_nodes, load_yaml_text, read_yaml

__all__ = [
    "CITY_DATA_FILES", "POLICY_DIR", "POLICY_IDS", "TITLE_LEVEL", "Catalogue", "CatalogueRow", "Certificate",
    "Committee", "CommitteeTable", "Cutoff", "Decider", "DistrictSet", "EducationLevel", "Fee", "FraudBar",
    "Frozen", "Level", "LevelRule", "MailIn", "Notice", "Office", "Path_", "Platform", "Policy", "PolicyError",
    "PolicyRegistry", "PolicySource", "Scope", "Source", "StoredPolicy", "Window", "YamlLoader", "get_policy",
    "line_map", "line_of", "load_policies", "load_policy", "load_yaml_nodes", "load_yaml_text", "parse_policy",
    "parse_stored", "policies", "read_yaml", "registry",
]
