"""Which serving target suits a model, and why: `modelops advise` and the serving-target policy.

The rules live once, in `rules.py`, with their sources; `facts.py` reads what they need off the
specs; `advise.py` applies them; `coldstart.py` holds the cold-start estimate every rule and
policy uses; `annotations.py` writes the facts a policy needs onto rendered objects. Nothing is
imported here, so `derive` can use `annotations` without loading the rest.
"""
