"""The form spec: one YAML file per issued version of the forms (`forms/<id>.yaml`), loaded and validated
into frozen `FormSpec`, `Form` and `Indicator` objects, with its rules, levels and aggregation as data.
`expr` is the expression tree (and the one ratio) both the template's live checks and the rules engine use;
`conditions` builds the spec's checks and rules as such trees.

May import `core`.
"""

from cchc_excel.spec.loader import available_specs, load_spec, parse_spec
from cchc_excel.spec.model import Form, FormSpec, Indicator, Rule

__all__ = ["Form", "FormSpec", "Indicator", "Rule", "available_specs", "load_spec", "parse_spec"]
