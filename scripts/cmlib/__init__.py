"""Shared code of the project's Python command-line tools (scripts/cm-rules,
scripts/cm-review): a small Redis client and the rule-set bundles.  Standard
library only."""
