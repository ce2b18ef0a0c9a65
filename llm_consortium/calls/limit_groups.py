"""Which calls count against one provider limit: the *limit group* a model's calls are
counted in, the key its shared window and leases are kept under (`shared_limits`).

A provider limits what it serves, not a model id. A local server (Ollama, vLLM, LM
Studio, llama.cpp's server) or a proxy serves several models from one endpoint
with one concurrency limit: three models learning three windows of two send six
requests to a server that takes two. So:

- an explicit `limit_group` (a member's or the arbiter's, in the consortium file)
  is the group: models given the same name share one window, whatever serves them;
- else a model served from an `api_base` (an OpenAI-compatible server) counts in
  that endpoint's group, written as a URL without credentials, query or trailing
  slash, so that one server spelt two ways is one group;
- else the model is a group of its own (a provider's own API limits each model
  apart), named by its model id.
"""

from __future__ import annotations

import urllib.parse

_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint(api_base: str) -> str:
    """`api_base` as its group's name: scheme and host in lower case, the port when it
    is not the scheme's default, the path without a trailing slash; no user,
    password, query or fragment (a key in a URL must never be shown)."""
    parts = urllib.parse.urlsplit(api_base.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def limit_group(model_id: str, explicit: str | None = None, api_base: str | None = None) -> str:
    """The group the calls of `model_id` are counted in (see the module docstring)."""
    if explicit:
        return explicit
    if api_base:
        return endpoint(api_base)
    return model_id
