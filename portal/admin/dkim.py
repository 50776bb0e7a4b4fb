"""Admin: DKIM signing of one domain (its section of the domain page, and removing its key).

Domain admins of the domain see whether its mail is signed and the DNS record to
publish; only server admins turn signing on or off or remove a key: each change reloads
Rspamd, which every domain's mail goes through, and a removed key cannot come back.
"""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from core.extensions import db
from core.models import Domain
from core.services.directory import dkim

from .access import owns, server_admin_required
from .blueprint import bp
from .common import actor, checked, config, save
from .domains import edit_page


@bp.route("/domains/<name>/dkim", methods=["POST"])
@server_admin_required
@owns("domain")
def domain_dkim(domain: Domain):
    """Turn DKIM signing of the domain's submitted mail on or off."""
    enabled = checked("sign")
    done = (_('Mail sent from %(unicode_name)s is signed with DKIM from the next message on. '
              'Publish the DNS record below, if you have not yet.', unicode_name=domain.unicode_name)
            if enabled else
            _('Mail from %(unicode_name)s is no longer signed. The key is kept, so the published '
              'record stays valid if you turn signing on again.', unicode_name=domain.unicode_name))
    return save(lambda: dkim.set_signing(db.session, config(), actor(), domain, enabled),
                lambda error: edit_page(domain, error, status=400), done,
                "admin.domain_edit", name=domain.name)


@bp.route("/domains/<name>/dkim/remove", methods=["GET", "POST"])
@server_admin_required
@owns("domain")
def domain_dkim_remove(domain: Domain):
    """Confirm, then delete the domain's DKIM key."""
    if request.method == "GET":
        return render_template("admin/dkim_remove.html", domain=domain)
    return save(lambda: dkim.remove_key(db.session, config(), actor(), domain),
                lambda error: (render_template("admin/dkim_remove.html", domain=domain,
                                               error=error), 400),
                _('Removed the DKIM key of %(unicode_name)s. Its DNS record can be deleted; '
                  'signing again creates a new key with a new record.', unicode_name=domain.unicode_name),
                "admin.domain_edit", name=domain.name)
