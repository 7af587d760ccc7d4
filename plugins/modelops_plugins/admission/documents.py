"""A review's policy input as JSON text, with its namespace's context kept apart and reused.

Every review in a namespace is judged against the same cluster context (the namespace's
indexed manifests and its Environment document) next to one new object. So each namespace
keeps its context as a `Context`: the JSON text of its environment and manifests (and of their
facts), serialised once, named by a digest. The engine holds a context it has parsed
(modelops.policy.engine.Context) and the review's own document names it, so neither
serialising nor parsing the namespace is repeated per review: the document carries only the
object under review. The text is kept for as long as the indexes hold those very objects: kopf
replaces an index value when its object changes (never mutates it), so "the same object" (`is`)
means "the same text". The cache holds strong references to the manifests it describes, so an
id can never be reused while its text is cached.

The input is the one `modelops.policy.build_input` makes (the reviewed object replaces an
indexed one of the same kind, namespace and name: the document says which, `skip`), as
`inline_context` spells it out (tested). Given a `facts` function
(`PolicyEngine.cluster_facts`), the context also carries `cluster_facts`: what the library
computes about each context object on its own (its parsed capacity facts). Those are cached
with the object's text, so a review computes them only for the object under review instead of
for its whole namespace (modelops.policy.held hands them to the library).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from modelops.policy.engine import Context, inline_context
from modelops.policy.inputs import Manifest, PolicyInput, identity, previous_key


class Review(NamedTuple):
    """What an engine judges: the namespace's context, the document that names it, and the
    kind of the object under review (the policies that do not judge it are left out; None:
    objects of any kind, every policy)."""

    context: Context
    document: str
    kind: str | None

    def as_input(self) -> PolicyInput:
        """The input this review stands for, its context spelled out (what CI evaluates)."""
        return inline_context(self.context, self.document)


class _Cached(NamedTuple):
    manifests: tuple[Manifest, ...]
    positions: dict[tuple[str, str, str], int]   # identity -> index in the context
    texts: tuple[str, ...]
    facts: tuple[str, ...]   # "" each without a facts function
    environment: Mapping[str, Any]   # the Environment document as indexed
    environment_text: str
    context: Context


FactsOf = Callable[[list[Manifest]], list[Any]]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class InputDocuments:
    """Builds review inputs; remembers each namespace's serialised context."""

    def __init__(self, facts: FactsOf | None = None) -> None:
        self._facts = facts
        self._namespaces: dict[str, _Cached] = {}

    def build(self, obj: Manifest, cluster: Sequence[Manifest],
              environment: Mapping[str, Any], previous: Manifest | None = None) -> Review:
        """The review of `obj`; `previous` is the object it replaces (an UPDATE's oldObject),
        which the input carries as `previous` (modelops.policy.inputs)."""
        replaced = identity(obj)
        namespace = replaced[1]
        cached = self._context(namespace, cluster, environment)
        skip = cached.positions.get(replaced, -1)
        earlier = ("" if previous is None
                   else f',"previous":{_dumps({previous_key(obj): previous})}')
        return Review(cached.context,
                      f'{{"objects":[{_dumps(obj)}],'
                      f'"context":{{"id":"{cached.context.id}","skip":{skip}}}{earlier}}}',
                      replaced[0])

    def _context(self, namespace: str, cluster: Sequence[Manifest],
                 environment: Mapping[str, Any]) -> _Cached:
        cached = self._namespaces.get(namespace)
        environment_text = (cached.environment_text
                            if cached is not None and cached.environment is environment
                            else _dumps(environment))
        if cached is not None and cached.environment_text == environment_text and len(
                cached.manifests) == len(cluster) and all(
                a is b for a, b in zip(cached.manifests, cluster, strict=True)):
            if cached.environment is not environment:   # an equal document, newly indexed
                cached = self._namespaces[namespace] = cached._replace(environment=environment)
            return cached
        known = ({id(m): (t, f) for m, t, f in zip(cached.manifests, cached.texts, cached.facts,
                                                    strict=True)}
                 if cached is not None else {})
        manifests = tuple(cluster)
        new = [m for m in manifests if id(m) not in known]
        facts = self._facts(new) if self._facts is not None and new else [None] * len(new)
        known.update((id(m), (_dumps(m), "" if f is None else _dumps(f)))
                     for m, f in zip(new, facts, strict=True))
        texts = tuple(known[id(m)][0] for m in manifests)
        fact_texts = tuple(known[id(m)][1] for m in manifests)
        facts_part = (f',"cluster_facts":[{",".join(fact_texts)}]'
                      if self._facts is not None else "")
        context = (f'{{"environment":{environment_text},"cluster":[{",".join(texts)}]'
                   f'{facts_part}}}')
        # One object per kind and name in a namespace (each indexed kind is one resource), so
        # a review replaces at most one: what build_input drops, `skip` drops.
        positions = {identity(m): index for index, m in enumerate(manifests)}
        fresh = _Cached(manifests, positions, texts, fact_texts, environment, environment_text,
                        Context.of(context))
        if manifests:
            self._namespaces[namespace] = fresh
        else:   # a namespace emptied (or deleted): nothing to keep
            self._namespaces.pop(namespace, None)
        return fresh
