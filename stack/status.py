"""What `stack status` reports: each service's address, whether it answers, its daemon's pid."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.config import local_ldap
from core.mail import clamd
from core.mail.errors import ServiceUnavailable

from . import postgres, slapd
from .daemons import answers, running
from .layout import DAEMONS, SERVICES, Layout


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack, e.g. ServiceStatus("imap", "127.0.0.1", 10143, True, 4711).

    A background daemon with no port (learnd, the worker) has host "" and port None;
    it "answers" while its process runs. A service on a Unix socket (a system install's
    clamd) has the socket's path as its host and port None.
    """

    name: str
    host: str
    port: int | None
    answers: bool
    pid: int | None
    detail: str = ""  # what is wrong, when a check says more than "does not answer"


def status(cfg: dict) -> list[ServiceStatus]:
    """Probe every service of the stack described by CFG (nothing is started or changed)."""
    layout = Layout.from_config(cfg)
    host = str(cfg["LISTEN_ADDRESS"])
    result = []
    for name, (key, daemon) in SERVICES.items():
        port = int(cfg[key])
        record = running(layout, daemon)
        pid = record.pid if record else None
        if name == "clamd" and cfg.get("CLAMD_SOCKET"):  # a system install: Debian's socket
            result.append(ServiceStatus(name, str(cfg["CLAMD_SOCKET"]), None, _clamd_answers(cfg), pid))
        else:
            result.append(ServiceStatus(name, host, port, answers(host, port), pid))
    with_ports = {daemon for _, daemon in SERVICES.values()}
    for name in DAEMONS:
        if name not in with_ports:
            record = running(layout, name)
            result.append(ServiceStatus(name, "", None, record is not None, record.pid if record else None))
    if cfg.get("ACCOUNT_PROVIDER") == "ldap":
        result.append(_directory(cfg, layout))
    if postgres.is_local(cfg):
        cluster = postgres.local_cluster(cfg, layout)
        result.append(ServiceStatus("postgresql", cluster.host, cluster.port,
                                    answers(cluster.host, cluster.port), postgres.pid(cluster)))
    return result


def _directory(cfg: dict, layout: Layout) -> ServiceStatus:
    """The LDAP directory: it "answers" when the service account binds and the user filter
    finds someone; DETAIL says which of those failed."""
    from urllib.parse import urlsplit

    from core.config import ldap_url
    from core.ldapdir.client import check

    url = urlsplit(ldap_url(cfg))
    record = running(layout, slapd.NAME) if local_ldap(cfg) else None
    problem = check(cfg, samples=0).problem
    return ServiceStatus("directory", url.hostname or "", url.port or (636 if url.scheme == "ldaps" else 389),
                         not problem, record.pid if record else None, problem)


def _clamd_answers(cfg: dict) -> bool:
    """Whether clamd answers PING on its Unix socket."""
    try:
        clamd.ping(clamd.ClamdSettings.from_config(cfg))
    except ServiceUnavailable:
        return False
    return True


def status_json(cfg: dict) -> dict:
    """The status as the JSON document `stack status --json` prints."""
    return {
        "run_dir": str(cfg["STACK_DIR"]),
        "services": {
            s.name: {key: value for key, value in asdict(s).items() if key != "name"}
            for s in status(cfg)
        },
    }
