"""Must NOT type-check: each line marked `# error: CODE` misspells a setting, and mypy
must say so there (tests/test_typed_settings.py runs mypy on this file). The lines
without a mark use the settings rightly and must raise nothing."""

from __future__ import annotations

from llm_consortium.adapter.models import ConsortiumOptions
from llm_consortium.saved.config import ConsortiumConfig, MemberConfig
from llm_consortium.types import Settings

settings = Settings(max_iterations=4, budget_usd=0.5)
total = settings.confidence_threshold + settings.timeout
Settings(max_iteration=4)  # error: call-arg
misspelt = settings.budget_usdd  # error: attr-defined
Settings(timeout="slow")  # error: arg-type

config = ConsortiumConfig(name="panel", models=[MemberConfig(model_id="a")], agreement=0.8)
calls = config.min_members + config.max_iterations
ConsortiumConfig(name="panel", models=[MemberConfig(model_id="a")], confidence_treshold=0.8)  # error: call-arg
misspelt = config.skip_arbiter_on_agreemnt  # error: attr-defined
ConsortiumConfig(name="panel", models=[MemberConfig(model_id="a")], call_mode="threads")  # error: arg-type

options = ConsortiumOptions(timeout=5)
given = options.budget_tokens
ConsortiumOptions(timout=5)  # error: call-arg
misspelt = options.min_iteration  # error: attr-defined
