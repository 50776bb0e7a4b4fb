"""Render the daemons' configuration files from stack/templates into STACK_DIR."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from core.config import uses_ldap

from . import filter as disclaimer_filter
from . import (antivirus, attachments, carddav, directory_groups, dkim, dovecot_settings, ldap_maps, learnd, pgsql,
               postfix_settings, quota_clone, secretfiles, spam, worker)
from .files import TEMPLATES, write_file
from .layout import APP_ADDRESS, APP_NETWORKS, Layout, SystemLayout
from .quoting import render_text

log = logging.getLogger(__name__)
DOVECOT_DH = "/usr/share/dovecot/dh.pem"
# SMTP AUTH commands one client address may send per minute, accepted or not.
AUTH_LIMIT = 10
LOCAL_ONLY_REJECT = "REJECT This address accepts mail from the local network only"
POSTFIX_MAPS = (
    "virtual_mailbox_domains", "virtual_mailbox_maps", "identity", "aliases", "catchall",
    "relay_domains", "transport", "recipient_bcc", "local_only", "sender_login",
)


@dataclass(frozen=True)
class Output:
    """One rendered file: template, target, quoting syntax, daemon, owner and mode."""

    template: str
    target: Path
    syntax: str
    daemon: str
    mode: int = 0o644
    group: str | None = None
    # Put before TEMPLATE: a template, or a folder of them, one per database driver
    # (sqlite, pgsql).
    header: str | None = None


# Files that hold a secret: readable by their daemon's group only.
PRIVATE = {"rspamd/override.d/worker-controller.inc": "_rspamd", "rspamd/local.d/redis.conf": "_rspamd",
           "redis/redis.conf": "redis", "dovecot/conf.d/40-auth-policy.conf": "dovecot"}


def outputs(layout: Layout, directory: bool = False) -> list[Output]:
    """Every file the stack renders; with DIRECTORY, those of directory users (LDAP) too.

    Dovecot's conf.d/*.conf and Rspamd's local.d/override.d are rendered whole, so a
    feature adds its settings as a file of its own (dovecot.conf includes conf.d).
    """
    dov, pfx, rsp = layout.dovecot_etc, layout.postfix_etc, layout.rspamd_etc
    files = [
        Output("dovecot/dovecot.conf", dov / "dovecot.conf", "dovecot", "dovecot"),
        # Each SQL file's `connect` holds Dovecot's PostgreSQL password when the database is
        # PostgreSQL: Dovecot's group only (its auth processes read them), on SQLite too.
        Output("dovecot/dovecot-sql.conf.ext", dov / "dovecot-sql.conf.ext", "bare", "dovecot",
               0o640, "dovecot"),
        # It also holds the web app's key (two-factor sign-in).
        Output("dovecot/dovecot-passdb.conf.ext", dov / "dovecot-passdb.conf.ext", "bare", "dovecot",
               0o640, "dovecot"),
        Output("dovecot/dovecot-apppass.conf.ext", dov / "dovecot-apppass.conf.ext", "bare", "dovecot",
               0o640, "dovecot"),
        # The master user's passdb (conf.d/45-master-user.conf).
        Output("dovecot/dovecot-master.conf.ext", dov / "dovecot-master.conf.ext", "bare", "dovecot",
               0o640, "dovecot"),
        # Where quota_clone writes (conf.d/55-quota-clone.conf).
        Output("dovecot/dovecot-dict-quota.conf.ext", dov / "dovecot-dict-quota.conf.ext", "bare", "dovecot"),
        Output("postfix/main.cf", pfx / "main.cf", "postfix", "postfix"),
        Output("postfix/master.cf", pfx / "master.cf", "bare", "postfix"),
        Output("postfix/header_checks", pfx / "header_checks", "bare", "postfix"),
        # The smarthost's sign-in (stack/smarthost.py): root's alone.
        Output("postfix/smarthost_password", pfx / "smarthost_password", "table", "postfix", 0o600),
        Output("redis/redis.conf", layout.redis_etc / "redis.conf", "redis", "redis", 0o640, "redis"),
        # The filter and learnd read their settings as root, then drop it; the database
        # URL in them may hold the app's PostgreSQL password.
        Output("disclaimer/filter.conf", disclaimer_filter.config_file(layout), "bare", "disclaimer", 0o600),
    ]
    files += [_output(t, dov / "conf.d" / t.name, "dovecot", "dovecot")
              for t in sorted((TEMPLATES / "dovecot/conf.d").glob("*.conf"))]
    for sub in ("local.d", "override.d"):
        files += [_output(t, rsp / sub / t.name, "ucl", "rspamd")
                  for t in sorted((TEMPLATES / "rspamd" / sub).glob("*")) if t.is_file()]
    files += [  # the query of each, after its driver's connection settings (a password: 0640)
        Output(f"postfix/maps/{name}.cf", pfx / "maps" / f"{name}.cf", "bare", "postfix", 0o640,
               "postfix", header="postfix/connect")
        for name in POSTFIX_MAPS
    ]
    sieve = spam.imapsieve_dir(layout)
    files += [  # Junk training: IMAPSieve scripts, their pipe program, the queue worker
        Output("dovecot/imapsieve/report-spam.sieve", sieve / "report-spam.sieve", "bare", "dovecot"),
        Output("dovecot/imapsieve/report-ham.sieve", sieve / "report-ham.sieve", "bare", "dovecot"),
        Output("dovecot/imapsieve/mailroom-learn", layout.sieve / "bin" / "mailroom-learn",
               "bare", "dovecot", 0o755),
        Output("learnd/learnd.conf", learnd.config_file(layout), "bare", "learnd", 0o600),
    ]
    if not isinstance(layout, SystemLayout):  # a system install uses Debian's clamd as it is
        files += [  # the stack's own clamd and its one shipped signature (EICAR)
            Output("clamav/clamd.conf", layout.clamav_etc / "clamd.conf", "bare", "clamd"),
            Output("clamav/mailroom-test.ndb", layout.clamav_db / "mailroom-test.ndb", "bare", "clamd"),
        ]
    # The address book server; it holds the web app's key: Radicale's group only.
    files.append(Output("carddav/radicale.conf", carddav.config_file(layout), "bare", "carddav", 0o640,
                        carddav.USER))
    return files + (directory_outputs(layout) if directory else [])


def directory_outputs(layout: Layout) -> list[Output]:
    """Directory users' lookups (stack/ldap_maps.py): Dovecot's LDAP passdb and userdb (after
    the deny passdb of two-factor sign-in), and Postfix's ldap: tables; the settings files
    hold the directory's service password or the web app's key."""
    values = ldap_maps.template_values({}, layout)
    return [
        Output("dovecot/directory/ldap.conf", values["directory_conf"], "dovecot", "dovecot"),
        Output("dovecot/directory/dovecot-ldap.conf.ext", values["ldap_conf"], "line", "dovecot",
               0o640, "dovecot"),
        Output("dovecot/directory/dovecot-directory-sql.conf.ext", values["directory_sql_conf"], "bare",
               "dovecot", 0o640, "dovecot"),
        # It holds the web app's key, as dovecot-passdb.conf.ext does.
        Output("dovecot/directory/dovecot-twofactor.conf.ext", values["ldap_twofactor_conf"], "bare",
               "dovecot", 0o640, "dovecot"),
        *(Output(f"postfix/ldap/{name}.cf", layout.postfix_etc / "maps" / f"ldap_{name}.cf", "line",
                 "postfix", 0o640, "postfix", header="postfix/ldap/connect.cf")
          for name in ldap_maps.POSTFIX_TABLES),
    ]


def _output(template: Path, target: Path, syntax: str, daemon: str) -> Output:
    name = template.relative_to(TEMPLATES).as_posix()
    group = PRIVATE.get(name)
    return Output(name, target, syntax, daemon, 0o640 if group else 0o644, group)


def template_values(cfg: dict, layout: Layout, rspamd_password: str) -> dict:
    """The values the templates refer to; each is quoted by the template's syntax."""
    return {**_paths(layout), **_settings(cfg), **spam.template_values(layout),
            **postfix_settings.template_values(cfg, layout), **dovecot_settings.template_values(cfg, layout),
            **dkim.template_values(cfg, layout), **antivirus.template_values(cfg, layout),
            **ldap_maps.template_values(cfg, layout),
            **attachments.template_values(cfg, layout),
            **pgsql.template_values(cfg, layout, secretfiles.postgres_passwords(cfg, layout)),
            **layout.site_values(cfg), "redis_password": secretfiles.redis_password(cfg, layout),
            "controller_password": secretfiles.rspamd_password_hash(layout, rspamd_password),
            "auth_policy_key": secretfiles.auth_policy_key(cfg, layout), "app_networks": APP_NETWORKS,
            "web_auth_key": secretfiles.web_auth_key(cfg, layout), "app_address": APP_ADDRESS,
            "carddav_key": secretfiles.carddav_key(cfg, layout)}


