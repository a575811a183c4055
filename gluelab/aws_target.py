"""The `aws` target never talks to this machine.

A shell that once ran `eval "$(gluelab env)"` keeps AWS_ENDPOINT_URL=http://127.0.0.1:4747, and
boto3 and the AWS CLI honour it (and AWS_ENDPOINT_URL_<SERVICE>) before any profile: with
GLUELAB_TARGET=aws every call would still reach the local cloud while the user believes they are
on AWS. So the aws target refuses to start while such a variable points here, and says which
variables to unset (`gluelab env --unset` prints the commands).
"""
from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


class LocalEndpointError(RuntimeError):
    """GLUELAB_TARGET=aws while an endpoint variable points to this machine."""


def _own_names() -> set[str]:
    names = {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
    try:
        names.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:  # a host name that does not resolve has no addresses to add
        pass
    return names


def points_here(url: str) -> bool:
    """True when `url`'s host is this machine: loopback, unspecified, or its own name/addresses."""
    host = (urlsplit(url if "://" in url else f"http://{url}").hostname or "").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
        if address.is_loopback or address.is_unspecified:
            return True
    except ValueError:
        if host.endswith(".localhost"):
            return True
    return host in _own_names()


def local_endpoint_variables(environ=None) -> list[str]:
    """The endpoint variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) pointing here."""
    environ = os.environ if environ is None else environ
    return sorted(name for name, value in environ.items()
                  if (name == ENDPOINT_VARIABLE or name.startswith(ENDPOINT_VARIABLE + "_"))
                  and value and points_here(value))


def refuse_local_endpoints(environ=None) -> None:
    """Raise LocalEndpointError, naming the variables to unset, when the aws target would go local."""
    names = local_endpoint_variables(environ)
    if names:
        environ = os.environ if environ is None else environ
        shown = ", ".join(f"{name}={environ[name]}" for name in names)
        verb, pronoun = ("points", "it") if len(names) == 1 else ("point", "them")
        raise LocalEndpointError(
            f"GLUELAB_TARGET is aws, but {shown} {verb} to this machine, so AWS calls would "
            f"go to the local cloud instead of AWS. Unset {pronoun}: `unset {' '.join(names)}` (or run "
            f"`eval \"$(gluelab env --unset)\"` to clear every local setting), then try again. "
            f"To stay on the local cloud, unset GLUELAB_TARGET instead.")


def unset_commands(local_names, environ=None) -> list[str]:
    """Shell lines that clear what `gluelab env` exported, plus any per-service endpoint here."""
    names = list(local_names) + [name for name in local_endpoint_variables(environ)
                                 if name not in local_names]
    return [f"unset {name}" for name in names]
