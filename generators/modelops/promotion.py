"""Which artifacts an environment accepts from which other environment, and as what URI.

Every environment trusts only its own artifact prefixes (`spec.artifacts.allowedPrefixes`),
so copying a staging URI into prod verbatim is refused. An environment says instead, under
`spec.promotion`, which environments it takes models from and where their artifacts live for
it: a rewrite rule maps the source's prefix to its own (the release process copies the
objects, typically `gs://acme-models-staging/` to `gs://acme-models-prod/`), and a source
whose URIs the target already trusts (a release bucket both allow) needs no rule. `modelops
promote` applies the rule; the target's allowlist still judges the result, and when it refuses,
the message says which field to change and to what.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from modelops.errors import Problem
from modelops.spec import Environment, PromotionSource
from modelops.yamlsource import SourceDocument

if TYPE_CHECKING:  # repository calls this module while loading
    from modelops.settings import EnvironmentSettings

PROMOTION = ("spec", "promotion")
ALLOWED = ("spec", "artifacts", "allowedPrefixes")


def accepts(env: Environment, uri: str) -> bool:
    return any(uri.startswith(p) for p in env.spec.artifacts.allowed_prefixes)


def source_entry(env: Environment, source: str) -> tuple[int, PromotionSource] | None:
    """The `spec.promotion` entry of `env` for `source`, with its index."""
    return next(((i, entry) for i, entry in enumerate(env.spec.promotion)
                 if entry.environment == source), None)


def promoted_uri(entry: PromotionSource, uri: str) -> str:
    """`uri` as the target names it: the longest matching rewrite applied, or unchanged."""
    rules = [r for r in entry.rewrite if uri.startswith(r.source_prefix)]
    if not rules:
        return uri
    rule = max(rules, key=lambda r: len(r.source_prefix))
    return rule.target_prefix + uri[len(rule.source_prefix):]


def bucket_of(uri: str) -> str:
    """`scheme://bucket/` of a URI: the prefix a suggested rule starts from."""
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/"


def _problem(doc: SourceDocument, loc: tuple[str | int, ...], message: str) -> Problem:
    line, col = doc.locate(loc)
    field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc)
    return Problem(doc.display, line, col, field.replace(".[", "["), message)


def settings_problems(doc: SourceDocument, env: Environment) -> list[Problem]:
    """`spec.promotion` checks that need only the environment's own file."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, entry in enumerate(env.spec.promotion):
        where = (*PROMOTION, i, "from")
        if entry.environment == env.metadata.name:
            problems.append(_problem(doc, where, "an environment cannot promote from itself"))
        elif entry.environment in seen:
            problems.append(_problem(doc, where, f"{entry.environment!r} is listed twice; "
                                     "merge its rewrite rules into one entry"))
        seen.add(entry.environment)
        prefixes: set[str] = set()
        for j, rule in enumerate(entry.rewrite):
            if rule.source_prefix in prefixes:
                problems.append(_problem(doc, (*PROMOTION, i, "rewrite", j, "from"),
                                         f"{rule.source_prefix!r} has two rules"))
            prefixes.add(rule.source_prefix)
            if not accepts(env, rule.target_prefix):
                problems.append(_problem(
                    doc, (*PROMOTION, i, "rewrite", j, "to"),
                    f"{rule.target_prefix!r} is not under spec.artifacts.allowedPrefixes "
                    f"({', '.join(env.spec.artifacts.allowed_prefixes)}): every URI this "
                    "rule makes would be refused"))
    return problems


def unknown_sources(environments: Iterable[EnvironmentSettings],
                    known: Sequence[str]) -> list[Problem]:
    """Promotion entries naming an environment that does not exist: warnings, not errors, so
    that removing an environment never breaks those that promoted from it (`promote --from` it
    is refused anyway); `render` and `check` list them."""
    return [_problem(env.doc, (*PROMOTION, i, "from"),
                     f"no environment {entry.environment!r}; environments: {', '.join(known)}")
            for env in environments for i, entry in enumerate(env.spec.spec.promotion)
            if entry.environment not in known]