def _paths(layout: Layout) -> dict:
    """Paths under STACK_DIR (and the database) that the configs name."""
    return {
        "instance_name": layout.instance_name,
        "base_dir": layout.dovecot_run,
        "state_dir": layout.lib / "dovecot",
        "log_dir": layout.log,
        "cert": layout.cert,
        "key": layout.key,
        "dh_file": DOVECOT_DH,
        "sql_conf": layout.dovecot_etc / "dovecot-sql.conf.ext",
        "passdb_conf": layout.dovecot_etc / "dovecot-passdb.conf.ext",
        "apppass_conf": layout.dovecot_etc / "dovecot-apppass.conf.ext",
        "master_passdb_conf": layout.dovecot_etc / "dovecot-master.conf.ext",
        "quota_dict_conf": layout.dovecot_etc / "dovecot-dict-quota.conf.ext",
        "quota_database": quota_clone.database(layout),
        "conf_d": layout.dovecot_etc / "conf.d",
        "shared_dict": layout.lib / "shared" / "shared-mailboxes.db",
        "sieve_before": layout.sieve / "before.d",
        "sieve_bin": layout.sieve / "bin",
        "database": layout.database,
        "database_url": layout.url,
        "mail_root": layout.mail,
        "queue_dir": layout.queue,
        "data_dir": layout.lib / "postfix",
        "maps": layout.postfix_etc / "maps",
        "header_checks": layout.postfix_etc / "header_checks",
        "lmtp_socket": layout.lmtp_socket,
        "auth_socket": layout.auth_socket,
        "redis_pidfile": layout.redis_run / "redis.pid",
        "redis_dir": layout.lib / "redis",
        "filter_pidfile": disclaimer_filter.pidfile(layout),
        "clamd_pidfile": layout.clamd_run / "clamd.pid",
        "clamd_log": layout.log_file("clamd"),
        "clamav_db": layout.clamav_db,
        "carddav_storage": carddav.storage(layout),
    }


