"""Signing in through the organisation's identity provider (OpenID Connect).

`rules.py` is pure: from what the provider's ID token says and what kidrate knows of the person, who
signs in, in which role, with or without kidrate's own second step, or why not. `client.py` speaks to
the provider (Authlib: discovery, authorization code with PKCE, state and nonce, the ID token's
signature and claims). `identities.py` keeps the link between a person at a provider and a kidrate
account. The pages are in `staff/sign_on.py`.

May import: core.
"""