def _settings(cfg: dict) -> dict:
    """Host name, addresses, ports and quota from the config (the message size is a
    server setting: postfix_settings)."""
    listen = cfg["LISTEN_ADDRESS"]
    ports = {key: cfg[key.upper()] for key in (
        "imap_port", "imaps_port", "pop3_port", "pop3s_port", "sieve_port", "smtp_port",
        "submission_port", "smtps_port", "redis_port", "filter_port", "reinject_port",
        "auth_policy_port", "clamd_port", "carddav_port",
    )}
    return {
        **ports,
        "listen": listen,
        "hostname": cfg["MAIL_HOSTNAME"],
        "default_quota_mb": cfg["DEFAULT_QUOTA_MB"],
        "milter_port": cfg["RSPAMD_PROXY_PORT"],
        "reject_text": LOCAL_ONLY_REJECT,
        "auth_limit": AUTH_LIMIT,
        "normal_bind": f"{listen}:{cfg['RSPAMD_NORMAL_PORT']}",
        "proxy_bind": f"{listen}:{cfg['RSPAMD_PROXY_PORT']}",
        "controller_bind": f"{listen}:{cfg['RSPAMD_CONTROLLER_PORT']}",
        "redis_server": f"{listen}:{cfg['REDIS_PORT']}",
    }


def rendered(cfg: dict, layout: Layout, rspamd_password: str, daemon: str | None = None,
             overrides: dict | None = None) -> list[tuple[Output, str]]:
    """Every config file (or DAEMON's only) with its text, nothing written; OVERRIDES
    replace template values (a scratch copy's own paths)."""
    values = {**template_values(cfg, layout, rspamd_password), **(overrides or {})}
    return [(out, render_text(template_text(out, values["sql_driver"]), values, out.syntax))
            for out in outputs(layout, uses_ldap(cfg)) if daemon in (None, out.daemon)]


def template_text(out: Output, driver: str) -> str:
    """OUT's template text, after its DRIVER header when it has one."""
    text = (TEMPLATES / out.template).read_text(encoding="utf-8")
    if out.header:
        header = TEMPLATES / out.header
        text = (header if header.is_file() else header / f"{driver}.cf").read_text(encoding="utf-8") + text
    return text


def render_all(cfg: dict, layout: Layout, rspamd_password: str) -> None:
    """Write every config file whose content changed; remove directory users' lookups
    while the account provider is not LDAP (dovecot.conf includes them if present)."""
    for out, text in rendered(cfg, layout, rspamd_password):
        if write_file(out.target, text, out.mode, out.group):
            log.info("rendered %s", out.target)
    if uses_ldap(cfg):
        directory_groups.ensure(cfg, layout)
    else:
        for out in directory_outputs(layout):
            out.target.unlink(missing_ok=True)
        directory_groups.groups_file(layout).unlink(missing_ok=True)
    spam.after_render(layout, rspamd_password)  # rule maps, training queue, Sieve binaries
    dkim.after_render(layout)  # the domains Rspamd signs for


def digest(layout: Layout, daemon: str) -> str:
    """A hash of the files DAEMON reads at start, to tell whether a running one is stale."""
    files = [out.target for out in outputs(layout, directory=True) if out.daemon == daemon]
    if daemon in ("dovecot", "postfix"):
        files += [layout.cert, layout.key]
    if daemon == "worker":  # the privileged helper renders and reloads with these settings
        files.append(worker.settings_file(layout))
    if daemon == "rspamd":  # included by local.d/dkim_signing.conf
        files.append(dkim.domains_file(layout))
    sha = hashlib.sha256()
    for path in files:
        sha.update(str(path).encode() + b"\0")
        sha.update(path.read_bytes() if path.exists() else b"")
    return sha.hexdigest()
